"""An access request, its states, and the transitions between them. Every rule that does not need I/O lives here."""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.errors import Conflict, Forbidden


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


ENDED = frozenset({State.DENIED, State.CANCELLED, State.TIMED_OUT, State.EXPIRED, State.REVOKED, State.FAILED})
# Past tense of the verb that ends a request in each state, for messages like "already denied by @bob".
_VERB = {
    State.APPROVED: "approved", State.ACTIVE: "approved", State.DENIED: "denied", State.CANCELLED: "cancelled",
    State.TIMED_OUT: "timed out", State.EXPIRED: "expired", State.REVOKED: "revoked", State.FAILED: "failed",
}


@dataclass(frozen=True)
class Approval:
    by: str
    at: datetime
    comment: str = ""


@dataclass(frozen=True)
class Grant:
    role_arn: str
    policy_arn: str
    starts_at: datetime
    expires_at: datetime
    switch_role_url: str = ""
    console_url: str = ""


@dataclass(frozen=True)
class Event:
    """One line of a request's audit trail. `version` is the request version the event belongs to."""
    request_id: str
    version: int
    kind: str
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
    failure_reason: str = ""
    due_at: datetime | None = None  # when the sweeper next needs to look at this request
    version: int = 0  # 0: never stored

    @property
    def ended(self) -> bool:
        return self.state in ENDED

    def approved_by(self, person: str) -> bool:
        return any(a.by == person for a in self.approvals)

    def _with(self, now: datetime, **changes: Any) -> AccessRequest:
        return dataclasses.replace(self, updated_at=now, **changes)

    def _require(self, *states: State, action: str) -> None:
        if self.state in states:
            return
        who = f" by {self.decided_by}" if self.decided_by else ""
        raise Conflict(
            f"request {self.id} is already {_VERB.get(self.state, self.state.value)}{who}; "
            f"only a request that is {' or '.join(s.value for s in states)} can be {action}",
            state=self.state.value,
        )

    # -- transitions: each returns the new request; storage makes them conditional on `version`.

    def approve(self, approver: str, now: datetime, comment: str = "") -> AccessRequest:
        if approver == self.requester:
            raise Forbidden("nobody may approve their own request; ask one of the profile's approvers")
        self._require(State.PENDING, action="approved")
        if self.approved_by(approver):
            raise Conflict(f"you already approved request {self.id}; it needs another approver")
        approvals = self.approvals + (Approval(approver, now, comment),)
        if len(approvals) < self.approvals_required:
            return self._with(now, approvals=approvals)
        starts = now
        planned = Grant(role_arn=self.role_arn, policy_arn="", starts_at=starts,
                        expires_at=starts + timedelta(seconds=self.duration_seconds))
        return self._with(now, approvals=approvals, state=State.APPROVED, decided_by=approver,
                          decision_comment=comment, grant=planned)

    def deny(self, approver: str, now: datetime, comment: str = "") -> AccessRequest:
        if approver == self.requester:
            raise Forbidden("nobody may decide their own request; cancel it instead")
        self._require(State.PENDING, action="denied")
        return self._with(now, state=State.DENIED, decided_by=approver, decision_comment=comment)

    def cancel(self, person: str, now: datetime) -> AccessRequest:
        if person != self.requester:
            raise Forbidden("only the requester can cancel a request")
        self._require(State.PENDING, action="cancelled")
        return self._with(now, state=State.CANCELLED, decided_by=person)

    def time_out(self, now: datetime) -> AccessRequest:
        self._require(State.PENDING, action="timed out")
        return self._with(now, state=State.TIMED_OUT, decided_by="access-broker")

    def activate(self, grant: Grant, now: datetime) -> AccessRequest:
        self._require(State.APPROVED, action="activated")
        return self._with(now, state=State.ACTIVE, grant=grant)

    def end(self, state: State, by: str, now: datetime) -> AccessRequest:
        """Expire or revoke an active grant (a revoke while the grant is still being applied counts too)."""
        assert state in (State.EXPIRED, State.REVOKED)
        self._require(State.ACTIVE, State.APPROVED, action=_VERB[state])
        return self._with(now, state=state, decided_by=by)

    def fail(self, reason: str, now: datetime) -> AccessRequest:
        self._require(State.APPROVED, State.ACTIVE, action="marked failed")
        return self._with(now, state=State.FAILED, failure_reason=reason)
