"""The one write funnel under every use case: a state change (`transition`), a note beside it, the notification
that follows, and when the request is next due. Nothing above writes a request any other way.

`transition` reads (or takes the caller's fresh read), lets the domain decide, writes on condition that nobody
changed the request meanwhile, and decides again on a lost race."""
from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Any, Callable

from chalicelib import access_rules as rules
from chalicelib.access_rules import Caller
from chalicelib.domain import schedule
from chalicelib.domain.catalog import Profile
from chalicelib.domain.errors import Conflict
from chalicelib.domain.events import SYSTEM, EventKind
from chalicelib.domain.requests import AccessRequest, Event, Transition
from chalicelib.ports import StaleWrite
from chalicelib.service.deps import Deps

log = logging.getLogger(__name__)
_RETRIES = 8
Decide = Callable[[AccessRequest], Transition]


def transition(deps: Deps, request_id: str, decide: Decide, caller: Caller, details: dict[str, Any] | None = None,
               current: AccessRequest | None = None) -> AccessRequest:
    """Read (or take `current`), let the domain decide, write on condition that nobody changed the request meanwhile,
    with the event the domain named; re-read and decide again on a lost race."""
    for _ in range(_RETRIES):
        before = current or deps.store.get(request_id)
        current = None  # after a lost race, always re-read
        after, kind = decide(before)
        after = dataclasses.replace(after, due_at=due(deps, after))
        event = Event(request_id, before.version + 1, kind, after.updated_at or deps.clock(),
                      caller.actor, caller.channel, details or {})
        try:
            stored = deps.store.transition(before, after, event)
        except StaleWrite:
            continue
        notify(deps, stored, event)
        return stored
    raise Conflict(f"request {request_id} is changing too quickly; try again")


def note(deps: Deps, request: AccessRequest, kind: EventKind, details: dict[str, Any]) -> Event:
    """Records what the broker itself did or saw beside a request's state (a failure, a repair): no state change."""
    event = Event(request.id, request.version, kind, deps.clock(), SYSTEM, "system", details)
    deps.store.note(event, request.profile)
    return event


def notify(deps: Deps, request: AccessRequest, event: Event) -> None:
    try:
        deps.notifier.notify(request, event)
    except Exception as exc:  # a notification never undoes or blocks a state change
        log.warning("notification for request %s (%s) failed: %s", request.id, event.kind, type(exc).__name__)
        note(deps, request, EventKind.NOTIFY_FAILED, {"event": event.kind, "error": type(exc).__name__})


def alert(deps: Deps, text: str) -> None:
    """Tells the security channel (the notifier, when it can; the log always)."""
    log.error("security alert: %s", text)
    try:
        deps.notifier.alert(text)
    except Exception as exc:  # an alert never undoes a repair
        log.warning("security alert not sent: %s", type(exc).__name__)


def record_repair(deps: Deps, request: AccessRequest | None, request_id: str, action: str,
                  details: dict[str, Any]) -> None:
    """A `drift_repaired` event (on the request, when there is one, and told to its people)."""
    event = Event(request_id, request.version if request else 0, EventKind.DRIFT_REPAIRED, deps.clock(), SYSTEM,
                  "system", {"action": action, **details})
    deps.store.note(event, request.profile if request else "")
    if request:
        notify(deps, request, event)


def due(deps: Deps, request: AccessRequest) -> datetime | None:
    """Works from what the request recorded when its profile has left the catalog: a pending one times out at
    once, a grant still ends at its recorded end."""
    profile = deps.catalog.profiles.get(request.profile)
    if profile is None:
        return schedule.next_due(request, 0, 0)
    return schedule.next_due(request, profile.approval_timeout, profile.reminder_after)


def timeout_at(deps: Deps, request: AccessRequest) -> datetime:
    profile = deps.catalog.profiles.get(request.profile)
    return schedule.timeout_at(request, profile.approval_timeout if profile else 0)


def profile(deps: Deps, name: str) -> Profile:
    return rules.profile_of(deps.catalog, name)
