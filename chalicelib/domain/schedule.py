"""When the sweeper must next look at a request: reminder, timeout, retry, expiry warning or expiry. Pure."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.requests import AccessRequest, Grant, State
from chalicelib.domain.session_guard import MARGIN, MAX_SESSION

APPLY_RETRY_AFTER = timedelta(minutes=2)
WARN_BEFORE = timedelta(minutes=10)
GUARD_FIRST_WAIT, GUARD_LONGEST_WAIT = timedelta(minutes=1), timedelta(hours=1)
# What the sweeper still owes an ended request, beside the live states: its session guard write (the target account
# did not take it yet), or a cut that must stand until it lapses (drift repair checks it meanwhile).
GUARD_DUE = "guard_pending"
CUT_STANDS = "cut_stands"


def next_due(request: AccessRequest, approval_timeout: int, reminder_after: int) -> datetime | None:
    """The key of the sparse `due` index; None once nothing more will happen."""
    if request.guard_pending:  # the session guard is retried, whatever the state, waiting longer after each refusal
        return (request.updated_at or request.created_at) + guard_retry_wait(request.guard_retries)
    if request.state == State.PENDING:
        return min(filter(None, (reminder_at(request, approval_timeout, reminder_after),
                                 timeout_at(request, approval_timeout))))
    if request.state == State.APPROVED:  # a grant stuck half-applied is retried by the sweeper
        return (request.updated_at or request.created_at) + APPLY_RETRY_AFTER
    if request.state == State.ACTIVE and request.grant:
        return request.grant.expires_at if request.warned_at else warning_at(request.grant)
    if request.ended and request.sessions_may_exist and not request.cut_lapsed and request.sessions_cut_at:
        return cut_lapses_at(request.sessions_cut_at)  # until then drift repair checks that its cut stands
    return None


def due_entry(request: AccessRequest) -> tuple[str, datetime] | None:
    """The request's place in the sweeper's queue (the `due` index): its partition and when it is due, or None. An
    ended request stays only for its session guard: a write still owed, or a cut that must stand."""
    if request.due_at is None:
        return None
    if not request.ended:
        return request.state.value, request.due_at
    if request.guard_pending:
        return GUARD_DUE, request.due_at
    if request.sessions_may_exist and request.ended_at and not request.cut_lapsed:
        return CUT_STANDS, request.due_at
    return None


def guard_retry_wait(retries: int) -> timedelta:
    """Before a pending session-guard write is tried again: at once, then 1 minute after the first refusal,
    doubling, at most an hour."""
    return min(GUARD_FIRST_WAIT * 2 ** max(retries - 1, 0), GUARD_LONGEST_WAIT) if retries else timedelta(0)


def cut_lapses_at(cut_at: datetime) -> datetime:
    """When a cut can no longer match a live session: sessions last an hour at most, a revoke cut stands a margin
    later than the revoke."""
    return cut_at + MAX_SESSION + MARGIN


def timeout_at(request: AccessRequest, approval_timeout: int) -> datetime:
    return request.created_at + timedelta(seconds=approval_timeout)


def reminder_at(request: AccessRequest, approval_timeout: int, reminder_after: int) -> datetime | None:
    """Once, `reminder_after` into the approval window; never when the request times out first."""
    remind = request.created_at + timedelta(seconds=reminder_after)
    return None if request.reminded_at or remind >= timeout_at(request, approval_timeout) else remind


def warning_at(grant: Grant) -> datetime:
    """About ten minutes before the end; half-way through grants shorter than twenty minutes."""
    return grant.expires_at - min(WARN_BEFORE, (grant.expires_at - grant.starts_at) / 2)
