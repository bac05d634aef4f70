"""The session guard: the inline deny policy the broker keeps on each switch role, as cuts. Pure, no I/O.

Detaching a grant stops new `sts:AssumeRole` calls but not the sessions already issued. Every session of a
switch role is named after its person (the grant and the trust policy require `sts:RoleSessionName` to equal
the IAM user name), so its `aws:userid` is `<role id>:<iam user>`, and a statement keyed on
`StringLike aws:userid "*:<iam user>"` with `DateLessThan aws:TokenIssueTime <cut>` denies exactly that
person's sessions issued before the cut (AWS's own "Revoke active sessions", narrowed to one person).

A `Cut` is one person's (or, as a last resort, everyone's) end:
- `expiry`: written when the grant is made, so expiry cuts sessions even while the broker is down: denied once
  `aws:CurrentTime` reaches the end, for sessions issued before it. A person has at most one future expiry cut
  per role, at the latest end of their overlapping grants (extensions move it).
- `revoke`: in force at once, for sessions issued before the revoke plus MARGIN (the detach in the source
  account and this deny become visible at different moments; the margin closes that gap). A new grant for the
  same person inside the margin lowers it to the grant's start first.
- `role` / `role_expiry`: the whole-role fallback (everyone's sessions) when per-person statements would not fit
  IAM's inline policy budget (`folds`): cuts in force fold first, then expiries share slots, and only last lose
  their names; every live grant keeps a cut at or after its end.

A cut can no longer match a live session once cut + the role's MaxSessionDuration is past (MAX_SESSION, 3600 s on
the switch roles, unless the role says more: the adapter reads it on every write), and is then pruned. With no cut
left, the policy holds one statement that never matches (NO_CUT): it stays in place, so the guard role needs no
iam:DeleteRolePolicy. Every operation is idempotent."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from chalicelib.domain.times import rfc3339

POLICY_NAME = "access-broker-session-guard"
MARGIN = timedelta(minutes=5)
MAX_SESSION = timedelta(seconds=3600)
# A role's inline policies share 10,240 characters (whitespace not counted). The guard keeps 2,048 free for the
# role's other inline policies; an IAM LimitExceeded answer folds the document anyway (aws/session_guard.py).
BUDGET = 10_240 - 2_048

EXPIRY, REVOKE, ROLE, ROLE_EXPIRY = "expiry", "revoke", "role", "role_expiry"
_FOLD_STEPS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
EVERYONE = "*"
_SID = re.compile(r"^AccessBroker(Expiry|Revoke|RoleCut|RoleExpiry)(\d{8}T\d{6}Z)$")
_SID_KINDS = {"Expiry": EXPIRY, "Revoke": REVOKE, "RoleCut": ROLE, "RoleExpiry": ROLE_EXPIRY}
_KIND_SIDS = {kind: sid for sid, kind in _SID_KINDS.items()}
# The guard with no cut: a Deny no request can meet (no session was issued before 1970, and a request that is not a
# session has no aws:TokenIssueTime, so the condition fails), in the shape of every other statement of the guard.
NO_CUT: dict[str, Any] = {"Sid": "AccessBrokerNoCut", "Effect": "Deny", "Action": "*", "Resource": "*",
                          "Condition": {"DateLessThan": {"aws:TokenIssueTime": "1970-01-01T00:00:00Z"}}}


@dataclass(frozen=True, order=True)
class Cut:
    at: datetime  # to the second, UTC
    kind: str
    user: str = EVERYONE  # the IAM user whose sessions are cut; EVERYONE for the whole-role kinds

    def prunable_after(self, max_session: timedelta = MAX_SESSION) -> datetime:
        """When no session the cut could match is left: `max_session` is the role's MaxSessionDuration."""
        return self.at + max_session


@dataclass(frozen=True)
class Guard:
    """The cuts on one switch role. Operations return a new Guard; `policy()` renders it for IAM."""
    cuts: frozenset[Cut] = frozenset()
    folded: bool = False  # the last change had to fall back to the whole-role cut

    # -- what the broker does

    def granted(self, user: str, end: datetime, now: datetime) -> Guard:
        """A grant for `user` ending at `end` starts at `now`: revoke cuts still ahead that cover them (their own,
        or a whole-role one) are lowered to now, so that the new grant's sessions live; their future expiry cut
        moves to the latest end."""
        start = _second(now)
        lowered = frozenset(Cut(start, c.kind, c.user) if c.kind in (REVOKE, ROLE) and c.user in (user, EVERYONE)
                            and c.at > start else c for c in self.cuts)
        return Guard(lowered, self.folded).ending(user, end, now)

    def ending(self, user: str, end: datetime, now: datetime) -> Guard:
        """`user`'s sessions are cut at `end` (an extension, or an expiry recorded late): one future expiry cut per
        person, at the latest end; an end already past stays as its own cut until pruned."""
        end = _second(end)
        future = [c for c in self.cuts if c.kind == EXPIRY and c.user == user and c.at > now]
        latest = max([end, *(c.at for c in future)]) if end > now else end
        kept = self.cuts - set(future) if end > now else self.cuts
        return Guard(frozenset(kept | {Cut(latest, EXPIRY, user)}), self.folded)

    def revoked(self, user: str, at: datetime, still_until: datetime | None) -> Guard:
        """`user`'s grant was revoked (or failed) at `at`: their sessions issued before `at` + MARGIN are denied
        from now on. `still_until` is the latest end of their other live grants on this role, if any: the future
        expiry cut moves there, or goes (the revoke cut covers every session issued until it)."""
        cut = Cut(_ceil_minute(at + MARGIN), REVOKE, user)
        cuts = {c for c in self.cuts if not (c.kind == EXPIRY and c.user == user and c.at > at)}
        if still_until is not None and still_until > at:
            cuts.add(Cut(_second(still_until), EXPIRY, user))
        return Guard(frozenset(cuts | {cut}), self.folded)

    def pruned(self, now: datetime, max_session: timedelta = MAX_SESSION) -> Guard:
        """Drops cuts no live session can match any more (sessions last `max_session` at most: the role's
        MaxSessionDuration); a whole-role expiry already past becomes a role cut."""
        cuts = set()
        for cut in self.cuts:
            if cut.kind == ROLE_EXPIRY and cut.at <= now:
                cut = Cut(cut.at, ROLE)
            if cut.prunable_after(max_session) > now:
                cuts.add(cut)
        role = [c for c in cuts if c.kind == ROLE]
        if len(role) > 1:  # the latest whole-role cut covers the earlier ones
            cuts -= set(role) - {max(role)}
        return Guard(frozenset(cuts), self.folded)

    def fitted(self, now: datetime, budget: int = BUDGET) -> Guard:
        """Itself when its policy fits `budget`; otherwise the finest fold that fits (`folds`), or the coarsest."""
        if size(self.policy()) <= budget:
            return self
        folds = self.folds(now)
        return next((fold for fold in folds if size(fold.policy()) <= budget), folds[-1])

    def folded_now(self, now: datetime) -> Guard:
        """The coarsest fold: what IAM takes when the role's other inline policies leave less room than BUDGET."""
        return self.folds(now)[-1]

    def folds(self, now: datetime) -> list[Guard]:
        """Ever smaller documents, finest first, each over-cutting more (people with a live grant assume the role
        again) and none under-cutting: every live grant keeps a cut at or after its end, and no cut still ahead
        becomes everyone's.
        1. What is in force (revokes and whole-role cuts at or before now, expiries already reached) becomes one
           whole-role cut at the latest of them; revokes still ahead and the future expiries stay per person.
        2. Future expiries are rounded up to the minute, 5 minutes, 15 minutes, the hour: people ending in the
           same slot share one statement (no session is issued past a grant's end: its policy's deadline).
        3. Future expiries become whole-role expiries at the hour after each end: no names left."""
        in_force = [c for c in self.cuts if c.at <= now]
        ahead = self.cuts - set(in_force)
        role = {Cut(max(c.at for c in in_force), ROLE)} if in_force else set()
        folds = [Guard(frozenset(role | ahead), folded=True)]
        for step in _FOLD_STEPS:
            rounded = {Cut(_ceil(c.at, step), c.kind, c.user) if c.kind == EXPIRY else c for c in ahead}
            folds.append(Guard(frozenset(role | rounded), folded=True))
        nameless = {Cut(_ceil(c.at, _FOLD_STEPS[-1]), ROLE_EXPIRY) if c.kind == EXPIRY else c for c in ahead}
        folds.append(Guard(frozenset(role | nameless), folded=True))
        return folds

    # -- what a reader asks

    def guards_grant(self, user: str, end: datetime) -> bool:
        """Whether `user`'s sessions will be cut by the end of a live grant ending at `end`."""
        end = _second(end)
        return any(c.at >= end and (c.kind == ROLE_EXPIRY or (c.kind == EXPIRY and c.user == user)) for c in self.cuts)

    def cuts_ended(self, user: str, ended_at: datetime) -> bool:
        """Whether `user`'s sessions issued before `ended_at` (an ended grant's end) stand cut."""
        ended_at = _second(ended_at)
        return any(c.at >= ended_at and (c.user == user or c.kind in (ROLE, ROLE_EXPIRY)) for c in self.cuts)

    # -- IAM

    def policy(self) -> dict[str, Any]:
        """The inline policy document, people sharing a cut merged into one statement; NO_CUT alone when empty."""
        grouped: dict[tuple[str, datetime], list[str]] = {}
        for cut in self.cuts:
            grouped.setdefault((cut.kind, cut.at), []).append(cut.user)
        if not grouped:
            return {"Version": "2012-10-17", "Statement": [NO_CUT]}
        statements = [_statement(kind, at, sorted(users)) for (kind, at), users in sorted(
            grouped.items(), key=lambda item: (item[0][1], item[0][0]))]
        return {"Version": "2012-10-17", "Statement": statements}

    @classmethod
    def from_policy(cls, document: dict[str, Any] | None) -> Guard:
        """Reads back what `policy()` wrote. Statements it did not write are dropped (the policy is the broker's; drift
        says so: `written_by_broker`)."""
        cuts: set[Cut] = set()
        for statement in (document or {}).get("Statement", []):
            match = _SID.match(str(statement.get("Sid", ""))) if isinstance(statement, dict) else None
            if not match or statement.get("Effect") != "Deny":
                continue
            kind = _SID_KINDS[match.group(1)]
            at = datetime.strptime(match.group(2), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
            if kind in (ROLE, ROLE_EXPIRY):
                cuts.add(Cut(at, kind))
                continue
            users = statement.get("Condition", {}).get("StringLike", {}).get("aws:userid", [])
            for userid in [users] if isinstance(users, str) else users:
                if isinstance(userid, str) and userid.startswith("*:"):
                    cuts.add(Cut(at, kind, userid[2:]))
        return cls(frozenset(cuts))


def written_by_broker(document: dict[str, Any] | None) -> bool:
    """Whether a guard policy says exactly what `policy()` writes for its cuts: nothing added (an Allow put there with
    the guard role's keys, a statement of someone else's), nothing changed."""
    return document is None or Guard.from_policy(document).policy() == document


def size(document: dict[str, Any] | None) -> int:
    """Characters IAM counts against the inline budget (whitespace is not counted)."""
    return len(json.dumps(document, separators=(",", ":"))) if document else 0


def _statement(kind: str, at: datetime, users: Iterable[str]) -> dict[str, Any]:
    when = rfc3339(at)
    condition: dict[str, Any] = {"DateLessThan": {"aws:TokenIssueTime": when}}
    if kind in (EXPIRY, ROLE_EXPIRY):
        condition["DateGreaterThanEquals"] = {"aws:CurrentTime": when}
    if kind in (EXPIRY, REVOKE):
        condition["StringLike"] = {"aws:userid": [f"*:{user}" for user in users]}
    return {"Sid": f"AccessBroker{_KIND_SIDS[kind]}{at.strftime('%Y%m%dT%H%M%SZ')}", "Effect": "Deny",
            "Action": "*", "Resource": "*", "Condition": condition}


def _second(when: datetime) -> datetime:
    """To the second, as IAM conditions and the grant's own deadline are written (times.rfc3339 truncates)."""
    return when.astimezone(timezone.utc).replace(microsecond=0)


def _ceil(when: datetime, step: timedelta) -> datetime:
    """`when` rounded up to a whole `step` (UTC): a later cut is safe once no session can be issued after `when`."""
    seconds = int(step.total_seconds())
    epoch = int(_second(when).timestamp())
    return datetime.fromtimestamp(-(-epoch // seconds) * seconds, tz=timezone.utc)


def _ceil_minute(when: datetime) -> datetime:
    """Revoke cuts round up to the minute: later is safe, and people revoked in the same minute share a statement."""
    floor = _second(when).replace(second=0)
    return floor if floor == when else floor + timedelta(minutes=1)
