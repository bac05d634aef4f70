"""The directory: people and groups read from the source account's IAM groups and Slack's user groups, out of the
request path. The sweeper refreshes the membership (`refresh`) and keeps it in the table; every process reads it
from there at most once per half `refresh` (`Joined`: one table read at a cold start, no IAM or Slack call) and joins
it into the catalog (domain/directory.py).

A refresh that fails changes nothing: the last good membership holds (for at most 24 h, then directory people are
refused, saying why). New notices (an unknown group, a Slack id or email two IAM users share, a malformed tag) are
told to the security channel once."""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib.domain.directory import (
    MAX_STALE,
    DirectoryUser,
    Membership,
    effective,
    emails_to_look_up,
    join,
)
from chalicelib.domain.directory_reads import DirectoryUnavailable
from chalicelib.service import funnel
from chalicelib.service.deps import Deps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refreshed:
    """What one refresh did, for the sweep's summary."""
    notices: int = 0  # notices the membership carries (unknown groups, shared identities, malformed tags)
    failed: str = ""  # why it failed ("" when it did not)
    people: int = 0


def due(deps: Deps, now: datetime) -> bool:
    """Whether the membership is older than half the catalog's `refresh`: the sweeper refreshes it then."""
    settings = deps.catalog.directory
    if settings is None or deps.memberships is None or deps.iam_directory is None:
        return False
    last = deps.memberships.read()
    return last is None or now - last.checked >= timedelta(seconds=settings.refresh / 2)


def refresh(deps: Deps) -> Refreshed:
    """Reads the directory's IAM groups, the Slack ids of people new since the last refresh and the Slack user groups,
    joins them, and stores the membership. `deps` must carry the catalog as written (not joined)."""
    catalog, now = deps.catalog, deps.clock()
    assert catalog.directory is not None and deps.memberships is not None and deps.iam_directory is not None
    last = deps.memberships.read()
    try:
        users = _iam_groups(deps)
        slack_ids = dict(last.slack_ids) if last else {}
        user_groups: dict[str, list[str] | None] = {}
        if deps.slack_directory is not None:
            for email in emails_to_look_up(users, catalog, slack_ids):
                slack_ids[email] = deps.slack_directory.lookup_by_email(email)
            user_groups = {s.name: deps.slack_directory.user_group_members(s.name)
                           for s in catalog.directory_groups.values() if s.kind == "slack_usergroup"}
    except DirectoryUnavailable as exc:
        why = str(exc)[:300]
        log.error("directory refresh failed; the last good membership holds: %s", why)
        if last is not None:
            deps.memberships.save(last.failed(why, now))
        return Refreshed(len(last.notices) if last else 0, why)
    membership = join(catalog, users, user_groups, slack_ids, now)
    for notice in sorted(set(membership.notices) - set(last.notices if last else ())):
        funnel.alert(deps, f"access-broker directory: {notice}")
    deps.memberships.save(membership)
    return Refreshed(len(membership.notices), "", len(membership.people))


def _iam_groups(deps: Deps) -> dict[str, list[DirectoryUser] | None]:
    """Each IAM group the catalog names (as people, or as a group), read once."""
    assert deps.catalog.directory is not None and deps.iam_directory is not None
    names = list(dict.fromkeys([*deps.catalog.directory.iam_groups,
                                *(s.name for s in deps.catalog.directory_groups.values() if s.kind == "iam_group")]))
    read = deps.iam_directory.read(names)
    return {name: None if name in read.unknown else
            [DirectoryUser(user, read.tags.get(user, {})) for user in read.members.get(name, ())] for name in names}


@dataclass
class Joined:
    """The catalog joined with the newest membership this process has read: the table is read again once half the
    catalog's `refresh` has passed, and the join made again only when the membership changed. A cache of what any
    process can read, so nothing needs sharing between processes."""
    read_at: datetime | None = None
    membership: Membership | None = None
    _joined: tuple[tuple[int, int, bool], Deps] | None = field(default=None, repr=False)

    def deps(self, deps: Deps) -> Deps:
        settings = deps.catalog.directory
        if settings is None or deps.memberships is None:
            return deps
        now = deps.clock()
        if self.read_at is None or now - self.read_at >= timedelta(seconds=settings.refresh / 2) or now < self.read_at:
            self.membership, self.read_at = deps.memberships.read(), now
        stale = self.membership is None or now - self.membership.refreshed_at > MAX_STALE
        key = (id(deps), id(self.membership), stale)
        if self._joined is None or self._joined[0] != key:
            self._joined = (key, dataclasses.replace(deps, catalog=effective(deps.catalog, self.membership, now)))
        return self._joined[1]
