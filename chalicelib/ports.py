"""The ports: what the service, the sweeper and the Slack worker need from the outside, as Protocols, and the values
and errors they share.

Adapters satisfy these (store/ for the table, aws/ for IAM and the console links, sessions.py for the session guards,
slack/web.py for Slack); bootstrap wires them, and tests hand in fakes (tests/fakes.py). Nothing here does I/O or
imports an adapter."""
from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Generic, Iterable, Iterator, Protocol, Sequence, TypeVar

from chalicelib.domain.requests import AccessRequest, Event, State
from chalicelib.domain.schedule import CUT_STANDS as CUT_STANDS  # the `due` partitions beyond the states
from chalicelib.domain.schedule import GUARD_DUE as GUARD_DUE
from chalicelib.domain.session_guard import MAX_SESSION, Guard

if TYPE_CHECKING:  # named in annotations only: the cold path does not import the on-call and directory models
    from chalicelib.domain.catalog import Person, Profile
    from chalicelib.domain.directory import Membership
    from chalicelib.domain.directory_reads import IamGroups
    from chalicelib.domain.on_call import Decision as OnCallDecision

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None  # the cursor of the next page, None on the last


@dataclass(frozen=True)
class IdempotencyClaim:
    caller: str
    key: str
    fingerprint: str  # hash of the request body: the same key with another body is a mistake


class StaleWrite(Exception):
    """Someone else changed the item between our read and our conditional write: re-read and retry."""


class IdempotentReplay(Exception):
    """The idempotency key was already claimed: the caller returns the first request."""


class Exclusive(Exception):
    """A live request already holds the exclusive name (one live break-glass grant per person and profile)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class GrantError(Exception):
    """IAM refused to apply or remove a grant. The message is safe to show and record."""


class GuardPending(Exception):
    """The guard could not be written now (target account unreachable, refused, or busy); retried by the sweeper."""


@dataclass(frozen=True)
class Written:
    guard: Guard
    whole_role: bool  # the change had to fall back to the whole-role cut
    changed: bool  # False when the policy already said it (a replay)
    max_session: timedelta = MAX_SESSION  # the role's MaxSessionDuration, read with the write (cuts stand this long)


@dataclass(frozen=True)
class RoleAudit:
    """What drift checks on a switch role beyond its cuts: anything on it the broker did not write."""
    foreign_policies: tuple[str, ...]  # names of inline policies the broker did not write (it writes only the guard)
    guard_tampered: bool  # the guard policy holds statements the broker did not write (drift writes it back clean)
    max_session: timedelta  # the role's MaxSessionDuration


Change = Callable[[Guard, datetime], Guard]


class RequestLog(Protocol):
    """The part of the request store a notifier needs: read a request and its trail, append an event."""

    def get(self, request_id: str) -> AccessRequest: ...

    def note(self, event: Event, profile: str = "") -> None: ...

    def events(self, request_id: str) -> list[Event]: ...


class RequestStore(RequestLog, Protocol):
    """Requests and their events. Every write is conditional: `transition` only from the version read (StaleWrite
    otherwise), `create` only once per id, per idempotency claim (IdempotentReplay) and per live exclusive name
    (Exclusive). The `due` queries read only what is due: a key condition, never a scan."""

    def create(self, request: AccessRequest, event: Event, claim: IdempotencyClaim | None = None,
               exclusive: tuple[str, datetime] | None = None) -> AccessRequest: ...

    def transition(self, before: AccessRequest, after: AccessRequest, event: Event) -> AccessRequest: ...

    def claimed(self, claim: IdempotencyClaim) -> AccessRequest | None: ...

    def holder(self, name: str) -> str | None: ...

    def claim(self, name: str, request_id: str, until: datetime, now: datetime) -> bool: ...

    def release(self, name: str, request_id: str) -> None: ...

    def by_requester(self, person: str, limit: int, cursor: str | None) -> Page[AccessRequest]: ...

    def by_state(self, state: State, limit: int, cursor: str | None) -> Page[AccessRequest]: ...

    def due(self, state: State | str, now: datetime, limit: int = 100) -> Iterable[AccessRequest]: ...

    def standing_cuts(self, now: datetime) -> Iterable[AccessRequest]: ...

    def audit(self, since: datetime, until: datetime, limit: int, cursor: str | None) -> Page[Event]: ...

    def audit_scoped(self, profiles: Sequence[str], since: datetime, until: datetime, limit: int,
                     cursor: str | None) -> Page[Event]: ...


class Grants(Protocol):
    """The grant policies in IAM (chalicelib/aws/iam_grants.py). Every method is safe to re-run; refusals are
    GrantError."""

    owner: str  # the deployment named on its policies: another stage's are never taken for orphans

    def policy_arn(self, request_id: str) -> str: ...

    def apply(self, request_id: str, iam_user: str, role_arn: str, expires_at: datetime) -> str: ...

    def set_expiry(self, request_id: str, role_arn: str, expires_at: datetime) -> None: ...

    def remove(self, policy_arn: str, iam_user: str | None = None) -> None: ...

    def attached_users(self, policy_arn: str) -> list[str]: ...

    def owner_of(self, policy_arn: str) -> str | None: ...

    def listed(self) -> list[dict[str, Any]]: ...

    def document(self, policy_arn: str, version_id: str) -> dict[str, Any] | None: ...


class Tokens(Protocol):
    """Signed console links (chalicelib/aws/links.py): Forbidden for a bad signature, Gone once expired."""

    def sign(self, request_id: str, expires_at: datetime) -> str: ...

    def verify(self, token: str, now: datetime) -> str: ...

    def signed(self, token: str) -> tuple[str, datetime]: ...


class SessionGuard(Protocol):
    """The session guard of each switch role (chalicelib/sessions.py); GuardPending when it cannot be had now."""

    def read(self, account: str, role_arn: str) -> Guard: ...

    def change(self, account: str, role_arn: str, change: Change) -> Written: ...

    def prune(self, account: str, role_arn: str) -> Written:
        """Drops the cuts that can no longer match a session, though nothing else changes."""

    def audit(self, account: str, role_arn: str) -> RoleAudit: ...


class OnCall(Protocol):
    """Whether a request may be approved by the on-call rota (chalicelib/on_call.py: PagerDuty, within 2 s). None
    when the profile has no auto_approve; never raises for anything PagerDuty does."""

    def consider(self, profile: Profile, requester: Person, duration_seconds: int,
                 live_auto_approved: str | None = None) -> OnCallDecision | None: ...


class IamDirectory(Protocol):
    """The source account's IAM groups (chalicelib/aws/directory.py); DirectoryUnavailable when IAM cannot be read."""

    def read(self, groups: Sequence[str]) -> IamGroups:
        """Each group's users with their tags; groups IAM does not know are `unknown`."""


class SlackDirectory(Protocol):
    """Slack's users and user groups (chalicelib/slack/directory.py); DirectoryUnavailable when Slack cannot be read."""

    def lookup_by_email(self, email: str) -> str | None:
        """The Slack user id with that email; None when Slack has nobody with it. DirectoryUnavailable otherwise."""

    def user_group_members(self, usergroup: str) -> list[str] | None:
        """The Slack user ids in the user group; None when there is no such user group."""


class MembershipStore(Protocol):
    """The directory's membership as the last refresh left it (chalicelib/store/memberships.py)."""

    def read(self) -> Membership | None: ...

    def save(self, membership: Membership) -> bool: ...


class Notifier(Protocol):
    """Tells people about an event (Slack, when configured). Never raises into a state change: the service logs
    and records a failure instead."""

    def notify(self, request: AccessRequest, event: Event) -> None: ...

    def alert(self, text: str) -> None:
        """Tells the security channel (a tampered grant removed, a session guard folded)."""

    def resend_due(self, now: datetime) -> list[str]:
        """Sends again the notifications that failed and are due for a retry (the outbox); the ids of their
        requests. A notifier without an outbox has none."""


class Outbox(Protocol):
    """Notifications that failed, kept until their retry is due; taking one removes it (whoever takes it sends it)."""

    def add(self, request_id: str, job: Any, due: datetime) -> None: ...

    def take_due(self, now: datetime, limit: int = 25) -> Iterator[Any]: ...


class SpentEnvelopes(Protocol):
    """The sealed jobs the worker ran, each kept while its seal is accepted (chalicelib/store/envelopes.py)."""

    def spend(self, envelope_id: str, until: datetime) -> bool:
        """Records the envelope as run: True the first time, False if it was already (it must not run again)."""


class Lease(Protocol):
    def held(self, name: str) -> AbstractContextManager[None]: ...


class SlackApi(Protocol):
    """The Slack Web API and response_url replies (chalicelib/slack/web.py)."""

    def call(self, method: str, **arguments: Any) -> dict[str, Any]: ...

    def respond(self, response_url: str, message: dict[str, Any]) -> None: ...
