"""An access request, its states, and the transitions between them. Every rule that does not need I/O lives here."""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from chalicelib.domain.durations import format_duration
from chalicelib.domain.errors import Conflict, Forbidden, Unprocessable
from chalicelib.domain.events import SYSTEM, EventKind
from chalicelib.domain.session_guard import MAX_SESSION
from chalicelib.domain.times import rfc3339

ON_CALL = "on-call"  # who approved an auto-approved request: the on-call rota, no human


class State(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"  # approvals complete, the grant is being applied in IAM
    ACTIVE = "active"
    DENIED = "denied"
    CANCELLED = "cancelled"
    TIMED_OUT = "timed_out"
    EXPIRED = "expired"
    REVOKED = "revoked"
    FAILED = "failed"

    @property
    def verb(self) -> str:
        """Past tense of what put a request in this state, for messages like "already denied by @bob"."""
        return _VERB.get(self, self.value)


ENDED = frozenset({State.DENIED, State.CANCELLED, State.TIMED_OUT, State.EXPIRED, State.REVOKED, State.FAILED})
_VERB = {
    State.APPROVED: "approved", State.ACTIVE: "approved", State.DENIED: "denied", State.CANCELLED: "cancelled",
    State.TIMED_OUT: "timed out", State.EXPIRED: "expired", State.REVOKED: "revoked", State.FAILED: "failed",
}


@dataclass(frozen=True)
class Approval:
    by: str  # a person's id, or ON_CALL for an approval by the on-call rota (domain/on_call.py)
    at: datetime
    comment: str = ""
    schedule: str = ""  # an on-call approval: the PagerDuty schedule the requester was on call in
    pagerduty_user: str = ""  # ... and their PagerDuty user id


@dataclass(frozen=True)
class Grant:
    role_arn: str
    policy_arn: str
    starts_at: datetime
    expires_at: datetime
    switch_role_url: str = ""
    console_url: str = ""
    usable_at: datetime | None = None  # when the broker expects the grant to work: its attach + IAM's propagation


@dataclass(frozen=True)
class Extension:
    """An open request to make an active grant last longer, waiting for its own approval round."""
    seconds: int
    requested_by: str
    requested_at: datetime
    approvals: tuple[Approval, ...] = ()


@dataclass(frozen=True)
class Event:
    """One line of a request's audit trail. `version` is the request version the event belongs to."""
    request_id: str
    version: int
    kind: str  # an EventKind (domain/events.py); read back from storage as its plain value
    at: datetime
    actor: str
    channel: str  # api | slack | system
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccessRequest:
    id: str
    profile: str
    requester: str  # person id
    requester_iam_user: str
    account: str
    role_arn: str
    reason: str
    duration_seconds: int
    approvals_required: int
    created_at: datetime
    state: State = State.PENDING
    approvals: tuple[Approval, ...] = ()
    decided_by: str | None = None
    decision_comment: str = ""
    updated_at: datetime | None = None
    grant: Grant | None = None
    requested_by_tool: str | None = None  # IAM ARN of a trusted tool that asked on the requester's behalf
    break_glass: bool = False  # self-approved emergency access: flagged for review after the fact
    failure_reason: str = ""
    due_at: datetime | None = None  # when the sweeper next needs to look at this request
    reminded_at: datetime | None = None  # approvers were reminded (once) while pending
    warned_at: datetime | None = None  # the requester was warned (once per expiry) before the grant ends
    extension: Extension | None = None  # an extension waiting for approval
    ended_at: datetime | None = None  # when an active (or approved) grant was revoked, expired or failed
    # The session guard (domain/session_guard.py) owes this request a write the target account did not take yet:
    # the sweeper retries it every pass; until then open sessions may last until the end plus an hour.
    guard_pending: bool = False
    cut_lapsed: bool = False  # an ended grant's cut can no longer match a session: drift repair stops checking it
    cut_in_force_at: datetime | None = None  # an end's cut, written: when IAM is expected to enforce it everywhere
    detach_pending: bool = False  # ended, but IAM refused to detach its policy yet: sessions may open until its end
    guard_retries: int = 0  # retries of a pending session-guard write the target account refused (backoff)
    version: int = 0  # 0: never stored

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    @property
    def awaiting_decision(self) -> bool:
        """Approvers have something to decide: a pending request, or an active grant asking to last longer."""
        return self.state == State.PENDING or (self.state == State.ACTIVE and self.extension is not None)

    def approved_by(self, person: str) -> bool:
        return any(a.by == person for a in self.approvals)

    def _with(self, now: datetime, **changes: Any) -> AccessRequest:
        return dataclasses.replace(self, updated_at=now, **changes)

    def _require(self, *states: State, action: str) -> None:
        if self.state in states:
            return
        who = f" by {self.decided_by}" if self.decided_by else ""
        raise Conflict(
            f"request {self.id} is already {self.state.verb}{who}; "
            f"only a request that is {' or '.join(s.value for s in states)} can be {action}",
            state=self.state.value,
        )

    # -- transitions: each returns the new request and the kind of event that records it; storage makes them
    # conditional on `version`.

    def approve(self, approver: str, now: datetime, comment: str = "") -> Transition:
        if approver == self.requester:
            raise Forbidden("nobody may approve their own request; ask one of the profile's approvers")
        self._require(State.PENDING, action="approved")
        if self.approved_by(approver):
            raise Conflict(f"you already approved request {self.id}; it needs another approver")
        approvals = self.approvals + (Approval(approver, now, comment),)
        if len(approvals) < self.approvals_required:
            return Transition(self._with(now, approvals=approvals), EventKind.APPROVAL_ADDED)
        return Transition(self._with(now, approvals=approvals, state=State.APPROVED, decided_by=approver,
                                     decision_comment=comment, grant=self._planned_grant(now)), EventKind.APPROVED)

    def break_glass_approve(self, now: datetime) -> Transition:
        """Emergency access on a break-glass profile: approved by nobody but the requester, reviewed afterwards."""
        assert self.break_glass, "only a break-glass request skips approval"  # pragma: no mutate (an assert's message)
        self._require(State.PENDING, action="activated by break-glass")
        return Transition(self._with(now, state=State.APPROVED, decided_by=self.requester,
                                     decision_comment="break-glass", grant=self._planned_grant(now)),
                          EventKind.BREAK_GLASS_ACTIVATED)

    def auto_approve(self, now: datetime, schedule: str, pagerduty_user: str) -> Transition:
        """Approved by no human: the requester is on call now in `schedule` (domain/on_call.py decided it)."""
        self._require(State.PENDING, action="auto-approved")
        approval = Approval(ON_CALL, now, "", schedule, pagerduty_user)
        return Transition(self._with(now, approvals=(approval,), state=State.APPROVED, decided_by=ON_CALL,
                                     decision_comment=f"on call in {schedule}", grant=self._planned_grant(now)),
                          EventKind.AUTO_APPROVED)

    def skip_auto_approval(self, now: datetime) -> Transition:
        self._require(State.PENDING, action="left to people")  # on-call auto-approval did not apply: the event says why
        return Transition(self._with(now), EventKind.AUTO_APPROVE_SKIPPED)

    @property
    def auto_approved(self) -> bool:
        return any(a.by == ON_CALL for a in self.approvals)

    def _planned_grant(self, now: datetime) -> Grant:
        return Grant(role_arn=self.role_arn, policy_arn="", starts_at=now,
                     expires_at=now + timedelta(seconds=self.duration_seconds))

    def deny(self, approver: str, now: datetime, comment: str = "") -> Transition:
        if approver == self.requester:
            raise Forbidden("nobody may decide their own request; cancel it instead")
        self._require(State.PENDING, action="denied")
        return Transition(self._with(now, state=State.DENIED, decided_by=approver, decision_comment=comment),
                          EventKind.DENIED)

    def cancel(self, person: str, now: datetime) -> Transition:
        if person != self.requester:
            raise Forbidden("only the requester can cancel a request")
        self._require(State.PENDING, action="cancelled")
        return Transition(self._with(now, state=State.CANCELLED, decided_by=person), EventKind.CANCELLED)

    def time_out(self, now: datetime) -> Transition:
        self._require(State.PENDING, action="timed out")
        return Transition(self._with(now, state=State.TIMED_OUT, decided_by=SYSTEM), EventKind.TIMED_OUT)

    def activate(self, grant: Grant, now: datetime) -> Transition:
        self._require(State.APPROVED, action="activated")
        return Transition(self._with(now, state=State.ACTIVE, grant=grant), EventKind.ACTIVATED)

    def end(self, state: State, by: str, now: datetime) -> Transition:
        """Expire or revoke an active grant (a revoke while the grant is still being applied counts too)."""
        assert state in (State.EXPIRED, State.REVOKED)
        self._require(State.ACTIVE, State.APPROVED, action=state.verb)
        return Transition(self._with(now, state=state, decided_by=by, ended_at=now),
                          EventKind.EXPIRED if state == State.EXPIRED else EventKind.REVOKED)

    def fail(self, reason: str, now: datetime) -> Transition:
        self._require(State.APPROVED, State.ACTIVE, action="marked failed")
        return Transition(self._with(now, state=State.FAILED, failure_reason=reason, ended_at=now), EventKind.FAILED)

    def guarded(self, pending: bool, now: datetime) -> Transition:
        """Records whether the session guard still owes this request a write (the sweeper retries while it does)."""
        if self.guard_pending == pending:
            raise Conflict(f"the session guard of request {self.id} is already {'pending' if pending else 'written'}")
        return Transition(self._with(now, guard_pending=pending, guard_retries=0),
                          EventKind.SESSION_GUARD_PENDING if pending else EventKind.SESSION_GUARD_CAUGHT_UP)

    @property
    def sessions_end_by(self) -> datetime | None:
        """Until when role sessions issued under this grant may still work: its end (the revoke, or the expiry) when
        the session guard stands, and no sooner than IAM puts the end's cut in force; that plus the longest session
        while the guard is pending."""
        end = self.sessions_cut_at
        if end is None:
            return None
        if self.detach_pending and self.grant:  # sessions may still open until the grant's own end
            end = max(end, self.grant.expires_at)
        if self.guard_pending:
            return end + MAX_SESSION
        return max(end, self.cut_in_force_at) if self.cut_in_force_at else end

    @property
    def sessions_cut_at(self) -> datetime | None:
        """The end that cuts this grant's sessions: its revoke (or failure), else its expiry."""
        if self.grant is None:
            return None
        return self.ended_at if self.state in (State.REVOKED, State.FAILED) and self.ended_at else self.grant.expires_at

    @property
    def sessions_may_exist(self) -> bool:
        """Whether role sessions may have been issued under this request's grant: its policy was attached."""
        return self.grant is not None and bool(self.grant.policy_arn)

    def lapse_cut(self, now: datetime) -> Transition:
        """The ended grant's cut can no longer match a session (they last an hour at most)."""
        if not self.ended or self.cut_lapsed:
            raise Conflict(f"request {self.id} has no standing cut")
        return Transition(self._with(now, cut_lapsed=True), EventKind.SESSION_CUT_LAPSED)

    # -- the sweeper's once-only nudges

    def remind(self, now: datetime) -> Transition:
        self._require(State.PENDING, action="reminded about")
        if self.reminded_at:
            raise Conflict(f"approvers of request {self.id} were already reminded")
        return Transition(self._with(now, reminded_at=now), EventKind.REMINDER_SENT)

    def warn(self, now: datetime) -> Transition:
        self._require(State.ACTIVE, action="warned about")
        if self.warned_at:
            raise Conflict(f"the requester of request {self.id} was already warned")
        return Transition(self._with(now, warned_at=now), EventKind.EXPIRY_WARNING)

    # -- extensions: a new approval round on an active grant

    def request_extension(self, person: str, seconds: int, max_seconds: int, now: datetime,
                          auto_approve: bool) -> Transition:
        if person != self.requester:
            raise Forbidden("only the requester can extend a grant")
        self._require(State.ACTIVE, action="extended")
        if self.extension:
            raise Conflict(f"request {self.id} already has an extension waiting for approval "
                           f"(+{format_duration(self.extension.seconds)}); wait for the approvers' decision")
        self._check_extension_total(seconds, max_seconds, now)
        extension = Extension(seconds, person, now)
        if auto_approve:
            return self._extended(extension, now)
        return Transition(self._with(now, extension=extension), EventKind.EXTENSION_REQUESTED)

    def approve_extension(self, approver: str, now: datetime, max_seconds: int) -> Transition:
        extension = self._open_extension(approver, "approve")
        if any(a.by == approver for a in extension.approvals):
            raise Conflict(f"you already approved the extension of request {self.id}; it needs another approver")
        extension = dataclasses.replace(extension, approvals=extension.approvals + (Approval(approver, now),))
        if len(extension.approvals) < self.approvals_required:
            return Transition(self._with(now, extension=extension), EventKind.EXTENSION_APPROVAL_ADDED)
        self._check_extension_total(extension.seconds, max_seconds, now)
        return self._extended(extension, now)

    def deny_extension(self, approver: str, now: datetime) -> Transition:
        self._open_extension(approver, "deny")
        return Transition(self._with(now, extension=None), EventKind.EXTENSION_DENIED)

    def _open_extension(self, approver: str, verb: str) -> Extension:
        if approver == self.requester:
            raise Forbidden(f"nobody may {verb} the extension of their own grant; ask one of the profile's approvers")
        self._require(State.ACTIVE, action="extended")
        if self.extension is None:
            raise Conflict(f"request {self.id} has no extension waiting for a decision")
        return self.extension

    def _check_extension_total(self, seconds: int, max_seconds: int, now: datetime) -> None:
        assert self.grant is not None
        if now >= self.grant.expires_at:  # ended in IAM already; the sweeper has just not recorded it yet
            raise Conflict(f"the grant of request {self.id} already ended at "
                           f"{rfc3339(self.grant.expires_at)}; request access again",
                           state="expired")
        granted = int((self.grant.expires_at - self.grant.starts_at).total_seconds())
        room = max(0, max_seconds - granted)
        if seconds > room:
            longest = f"the longest extension allowed is {format_duration(room)}" if room else \
                "it cannot be extended further"
            raise Unprocessable(f"a grant of this profile may last at most {format_duration(max_seconds)} in total; "
                                f"this one already lasts {format_duration(granted)}, so {longest}",
                                field="duration", max_extension_seconds=room)

    def _extended(self, extension: Extension, now: datetime) -> Transition:
        """The grant lasts `extension.seconds` longer; the warning before the new end is due again."""
        assert self.grant is not None
        grant = dataclasses.replace(self.grant, expires_at=self.grant.expires_at + timedelta(seconds=extension.seconds))
        return Transition(self._with(now, grant=grant, extension=None, warned_at=None), EventKind.EXTENDED)


class Transition(NamedTuple):
    """A transition's outcome: the request as it is now, and the kind of event that records it."""
    request: AccessRequest
    kind: EventKind
