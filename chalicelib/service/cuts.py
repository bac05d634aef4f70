"""The session-guard writes: what each request owes the guard of its role (a live grant's expiry cut, an end's cut),
writing it, and the sweeper's and drift's retries. The cuts themselves are the domain's (domain/session_guard.py);
the guard of each role is reached through the SessionGuard port (sessions.py)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from chalicelib.domain import schedule, sessions_owed
from chalicelib.domain.errors import Conflict
from chalicelib.domain.events import EventKind
from chalicelib.domain.requests import AccessRequest, State
from chalicelib.domain.session_guard import Guard
from chalicelib.ports import Change, GuardPending
from chalicelib.service import funnel
from chalicelib.service.deps import SYSTEM_CALLER, Deps

log = logging.getLogger(__name__)
_PAGE = 50  # requests per query where a person's requests are paged through


def write(deps: Deps, request: AccessRequest, cut: str, change: Change, refused: list[str] | None = None) -> bool:
    """Writes `change` into the guard of the request's role; True when it stands. The caller's event says that it
    was written; a failure is an event of its own (or, given `refused`, the reason is put there for the caller's
    event), and so is a fall back to the whole-role cut, which is announced to the security channel too."""
    if deps.sessions is None:
        return False
    try:
        written = deps.sessions.change(request.account, request.role_arn, change)
    except GuardPending as exc:
        log.warning("session guard of request %s pending: %s", request.id, exc)
        if refused is not None:
            refused.append(str(exc))
        else:
            funnel.note(deps, request, EventKind.SESSION_GUARD_FAILED,
                        {"cut": cut, "role_arn": request.role_arn, "reason": str(exc)})
        return False
    if written.whole_role:
        event = funnel.note(deps, request, EventKind.SESSION_GUARD_WHOLE_ROLE, {
            "cut": cut, "role_arn": request.role_arn, "statements": _statements(written.guard),
            "security_channel": deps.catalog.security_channel})
        funnel.notify(deps, request, event)
        funnel.alert(deps, f"access-broker: the session guard of {request.role_arn} fell back to the whole-role cut "
                           f"(too many people to name within IAM's inline policy budget): everyone's sessions of the "
                           f"role issued before the cut are denied; people with a live grant switch in again")
    return True


def owes_end_cut(ended: AccessRequest) -> bool:
    """A revoke or a failure cuts open sessions at once; an expiry's cut was written with the grant (unless the
    target account did not take it then)."""
    if not ended.sessions_may_exist or ended.ended_at is None:
        return False
    return ended.state != State.EXPIRED or ended.guard_pending


def end_change(deps: Deps, ended: AccessRequest) -> Change:
    """The cut an ended grant owes: its expiry's, or a revoke's (keeping the person's other live grant's expiry)."""
    user, at = ended.requester_iam_user, ended.ended_at
    assert at is not None
    if ended.state == State.EXPIRED and ended.grant:
        end = ended.grant.expires_at
        return lambda g, now: g.ending(user, end, now)
    still_until = other_live_end(deps, ended)
    return lambda g, now: g.revoked(user, at, still_until)


def owed_change(deps: Deps, request: AccessRequest) -> Change | None:
    """What the guard must say for this request now: its end's cut, or its live grant's expiry."""
    if request.ended:
        return end_change(deps, request) if request.sessions_may_exist and request.ended_at else None
    if request.grant:
        user, end = request.requester_iam_user, request.grant.expires_at
        return lambda g, now: g.ending(user, end, now)
    return None


def retry(deps: Deps, request: AccessRequest) -> AccessRequest:
    """The sweeper's retry of a guard write the target account did not take: what is owed follows the state. A
    refusal is one event and a longer wait before the next retry; once an ended grant's cut has lapsed it is owed no
    more (one event says so)."""
    current, now = deps.store.get(request.id), deps.clock()
    if not current.guard_pending:
        return current
    if sessions_owed.lapsed(current, now):
        return _try(deps, current, lambda r: sessions_owed.given_up(r, deps.clock()),
                    {"role_arn": current.role_arn, "reason": "the target account never took the cut; every session "
                                                             "it would have cut has ended"})
    change = owed_change(deps, current)
    if change is None:
        return _set_pending(deps, current, False)
    refused: list[str] = []
    if write(deps, current, "retry", change, refused):
        return _set_pending(deps, current, False)
    wait = schedule.guard_retry_wait(current.guard_retries + 1)
    return _try(deps, current, lambda r: sessions_owed.still_pending(r, deps.clock()),
                {"role_arn": current.role_arn, "reason": refused[0] if refused else "",
                 "retry_in_seconds": int(wait.total_seconds())})


def restore(deps: Deps, request: AccessRequest) -> bool:
    """Drift: a cut missing from the session guard (someone deleted it, or a write was lost) is written again."""
    current = deps.store.get(request.id)
    if current.guard_pending:  # the sweeper's retry owns it
        return False
    if current.version != request.version:  # changed since the caller found the cut missing: check it again
        return False
    change = owed_change(deps, current)
    if change is None or not write(deps, current, "drift", change):
        return False
    funnel.record_repair(deps, current, current.id, "session_guard_restored", {"role_arn": current.role_arn})
    return True


def prune(deps: Deps, request: AccessRequest) -> None:
    """An ended grant's cut lapsed: its role's guard drops every cut that can no longer match a session (nothing
    else writes a guard while nobody is granted the role). A guard that cannot be had now is pruned later."""
    if deps.sessions is None:
        return
    try:
        deps.sessions.prune(request.account, request.role_arn)
    except GuardPending as exc:
        log.warning("session guard of %s not pruned yet: %s", request.role_arn, exc)


def other_live_end(deps: Deps, ended: AccessRequest) -> datetime | None:
    """The latest end of the same person's other live grants on the same role: their sessions keep an expiry cut.
    Reads the person's requests newest first, back to the oldest that could still hold a live grant."""
    oldest = deps.clock() - timedelta(seconds=max(
        (p.approval_timeout + p.max_duration for p in deps.catalog.profiles.values()), default=0))
    ends: list[datetime] = []
    cursor: str | None = None
    while True:
        page = deps.store.by_requester(ended.requester, _PAGE, cursor)
        ends += [r.grant.expires_at for r in page.items if r.id != ended.id and r.state == State.ACTIVE
                 and r.role_arn == ended.role_arn and r.grant]
        if page.next is None or not page.items or page.items[-1].created_at < oldest:
            return max(ends, default=None)
        cursor = page.next


def _set_pending(deps: Deps, request: AccessRequest, pending: bool) -> AccessRequest:
    if request.guard_pending == pending:
        return request
    return _try(deps, request, lambda r: r.guarded(pending, deps.clock()), {"role_arn": request.role_arn})


def _try(deps: Deps, request: AccessRequest, decide: funnel.Decide, details: dict[str, object]) -> AccessRequest:
    """A guard bookkeeping transition; another run that changed the request first wins."""
    try:
        return funnel.transition(deps, request.id, decide, SYSTEM_CALLER, dict(details), current=request)
    except Conflict:
        return deps.store.get(request.id)


def _statements(guard: Guard) -> int:
    policy = guard.policy()
    return len(policy["Statement"]) if policy else 0
