"""In-memory adapters for the ports (chalicelib/ports.py), for the fast unit tier (tests/unit).

They keep the promises the real adapters keep, so a rule tested here holds against DynamoDB and IAM too: the store
writes only from the version read (StaleWrite), creates once per id, per idempotency key and per live exclusive name,
files each request under the same `due` partition the table's index would (chalicelib/domain/schedule.due_entry), and
pages like a Query. tests/storage holds the real repository to the same behaviour."""
from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Sequence

from chalicelib.access_rules import Caller
from chalicelib.aws.iam_grants import POLICY_PATH, policy_document, policy_name
from chalicelib.aws.links import ConsoleTokens
from chalicelib.catalog import parse_catalog
from chalicelib.domain import schedule
from chalicelib.domain.catalog import Catalog
from chalicelib.domain.directory import DirectoryUser, Membership
from chalicelib.domain.directory_reads import DirectoryUnavailable, IamGroups
from chalicelib.domain.errors import Conflict, InvalidInput, NotFound, quote
from chalicelib.domain.requests import AccessRequest, Event, State
from chalicelib.domain.session_guard import EXPIRY, MARGIN, MAX_SESSION, REVOKE, Cut, Guard
from chalicelib.ports import (
    Change,
    Exclusive,
    GrantError,
    Grants,
    GuardPending,
    IamDirectory,
    IdempotencyClaim,
    IdempotentReplay,
    MembershipStore,
    Notifier,
    Outbox,
    Page,
    RequestStore,
    RoleAudit,
    SessionGuard,
    SlackDirectory,
    SpentEnvelopes,
    StaleWrite,
    Tokens,
    Written,
)
from chalicelib.service.broker import Broker
from chalicelib.service.deps import Deps


class MemoryStore:
    """The RequestStore port in memory."""

    def __init__(self) -> None:
        self.requests: dict[str, AccessRequest] = {}
        self.trail: dict[str, dict[str, Event]] = {}  # request id -> sort key -> event, as the table keys them
        self.scopes: dict[int, str] = {}  # id(event) -> the profile it was written under ("": none)
        self.claims: dict[tuple[str, str], tuple[str, str]] = {}  # (caller, key) -> (request id, fingerprint)
        self.names: dict[str, tuple[str, int]] = {}  # exclusive name -> (holder, until epoch second)
        self.reads: list[str] = []  # the ids `get` read, in order: the read budget tests/perf pins, in the unit tier
        self.pages: list[str | None] = []  # the cursor of each page `by_requester` read
        self._notes = itertools.count()

    def create(self, request: AccessRequest, event: Event, claim: IdempotencyClaim | None = None,
               exclusive: tuple[str, datetime] | None = None) -> AccessRequest:
        if claim and (claim.caller, claim.key) in self.claims:
            raise IdempotentReplay()
        if exclusive:
            holder, until = self.names.get(exclusive[0], ("", 0))
            if holder and until >= int(request.created_at.timestamp()):
                raise Exclusive(exclusive[0])
        if request.id in self.requests:
            raise Conflict(f"a request with id {request.id} already exists; nothing was stored")
        stored = self._store(request, 1)
        self.trail[request.id] = {}
        self._append(event, request.profile)
        if claim:
            self.claims[(claim.caller, claim.key)] = (request.id, claim.fingerprint)
        if exclusive:
            self.names[exclusive[0]] = (request.id, int(exclusive[1].timestamp()))
        return stored

    def transition(self, before: AccessRequest, after: AccessRequest, event: Event) -> AccessRequest:
        current = self.requests.get(before.id)
        if current is None or current.version != before.version or _key(event) in self.trail[before.id]:
            raise StaleWrite(before.id)
        stored = self._store(after, before.version + 1)
        self._append(event, after.profile)
        return stored

    def note(self, event: Event, profile: str = "") -> None:
        self._append(event, profile, unique=True)

    def get(self, request_id: str) -> AccessRequest:
        self.reads.append(request_id)
        if request_id not in self.requests:
            raise NotFound(f"no request with id {quote(request_id)}")
        return self.requests[request_id]

    def events(self, request_id: str) -> list[Event]:
        return [event for _, event in sorted(self.trail.get(request_id, {}).items())]

    def claimed(self, claim: IdempotencyClaim) -> AccessRequest | None:
        found = self.claims.get((claim.caller, claim.key))
        if found is None:
            return None
        if found[1] != claim.fingerprint:
            raise Conflict("this Idempotency-Key was already used with a different body; use a new key")
        return self.get(found[0])

    def holder(self, name: str) -> str | None:
        return self.names.get(name, ("", 0))[0] or None

    def claim(self, name: str, request_id: str, until: datetime, now: datetime) -> bool:
        holder, held_until = self.names.get(name, ("", 0))
        if holder and holder != request_id and held_until >= int(now.timestamp()):
            return False
        self.names[name] = (request_id, int(until.timestamp()))
        return True

    def release(self, name: str, request_id: str) -> None:
        if self.names.get(name, ("", 0))[0] == request_id:
            self.names[name] = ("", 0)

    def by_requester(self, person: str, limit: int, cursor: str | None) -> Page[AccessRequest]:
        self.pages.append(cursor)
        return _page([r for r in self._newest_first() if r.requester == person], limit, cursor)

    def by_state(self, state: State, limit: int, cursor: str | None) -> Page[AccessRequest]:
        return _page([r for r in self._newest_first() if r.state == state], limit, cursor)

    def due(self, state: State | str, now: datetime, limit: int = 100) -> Iterator[AccessRequest]:
        partition = state.value if isinstance(state, State) else state
        due = sorted((entry[1], r.id) for r in self.requests.values()
                     if (entry := schedule.due_entry(r)) and entry[0] == partition and entry[1] <= now)
        return iter([self.requests[request_id] for _, request_id in due[:limit]])

    def standing_cuts(self, now: datetime) -> Iterator[AccessRequest]:
        return iter([r for r in self.requests.values()
                     if (entry := schedule.due_entry(r)) and entry[0] == schedule.CUT_STANDS and entry[1] > now])

    def audit(self, since: datetime, until: datetime, limit: int, cursor: str | None) -> Page[Event]:
        events = sorted((e for trail in self.trail.values() for e in trail.values() if since <= e.at <= until),
                        key=lambda e: (e.at, e.request_id, _key(e)))
        return _page(events, limit, cursor)

    def audit_scoped(self, profiles: Sequence[str], since: datetime, until: datetime, limit: int,
                     cursor: str | None) -> Page[Event]:
        events = sorted((e for trail in self.trail.values() for e in trail.values()
                         if since <= e.at <= until and self.scopes.get(id(e), "") in profiles),
                        key=lambda e: (e.at, e.request_id, _key(e)))
        return _page(events, limit, cursor)

    def _store(self, request: AccessRequest, version: int) -> AccessRequest:
        stored = dataclasses.replace(request, version=version, updated_at=request.updated_at or request.created_at)
        self.requests[request.id] = stored
        return stored

    def _append(self, event: Event, profile: str, unique: bool = False) -> None:
        key = _key(event) + (f"#{event.at.isoformat()}#{next(self._notes):06d}" if unique else "")
        if key in self.trail.setdefault(event.request_id, {}):
            raise StaleWrite(event.request_id)
        self.trail[event.request_id][key] = event
        self.scopes[id(event)] = profile

    def _newest_first(self) -> list[AccessRequest]:
        return sorted(self.requests.values(), key=lambda r: (r.created_at, r.id), reverse=True)


def _key(event: Event) -> str:
    return f"EVT#{event.version:06d}#{event.kind}"


def _page(items: list[Any], limit: int, cursor: str | None) -> Page[Any]:
    try:
        start = int(cursor or 0)
    except ValueError:
        raise InvalidInput("the `next` cursor is not one this API returned for this query; start again without it")
    end = start + limit
    return Page(items[start:end], str(end) if end < len(items) else None)


class MemoryGrants:
    """The Grants port in memory: policies by ARN, with their document, the users they are attached to and their
    owner tag. `refuse` makes the next calls fail as IAM would (GrantError)."""

    def __init__(self, source_account: str = "111111111111", owner: str = "access-broker-unit") -> None:
        self.source_account, self.owner = source_account, owner
        self.policies: dict[str, dict[str, Any]] = {}
        self.attached: dict[str, set[str]] = {}
        self.refuse: str | None = None  # a reason: every change fails with it until set back to None

    def policy_arn(self, request_id: str) -> str:
        return f"arn:aws:iam::{self.source_account}:policy{POLICY_PATH}{policy_name(request_id)}"

    def apply(self, request_id: str, iam_user: str, role_arn: str, expires_at: datetime) -> str:
        self._check()
        arn = self.policy_arn(request_id)
        self.policies.setdefault(arn, policy_document(role_arn, expires_at))
        self.attached.setdefault(arn, set()).add(iam_user)
        return arn

    def set_expiry(self, request_id: str, role_arn: str, expires_at: datetime) -> None:
        self._check()
        self.policies[self.policy_arn(request_id)] = policy_document(role_arn, expires_at)

    def remove(self, policy_arn: str, iam_user: str | None = None) -> None:
        self._check()
        self.policies.pop(policy_arn, None)
        self.attached.pop(policy_arn, None)

    def attached_users(self, policy_arn: str) -> list[str]:
        return sorted(self.attached.get(policy_arn, ()))

    def owner_of(self, policy_arn: str) -> str | None:
        return self.owner if policy_arn in self.policies else None

    def listed(self) -> list[dict[str, Any]]:
        return [{"Arn": arn, "DefaultVersionId": "v1", "AttachmentCount": len(self.attached.get(arn, ()))}
                for arn in self.policies]

    def document(self, policy_arn: str, version_id: str) -> dict[str, Any] | None:
        return self.policies.get(policy_arn)

    def expiry_of(self, request_id: str) -> str:
        """The end the grant's policy allows, as its condition says it."""
        statement = self.policies[self.policy_arn(request_id)]["Statement"][0]
        return str(statement["Condition"]["DateLessThan"]["aws:CurrentTime"])

    def _check(self) -> None:
        if self.refuse:
            raise GrantError(self.refuse)


class MemorySessionGuards:
    """The SessionGuard port in memory: one Guard per role, changed as sessions.SessionGuards changes it (pruned,
    then fitted). `unreachable` makes it answer GuardPending, as a target account that refuses the broker."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        self.clock = clock
        self.guards: dict[tuple[str, str], Guard] = {}
        self.unreachable = False
        self.foreign: dict[tuple[str, str], tuple[str, ...]] = {}  # inline policies someone else put on a role
        self.max_session = MAX_SESSION  # every role's MaxSessionDuration

    def read(self, account: str, role_arn: str) -> Guard:
        if self.unreachable:
            raise GuardPending(f"the guard role of account {account} cannot be assumed")
        return self.guards.get((account, role_arn), Guard.from_policy(None))

    def change(self, account: str, role_arn: str, change: Change) -> Written:
        before = self.read(account, role_arn)
        now = self.clock()
        after = change(before, now).pruned(now, self.max_session).fitted(now)
        changed = after.policy() != before.policy()
        self.guards[(account, role_arn)] = Guard.from_policy(after.policy())  # what IAM keeps is the document
        return Written(after, whole_role=after.folded, changed=changed, max_session=self.max_session)

    def prune(self, account: str, role_arn: str) -> Written:
        return self.change(account, role_arn, lambda guard, _now: guard)

    def audit(self, account: str, role_arn: str) -> RoleAudit:
        self.read(account, role_arn)
        return RoleAudit(self.foreign.get((account, role_arn), ()), False, self.max_session)


class MemorySpentEnvelopes:
    """The SpentEnvelopes port in memory: each envelope id is recorded once (until it no longer matters)."""

    def __init__(self) -> None:
        self.spent: dict[str, datetime] = {}

    def spend(self, envelope_id: str, until: datetime) -> bool:
        if envelope_id in self.spent:
            return False
        self.spent[envelope_id] = until
        return True


class MemoryOutbox:
    """The Outbox port in memory: jobs kept until due, each taken once."""

    def __init__(self) -> None:
        self.kept: list[tuple[datetime, str, Any]] = []

    def add(self, request_id: str, job: Any, due: datetime) -> None:
        self.kept.append((due, request_id, job))

    def take_due(self, now: datetime, limit: int = 25) -> Iterator[Any]:
        due = sorted((entry for entry in self.kept if entry[0] <= now), key=lambda entry: entry[0])[:limit]
        for entry in due:
            self.kept.remove(entry)
            yield entry[2]


class MemoryMemberships:
    """The MembershipStore port in memory; counts its reads (a cold start reads it once)."""

    def __init__(self) -> None:
        self.stored: Membership | None = None
        self.reads = 0

    def read(self) -> Membership | None:
        self.reads += 1
        return self.stored

    def save(self, membership: Membership) -> bool:
        if self.stored is not None and self.stored.checked > membership.checked:
            return False
        self.stored = membership
        return True


class MemoryIam:
    """The IamDirectory port: IAM groups of users with tags; `unavailable` answers as a throttled IAM would."""

    def __init__(self, groups: dict[str, list[DirectoryUser]] | None = None) -> None:
        self.groups = groups or {}
        self.unavailable = ""

    def read(self, groups: Sequence[str]) -> IamGroups:
        if self.unavailable:
            raise DirectoryUnavailable("IAM", "GetGroup", self.unavailable)
        known = {g: self.groups[g] for g in groups if g in self.groups}
        return IamGroups(members={g: tuple(u.name for u in users) for g, users in known.items()},
                         tags={u.name: dict(u.tags) for users in known.values() for u in users},
                         unknown=tuple(g for g in groups if g not in self.groups))


class MemorySlack:
    """The SlackDirectory port: users by email and user groups; counts the email lookups."""

    def __init__(self, emails: dict[str, str] | None = None, user_groups: dict[str, list[str]] | None = None) -> None:
        self.emails, self.user_groups = emails or {}, user_groups or {}
        self.looked_up: list[str] = []

    def lookup_by_email(self, email: str) -> str | None:
        self.looked_up.append(email)
        return self.emails.get(email.casefold())

    def user_group_members(self, usergroup: str) -> list[str] | None:
        return self.user_groups.get(usergroup)


class Recorder:
    """A notifier that keeps every event it was told about, with the request as it stood then, and the security
    alerts. The one recording notifier of the tests (the unit tier, and the world's tiers through bootstrap)."""

    def __init__(self) -> None:
        self.told: list[tuple[AccessRequest, Event]] = []
        self.alerts: list[str] = []

    def notify(self, request: AccessRequest, event: Event) -> None:
        self.told.append((request, event))

    def alert(self, text: str) -> None:
        self.alerts.append(text)

    def resend_due(self, now: datetime) -> list[str]:  # no outbox: nothing failed is kept to send again
        return []

    @property
    def events(self) -> list[tuple[str, Event]]:
        """(request id, event), in the order told."""
        return [(request.id, event) for request, event in self.told]

    @property
    def sent(self) -> list[tuple[str, str]]:
        """(event kind, request id), in the order told."""
        return [(event.kind, request.id) for request, event in self.told]

    def kinds(self, request_id: str) -> list[str]:
        return [event.kind for rid, event in self.events if rid == request_id]


class Clock:
    """A clock tests move by hand: time travel without sleeping. The unit tier starts it at a fixed moment; the
    world's tiers at the wall clock's second (tests/conftest.py), since the world's IAM reads the real time."""

    def __init__(self, now: datetime = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


DEMO_PEOPLE = {
    "s3-access": {"iam_user": "s3-access", "slack_user_id": "U01S3ACCESS"},
    "alice": {"iam_user": "alice", "slack_user_id": "U01ALICE"},
    "bob": {"iam_user": "bob", "slack_user_id": "U01BOB"},
    "carol": {"iam_user": "carol", "slack_user_id": "U01CAROL"},
    "dave": {"iam_user": "dave", "slack_user_id": "U01DAVE"},
}


def catalog(**profile: object) -> Catalog:
    """The demo's people and approvers, with one profile `s3-prod` whose options `profile` changes."""
    spec = {"account": "222222222222", "role": "switch-role-for-S3", "approvers": ["s3-approvers"],
            "approvals_required": 1, "default_duration": "1h", "max_duration": "4h", **profile}
    return parse_catalog({"source_account": "111111111111", "security_channel": "C01SECURITY",
                          "people": DEMO_PEOPLE, "groups": {"s3-approvers": ["bob", "carol"], "auditors": ["dave"]},
                          "profiles": {"s3-prod": spec}})


@dataclasses.dataclass
class Fakes:
    broker: Broker
    store: MemoryStore
    grants: MemoryGrants
    guards: MemorySessionGuards
    notes: Recorder
    clock: Clock

    def rewired(self, **ports: Any) -> Fakes:
        """Another Broker over the same ports but those named (`catalog`, `store`, `grants`, `tokens`, `notifier`,
        `sessions`, as in chalicelib/service/deps.py): the catalog reloaded, a second process whose IAM or key
        fails, a store that loses races. A named fake of this wiring's own kind takes its place here too."""
        mine = {"store": "store", "grants": "grants", "notifier": "notes"}
        kept = {mine[name]: port for name, port in ports.items()
                if name in mine and isinstance(port, type(getattr(self, mine[name])))}
        return dataclasses.replace(self, broker=Broker(dataclasses.replace(self.broker.written, **ports)), **kept)


def as_(wired: Fakes, person: str) -> Caller:
    """`person` of the catalog as the API sees them: their IAM user in the source account."""
    return wired.broker.caller_from_arn(f"arn:aws:iam::111111111111:user/{person}")


def in_slack(wired: Fakes, person: str) -> Caller:
    """`person` of the catalog as Slack sees them: their Slack user id."""
    return wired.broker.caller_from_slack(DEMO_PEOPLE[person]["slack_user_id"])


def ask(wired: Fakes, duration: str | None = "1h", *, who: str = "s3-access", profile: str = "s3-prod",
        reason: str = "fixing the export job", **options: Any) -> AccessRequest:
    """A request by `who` (the demo's requester) over the API."""
    return wired.broker.request_access(as_(wired, who), profile, duration, reason, **options)


def granted(wired: Fakes, duration: str = "1h", *, profile: str = "s3-prod") -> AccessRequest:
    """A request approved by bob (and carol, where the profile needs two): active, unless IAM or the guard said no."""
    request = wired.broker.approve(as_(wired, "bob"), ask(wired, duration, profile=profile).id)
    if request.state == State.PENDING:
        request = wired.broker.approve(as_(wired, "carol"), request.id)
    return request


class CrashingGrants(MemoryGrants):
    """The broker's process dies inside the IAM call (a Lambda timeout): the request stays approved."""

    def apply(self, request_id: str, iam_user: str, role_arn: str, expires_at: datetime) -> str:
        raise TimeoutError("Task timed out after 30.00 seconds")


def approved_not_applied(wired: Fakes) -> AccessRequest:
    """An approved request whose grant was never applied: the process that approved it died in IAM (the sweeper
    retries)."""
    request = ask(wired)
    try:
        wired.rewired(grants=CrashingGrants()).broker.approve(as_(wired, "bob"), request.id)
    except TimeoutError:
        pass
    stored = wired.store.get(request.id)
    assert stored.state == State.APPROVED, "the crashed approval was recorded, its grant not applied"
    return stored


def kinds(wired: Fakes, request_id: str) -> list[str]:
    """The request's audit trail, by event kind."""
    return [e.kind for e in wired.store.events(request_id)]


def cuts(wired: Fakes, request: AccessRequest) -> frozenset[Cut]:
    """What the session guard of the request's role holds now."""
    return wired.guards.guards.get((request.account, request.role_arn), Guard()).cuts


def expiry_cut(request: AccessRequest) -> Cut:
    """The cut that ends the requester's sessions at the grant's end."""
    assert request.grant is not None
    return Cut(request.grant.expires_at, EXPIRY, request.requester_iam_user)


def revoke_cut(at: datetime, iam_user: str = "s3-access") -> Cut:
    """A revoke at a whole minute cuts sessions issued before the revoke plus the margin (the demo's requester)."""
    assert at.second == 0 and at.microsecond == 0
    return Cut(at + MARGIN, REVOKE, iam_user)


def reads_of(wired: Fakes) -> list[str]:
    """The ids of the requests the broker reads from the store one by one from now on (a due index's or a list's
    items are not such reads)."""
    wired.store.reads.clear()
    return wired.store.reads


def pages_read(wired: Fakes) -> list[str | None]:
    """The cursors of the pages of a person's requests the broker reads from now on, one per page."""
    wired.store.pages.clear()
    return wired.store.pages


def broker(catalog_: Catalog | None = None, clock: Clock | None = None) -> Fakes:
    """A Broker wired to the in-memory adapters, as bootstrap wires the real ones."""
    clock = clock or Clock()
    store, grants, guards, notes = MemoryStore(), MemoryGrants(), MemorySessionGuards(clock), Recorder()
    ids = (f"01{n:024d}" for n in itertools.count(1))
    built = Broker(Deps(catalog=catalog_ or catalog(), store=store, grants=grants,
                        tokens=ConsoleTokens(b"unit-console-key-0123456789abcdef"), notifier=notes, clock=clock,
                        new_id=lambda now: next(ids), public_url="https://broker.example", sessions=guards,
                        propagation=timedelta(0)))  # IAM instant, as in the local world with its model off
    return Fakes(built, store, grants, guards, notes, clock)


def _held_to_their_ports(clock: Clock) -> tuple[RequestStore, Grants, SessionGuard, Notifier, Tokens,
                                                SpentEnvelopes, Outbox]:
    """Never called: mypy checks here that each fake satisfies its port (a fake that drifts fails `make lint`)."""
    return (MemoryStore(), MemoryGrants(), MemorySessionGuards(clock), Recorder(), ConsoleTokens(b"k" * 32),
            MemorySpentEnvelopes(), MemoryOutbox())


def _directory_held_to_their_ports() -> tuple[MembershipStore, IamDirectory, SlackDirectory]:
    """Never called: as above, for the directory's ports."""
    return MemoryMemberships(), MemoryIam(), MemorySlack()
