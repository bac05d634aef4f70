"""What a grant still owes its open sessions when AWS will not do its part, as transitions. Pure.

- A session-guard write the target account will not take (its guard role missing, or refusing): the sweeper retries
  it with a growing wait, and stops owing it once the cut has lapsed, saying so once.
- A detach IAM refused on an ended grant: sessions may open until its end, and the request says so."""
from __future__ import annotations

import dataclasses
from datetime import datetime

from chalicelib.domain.errors import Conflict
from chalicelib.domain.events import EventKind
from chalicelib.domain.requests import AccessRequest, Transition
from chalicelib.domain.schedule import cut_lapses_at


def lapsed(request: AccessRequest, now: datetime) -> bool:
    """Whether the cut an ended request owes could no longer match a session: nothing is left to cut."""
    return request.ended and request.sessions_cut_at is not None and now >= cut_lapses_at(request.sessions_cut_at)


def still_pending(request: AccessRequest, now: datetime) -> Transition:
    """Another retry the target account refused: the next one waits longer (schedule.guard_retry_wait)."""
    if not request.guard_pending:
        raise Conflict(f"the session guard of request {request.id} is not pending")
    return Transition(dataclasses.replace(request, updated_at=now, guard_retries=request.guard_retries + 1),
                      EventKind.SESSION_GUARD_PENDING)


def given_up(request: AccessRequest, now: datetime) -> Transition:
    """The ended request's cut lapsed before the target account ever took it: no longer owed (one event)."""
    if not request.guard_pending or not lapsed(request, now):
        raise Conflict(f"request {request.id} still owes its session guard a write")
    return Transition(dataclasses.replace(request, updated_at=now, guard_pending=False, cut_lapsed=True),
                      EventKind.SESSION_CUT_LAPSED)


def detach_unconfirmed(request: AccessRequest, now: datetime) -> Transition:
    """IAM would not detach the ended grant's policy yet: sessions may open until its end (drift detaches it)."""
    if not request.ended or request.detach_pending:
        raise Conflict(f"request {request.id} has no detach to wait for")
    return Transition(dataclasses.replace(request, updated_at=now, detach_pending=True), EventKind.CLEANUP_PENDING)


def detach_confirmed(request: AccessRequest, now: datetime, cut_in_force_at: datetime | None) -> Transition:
    """Drift removed the policy IAM had refused to detach: no session opens any more, and the revoke's cut, moved to
    now, is in force at `cut_in_force_at` (None: the target account did not take it, and it is owed)."""
    if not request.detach_pending:
        raise Conflict(f"request {request.id} has no detach to wait for")
    return Transition(dataclasses.replace(request, updated_at=now, detach_pending=False,
                                          cut_in_force_at=cut_in_force_at,
                                          guard_pending=request.guard_pending or cut_in_force_at is None),
                      EventKind.DRIFT_REPAIRED)
