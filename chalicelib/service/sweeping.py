"""The sweeper: what is due for each request read from the `due` index (reminders, warnings, timeouts, expiry,
grants left half-applied, session-guard retries, cuts that lapsed), then drift repair, then failed notifications
sent again. Reads only due items (a key condition on the index), and each step re-checks the stored request (a
version condition), so a stale index entry or a twin sweeper changes nothing."""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from chalicelib import audit_log
from chalicelib.domain.errors import Conflict
from chalicelib.domain.events import EventKind
from chalicelib.domain.requests import AccessRequest, State, Transition
from chalicelib.domain.schedule import CUT_STANDS, GUARD_DUE
from chalicelib.domain.times import rfc3339
from chalicelib.service import cuts, deciding, funnel, granting
from chalicelib.service.deps import SYSTEM_CALLER, Deps
from chalicelib.service.directory import Refreshed
from chalicelib.service.drift import repair_drift
from chalicelib.service.funnel import Decide

log = logging.getLogger(__name__)
GUARD_STILL_PENDING = EventKind.SESSION_GUARD_PENDING  # what a sweep did when the target account still refused it
# Approved first: a grant left half-applied by a crash is finished (or ended) before anything else; then ended
# grants whose session guard is still owed (the target account did not take it yet).
_DUE_STATES: tuple[State | str, ...] = (State.APPROVED, GUARD_DUE, State.ACTIVE, State.PENDING, CUT_STANDS)


@dataclass
class SweepReport:
    done: Counter[str] = field(default_factory=Counter)  # what was done -> how many: expired, reminder_sent, ...
    repaired: list[str] = field(default_factory=list)  # drift repairs, as recorded in `drift_repaired` events
    errors: int = 0

    def count_refresh(self, refreshed: Refreshed) -> None:
        """The directory's refresh: done or failed (an error until one succeeds), and the notices it carries."""
        self.done["directory_refresh_failed" if refreshed.failed else "directory_refreshed"] += 1
        if refreshed.notices:
            self.done["directory_notices"] += refreshed.notices
        self.errors += bool(refreshed.failed)

    def __bool__(self) -> bool:
        return bool(self.done or self.repaired or self.errors)

    def __str__(self) -> str:
        parts = [f"{count} {what}" for what, count in sorted(self.done.items())]
        parts += [f"{len(self.repaired)} drift repaired"] if self.repaired else []
        parts += [f"{self.errors} errors (retried next pass)"] if self.errors else []
        return ", ".join(parts) or "nothing due"


def sweep(deps: Deps, repair: bool = True, refreshed: Refreshed | None = None) -> SweepReport:
    """One pass: do what is due, then repair drift, then resend failed notifications. `refreshed`: what this pass's
    directory refresh did (service/directory.py), counted in its summary."""
    now = deps.clock()
    report = SweepReport()
    if refreshed is not None:
        report.count_refresh(refreshed)
    for state in _DUE_STATES:
        for request in deps.store.due(state, now):
            try:
                done = sweep_due(deps, request)
                report.done[done] += 1
                if done == GUARD_STILL_PENDING:  # open sessions are not cut yet: an error until the write lands
                    log.error("sweep: session guard of request %s still pending; retrying next pass", request.id)
                    report.errors += 1
            except Conflict:  # someone else changed it first (a revoke, an approval): theirs, not an error
                continue
            except Exception:  # one bad item must not stop the pass; it stays due and is retried next pass
                log.exception("sweep: request %s (%s) not handled; retrying next pass", request.id, request.state.value)
                report.errors += 1
    if repair:
        try:
            report.repaired = repair_drift(deps)
        except Exception:  # IAM unreachable past its retries: the due work above is done; repair next pass
            log.exception("sweep: drift repair failed; trying again next pass")
            report.errors += 1
    resent = deps.notifier.resend_due(now)
    if resent:
        report.done["notification_resent"] += len(resent)
    audit_log.sweep_pass(report.done, len(report.repaired), report.errors, now)
    return report


def sweep_due(deps: Deps, request: AccessRequest) -> str:
    """Does what is due for one request read from the due index; returns what that was."""
    now = deps.clock()
    if request.guard_pending:
        request = cuts.retry(deps, request)
        if request.ended or request.guard_pending or (request.due_at and now < request.due_at):
            if request.cut_lapsed and not request.guard_pending:
                return EventKind.SESSION_CUT_LAPSED  # owed no more: the account never took it in time
            return GUARD_STILL_PENDING if request.guard_pending else "session_guard_written"
    if request.ended:  # its cut can no longer match a session: drift repair stops checking it
        lapsed = funnel.transition(deps, request.id, lambda r: r.lapse_cut(deps.clock()), SYSTEM_CALLER,
                                   current=request)
        cuts.prune(deps, lapsed)
        return EventKind.SESSION_CUT_LAPSED
    if request.state == State.PENDING:
        if now >= funnel.timeout_at(deps, request):
            return deciding.time_out(deps, request).state.value
        return _nudge(deps, request, lambda r: r.remind(now), {
            "approvers": sorted(funnel.profile(deps, request.profile).approvers),
            "timeout_at": rfc3339(funnel.timeout_at(deps, request))})
    if request.grant and now >= request.grant.expires_at:  # active, or approved but never applied
        return granting.expire(deps, request).state.value
    if request.state == State.APPROVED:
        return granting.apply(deps, request).state.value
    assert request.grant is not None, "only an active grant is due for its warning"
    return _nudge(deps, request, lambda r: r.warn(now), {
        "expires_at": rfc3339(request.grant.expires_at), "extendable": deps.catalog.extendable(request.profile)})


def _nudge(deps: Deps, request: AccessRequest, decide: Decide, details: dict[str, Any]) -> str:
    """A once-only message (reminder, warning): the flag and its event are written together, and only
    when the stored request still says it is due."""
    done: list[EventKind] = []

    def due_now(current: AccessRequest) -> Transition:
        if current.due_at is None or deps.clock() < current.due_at:
            raise Conflict(f"nothing is due for request {current.id} yet")
        changed = decide(current)
        done.append(changed.kind)
        return changed

    funnel.transition(deps, request.id, due_now, SYSTEM_CALLER, details, current=request)
    return done[-1]
