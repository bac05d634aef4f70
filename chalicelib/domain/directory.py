"""People and groups from the directory (the catalog's `directory` and its group kinds), joined. Pure: reading IAM
groups and Slack user groups is the refresh's (service/directory.py through the ports), keeping the outcome the
table's; here is what they mean.

- Every IAM user in a `directory.iam_groups` group is a person whose id is the IAM user name, with an email from the
  `email_tag` tag and a Slack id from the `slack_id_tag` tag, or else found by email (users.lookupByEmail).
- A `people` entry wins over the directory for its IAM user (names compared without case, as IAM compares them).
- One human, one person: a Slack id or an email that would join two IAM users joins neither (a notice says which).
- `{iam_group: NAME}` groups hold the people whose IAM user is in that group; `{slack_usergroup: ID}` groups the
  people whose Slack id is in that user group. Unknown groups are empty (a notice says so), never an error.
- The last good membership holds for at most MAX_STALE; after that directory people are refused, saying why. An
  error never widens who may do what: a failed read changes nothing, an empty or unknown group gives nobody."""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping

from chalicelib.domain.catalog import Catalog, GroupSource, Person

MAX_STALE = timedelta(hours=24)
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class DirectoryUser:
    """An IAM user as a directory group lists it: its name and its tags."""
    name: str
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Membership:
    """What a refresh found, as the table keeps it: the directory's people, each directory group's members (person
    ids), the emails already looked up in Slack (so a refresh asks only for people new or changed), and notices."""
    people: dict[str, Person]
    groups: dict[str, frozenset[str]]
    refreshed_at: datetime  # the last good refresh
    slack_ids: dict[str, str | None] = field(default_factory=dict)  # email (casefolded) -> Slack id, None: not found
    notices: tuple[str, ...] = ()
    failing: str = ""  # why the refreshes since refreshed_at failed, if they did
    checked_at: datetime | None = None  # the last refresh tried, good or not (refreshed_at when None)

    @property
    def checked(self) -> datetime:
        return self.checked_at or self.refreshed_at

    def failed(self, why: str, now: datetime) -> Membership:
        """The last good membership kept, saying why the refresh at `now` failed (it holds for MAX_STALE)."""
        return dataclasses.replace(self, failing=why[:300], checked_at=now)

    def to_json(self) -> dict[str, Any]:
        return {"people": {pid: [p.iam_user, p.slack_user_id, p.email] for pid, p in self.people.items()},
                "groups": {name: sorted(ids) for name, ids in self.groups.items()},
                "refreshed_at": self.refreshed_at.isoformat(), "slack_ids": self.slack_ids,
                "notices": list(self.notices), "failing": self.failing, "checked_at": self.checked.isoformat()}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Membership:
        return cls(people={pid: Person(pid, *spec) for pid, spec in raw["people"].items()},
                   groups={name: frozenset(ids) for name, ids in raw["groups"].items()},
                   refreshed_at=datetime.fromisoformat(raw["refreshed_at"]), slack_ids=dict(raw["slack_ids"]),
                   notices=tuple(raw["notices"]), failing=raw["failing"],
                   checked_at=datetime.fromisoformat(raw["checked_at"]))


def join(catalog: Catalog, users: Mapping[str, list[DirectoryUser] | None],
         user_groups: Mapping[str, list[str] | None], slack_ids: Mapping[str, str | None],
         now: datetime) -> Membership:
    """The membership `catalog.directory` describes, from each IAM group's users (None: no such group), each Slack
    user group's members (None: no such user group) and the Slack ids found by email."""
    settings = catalog.directory
    assert settings is not None, "only a catalog with a directory has a membership"
    notices: list[str] = []
    listed: dict[str, DirectoryUser] = {}
    for group in settings.iam_groups:
        for user in _members(users, group, notices):
            listed.setdefault(user.name.casefold(), user)
    taken = {p.iam_user.casefold() for p in catalog.people.values() if p.iam_user}
    people = [_person(user, settings.email_tag, settings.slack_id_tag, slack_ids, notices)
              for key, user in sorted(listed.items()) if key not in taken]
    people = _one_human_one_person(people, list(catalog.people.values()), notices)
    everyone = {**{p.id: p for p in people}, **catalog.people}
    groups = {name: _group(source, everyone, users, user_groups, notices)
              for name, source in catalog.directory_groups.items()}
    return Membership({p.id: p for p in people}, groups, now, dict(slack_ids), tuple(dict.fromkeys(notices)))


def emails_to_look_up(users: Mapping[str, list[DirectoryUser] | None], catalog: Catalog,
                      known: Mapping[str, str | None]) -> list[str]:
    """The emails of directory users with no Slack id tag that no earlier refresh looked up."""
    settings = catalog.directory
    assert settings is not None
    wanted = []
    for members in users.values():
        for user in members or []:
            email = user.tags.get(settings.email_tag, "")
            if not user.tags.get(settings.slack_id_tag) and EMAIL.match(email) and email.casefold() not in known:
                wanted.append(email.casefold())
    return sorted(set(wanted))


def effective(catalog: Catalog, membership: Membership | None, now: datetime) -> Catalog:
    """The catalog with the directory's people and groups in it, every profile's approvers and requesters resolved
    again; past MAX_STALE (or before any refresh) without them, `directory_unavailable` saying why."""
    if catalog.directory is None:
        return catalog
    if membership is None:
        return _without_directory(catalog, "the directory has not been read yet (the sweeper reads it within a "
                                           "minute of starting); try again shortly")
    if now - membership.refreshed_at > MAX_STALE:
        why = f": {membership.failing}" if membership.failing else ""
        return _without_directory(catalog, f"the directory could not be read since "
                                           f"{membership.refreshed_at:%Y-%m-%d %H:%M} UTC{why}; directory people are "
                                           f"refused until it can be")
    people = {**membership.people, **catalog.people}
    groups = {**catalog.groups, **membership.groups}
    return _resolved(catalog, people, groups, None)


def _without_directory(catalog: Catalog, why: str) -> Catalog:
    groups = {**catalog.groups, **{name: frozenset[str]() for name in catalog.directory_groups}}
    return _resolved(catalog, dict(catalog.people), groups, why)


def _resolved(catalog: Catalog, people: dict[str, Person], groups: dict[str, frozenset[str]],
              unavailable: str | None) -> Catalog:
    def members(refs: tuple[str, ...]) -> frozenset[str]:
        found: set[str] = set()
        for ref in refs:
            found |= groups[ref] if ref in groups else ({ref} if ref in people else set())
        return frozenset(found)

    profiles = {name: dataclasses.replace(
        p, approvers=members(p.approver_refs) if p.approver_refs else p.approvers,
        requesters=members(p.requester_refs) if p.requester_refs is not None else frozenset(people))
        for name, p in catalog.profiles.items()}
    return dataclasses.replace(catalog, people=people, groups=groups, profiles=profiles,
                               directory_unavailable=unavailable)


def _members(users: Mapping[str, list[DirectoryUser] | None], group: str, notices: list[str]) -> list[DirectoryUser]:
    members = users.get(group)
    if members is None:
        notices.append(f"IAM group {group!r} does not exist: it gives nobody")
    return members or []


def _person(user: DirectoryUser, email_tag: str, slack_tag: str, slack_ids: Mapping[str, str | None],
            notices: list[str]) -> Person:
    email = user.tags.get(email_tag)
    if email is not None and not EMAIL.match(email):
        notices.append(f"IAM user {user.name!r}: tag {email_tag} {email[:80]!r} is not an email; ignored")
        email = None
    slack = user.tags.get(slack_tag)
    if slack is not None and not SLACK_USER.match(slack):
        notices.append(f"IAM user {user.name!r}: tag {slack_tag} {slack[:80]!r} is not a Slack user id; ignored")
        slack = None
    if slack is None and email:
        slack = slack_ids.get(email.casefold())
    return Person(id=user.name, iam_user=user.name, slack_user_id=slack, email=email)


def _one_human_one_person(people: list[Person], catalog_people: list[Person], notices: list[str]) -> list[Person]:
    """A Slack id or email held by two IAM users (the directory's, or one of them the catalog's) joins neither of the
    directory's: they keep their IAM identity, and the notice says which."""
    for label in ("slack_user_id", "email"):
        holders: dict[str, list[str]] = {}
        for person in [*catalog_people, *people]:
            value = getattr(person, label)
            if value:
                holders.setdefault(value.casefold(), []).append(person.id)
        shared = {value: ids for value, ids in holders.items() if len(ids) > 1}
        for value, ids in sorted(shared.items()):
            notices.append(f"{label} {value!r} would join {', '.join(ids)}: it joins none of the directory's")
        people = [_without(p, label) if (getattr(p, label) or "").casefold() in shared else p for p in people]
    return people


def _without(person: Person, label: str) -> Person:
    if label == "email":
        return dataclasses.replace(person, email=None)
    return dataclasses.replace(person, slack_user_id=None)


def _group(source: GroupSource, everyone: dict[str, Person], users: Mapping[str, list[DirectoryUser] | None],
           user_groups: Mapping[str, list[str] | None], notices: list[str]) -> frozenset[str]:
    if source.kind == "iam_group":
        names = {u.name.casefold() for u in _members(users, source.name, notices)}
        return frozenset(p.id for p in everyone.values() if p.iam_user and p.iam_user.casefold() in names)
    members = user_groups.get(source.name)
    if members is None:
        notices.append(f"Slack user group {source.name!r} does not exist: it gives nobody")
        return frozenset()
    slack = set(members)
    return frozenset(p.id for p in everyone.values() if p.slack_user_id and p.slack_user_id in slack)
