"""Loading the catalog's people: `people`, `groups` (lists of people, or `{iam_group: NAME}` and
`{slack_usergroup: ID}` from the directory) and `directory`, into domain/catalog.py's model; and the small checks
every part of the catalog shares (a mapping, its known keys, a duration, a flag). Each error names its key."""
from __future__ import annotations

import re
from typing import Any, Callable

from chalicelib.domain.catalog import DirectorySettings, GroupSource, Person
from chalicelib.domain.durations import parse_duration
from chalicelib.domain.errors import CatalogError, DomainError, quote

ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_IAM_USER = re.compile(r"^[\w+=,.@-]{1,64}$")
_IAM_GROUP = re.compile(r"^[\w+=,.@-]{1,128}$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_USERGROUP = re.compile(r"^S[A-Z0-9]{2,}$")
_TAG_KEY = re.compile(r"^[\w.:/=+@ -]{1,128}$")
MIN_REFRESH = 60


def one_entry_per_person(people: dict[str, Person]) -> None:
    """One Slack user or IAM user on two entries would be one person counted twice: approving their own request,
    or giving two of the approvals a profile needs. IAM user names compare without case, as IAM compares them."""
    readers: tuple[tuple[str, Callable[[Person], str | None]], ...] = (
        ("slack_user_id", lambda p: p.slack_user_id), ("iam_user", lambda p: p.iam_user and p.iam_user.casefold()))
    for label, value_of in readers:
        seen: dict[str, Person] = {}
        for person in people.values():
            value = value_of(person)
            if not value:
                continue
            first = seen.setdefault(value, person)
            if first is not person:
                raise CatalogError(
                    f"people.{first.id} and people.{person.id} have the same {label} "
                    f"({quote(getattr(first, label))} and {quote(getattr(person, label))}): each person needs their "
                    f"own; merge the two entries or correct one of them")


def person(pid: Any, spec: Any) -> Person:
    key = f"people.{pid}"
    if not isinstance(pid, str) or not ID.match(pid):
        raise CatalogError(f"{key}: person ids are lowercase letters, digits, '.', '_' or '-'")
    spec = mapping(spec or {}, key)
    known(spec, key, {"iam_user", "slack_user_id", "email"})
    iam_user = spec.get("iam_user")
    if iam_user is not None and (not isinstance(iam_user, str) or not _IAM_USER.match(iam_user)):
        raise CatalogError(f"{key}.iam_user: {quote(iam_user)} is not a valid IAM user name")
    slack = spec.get("slack_user_id")
    if slack is not None and (not isinstance(slack, str) or not _SLACK_USER.match(slack)):
        raise CatalogError(f"{key}.slack_user_id: {quote(slack)} is not a Slack user id like U01ABCDEF")
    return Person(id=pid, iam_user=iam_user, slack_user_id=slack, email=spec.get("email"))


def groups(raw: Any, people: dict[str, Person], directory: DirectorySettings | None,
           ) -> tuple[dict[str, frozenset[str]], dict[str, GroupSource]]:
    """`groups`: a list of person ids, or `{iam_group: NAME}` / `{slack_usergroup: ID}` (their members come from the
    directory's refresh, so a catalog with either needs `directory`)."""
    listed, sourced = {}, {}
    for name, spec in mapping(raw, "groups").items():
        key = f"groups.{name}"
        if name in people:
            raise CatalogError(f"{key}: a group cannot share its name with a person")
        if isinstance(spec, dict):
            sourced[name] = _group_source(spec, key, directory)
            continue
        if not isinstance(spec, list):
            raise CatalogError(f"{key}: must be a list of person ids, {{iam_group: NAME}} or {{slack_usergroup: ID}}")
        for member in spec:
            if not isinstance(member, str) or member not in people:  # a mapping or a list in it: a typo, not a crash
                raise CatalogError(f"{key}: unknown person {quote(member)}; add them under people first")
        listed[name] = frozenset(spec)
    return listed, sourced


def _group_source(spec: dict[str, Any], key: str, directory: DirectorySettings | None) -> GroupSource:
    if len(spec) != 1 or next(iter(spec)) not in ("iam_group", "slack_usergroup"):
        raise CatalogError(f"{key}: a group from the directory is {{iam_group: NAME}} or {{slack_usergroup: ID}}")
    (kind, name), = spec.items()
    pattern = _IAM_GROUP if kind == "iam_group" else _SLACK_USERGROUP
    if not isinstance(name, str) or not pattern.match(name):
        example = "an IAM group name" if kind == "iam_group" else "a Slack user group id like S0DBAPPROVE"
        raise CatalogError(f"{key}.{kind}: {quote(name)} is not {example}")
    if directory is None:
        raise CatalogError(f"{key}.{kind}: a group from the directory needs the top-level `directory` settings")
    return GroupSource(kind, name)


def directory_settings(raw: Any) -> DirectorySettings | None:
    """`directory`: iam_groups (the people), email_tag, slack_id_tag, refresh (at least 1m), and
    slack_groups_may_approve (false: approvers come from IAM groups and `people` only)."""
    if raw is None:
        return None
    spec = mapping(raw, "directory")
    known(spec, "directory", {"iam_groups", "email_tag", "slack_id_tag", "refresh", "slack_groups_may_approve"})
    groups = spec.get("iam_groups")
    if not isinstance(groups, list) or not groups or not all(isinstance(g, str) and _IAM_GROUP.match(g)
                                                             for g in groups):
        raise CatalogError("directory.iam_groups: must be a non-empty list of IAM group names")
    tags = {}
    for name, default in (("email_tag", "email"), ("slack_id_tag", "slack-user-id")):
        tag = spec.get(name, default)
        if not isinstance(tag, str) or not _TAG_KEY.match(tag):
            raise CatalogError(f"directory.{name}: {quote(tag)} is not an IAM tag key")
        tags[name] = tag
    refresh = duration(spec.get("refresh", "5m"), "directory.refresh")
    if refresh < MIN_REFRESH:
        raise CatalogError("directory.refresh: at least 1m (the sweeper reads the directory at most once a minute)")
    return DirectorySettings(tuple(dict.fromkeys(groups)), tags["email_tag"], tags["slack_id_tag"], refresh,
                             flag(spec, "slack_groups_may_approve", True, "directory"))


def members(value: Any, key: str, people: dict[str, Person], groups: dict[str, frozenset[str]]) -> frozenset[str]:
    if not isinstance(value, list) or not value:
        raise CatalogError(f"{key}: must be a non-empty list of person ids or group names")
    found: set[str] = set()
    for name in value:
        if not isinstance(name, str):  # a mapping or a list in the list: a typo, not a crash
            raise CatalogError(f"{key}: unknown person or group {quote(name)}")
        if name in groups:
            found |= groups[name]
        elif name in people:
            found.add(name)
        else:
            raise CatalogError(f"{key}: unknown person or group {quote(name)}")
    return frozenset(found)


def mapping(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise CatalogError(f"{key}: must be a mapping, got {type(value).__name__}")
    return value


def known(spec: dict[str, Any], key: str, allowed: set[str]) -> None:
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise CatalogError(f"{key}: unknown key {quote(unknown[0])}; known keys are {', '.join(sorted(allowed))}")
def duration(value: Any, key: str) -> int:
    try:
        return parse_duration(str(value))
    except DomainError as exc:
        raise CatalogError(f"{key}: {exc.detail}") from None


def flag(spec: dict[str, Any], name: str, default: bool, key: str) -> bool:
    value = spec.get(name, default)
    if not isinstance(value, bool):
        raise CatalogError(f"{key}.{name}: must be true or false")
    return value
