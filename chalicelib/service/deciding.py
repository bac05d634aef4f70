"""Deciding a request: approve, deny, cancel, and the timeout of one nobody decided. A decision on an active grant
with an extension open answers the extension's round (extending.py); one that names a round (domain/rounds.py)
answers that round or nothing."""
from __future__ import annotations

from chalicelib import access_rules as rules
from chalicelib.access_rules import Caller
from chalicelib.domain.commands import Decision
from chalicelib.domain.errors import Conflict
from chalicelib.domain.requests import AccessRequest, State, Transition
from chalicelib.domain.rounds import require_round
from chalicelib.domain.times import rfc3339
from chalicelib.service import extending, funnel, granting, queries
from chalicelib.service.deps import SYSTEM_CALLER, Deps


def decide(deps: Deps, caller: Caller, decision: Decision) -> AccessRequest:
    person = rules.person_of(caller)
    current = queries.acted_on(deps, caller, decision.request_id)  # read once: picks the round, starts the write
    _refuse_if_timed_out(deps, current)
    require_round(current, decision.round)  # a Slack button or job made for a round that has closed decides nothing
    if _extension_open(current):  # an active grant asking to last longer: its own approval round
        return extending.decide(deps, caller, decision, current=current)

    def decided(request: AccessRequest) -> Transition:
        rules.require_approver(deps.catalog, person, request)
        require_round(request, decision.round)
        if decision.approve:
            return request.approve(person.id, deps.clock(), decision.comment)
        return request.deny(person.id, deps.clock(), decision.comment)

    request = funnel.transition(deps, decision.request_id, decided, caller, {"comment": decision.comment},
                                current=current)
    return granting.apply(deps, request) if request.state == State.APPROVED else request


def cancel(deps: Deps, caller: Caller, request_id: str) -> AccessRequest:
    person = rules.person_of(caller)
    current = queries.acted_on(deps, caller, request_id)
    return funnel.transition(deps, request_id, lambda r: r.cancel(person.id, deps.clock()), caller, current=current)


def time_out(deps: Deps, request: AccessRequest) -> AccessRequest:
    return funnel.transition(deps, request.id, lambda r: r.time_out(deps.clock()), SYSTEM_CALLER, current=request)


def _refuse_if_timed_out(deps: Deps, request: AccessRequest) -> None:
    """A decision after `approval_timeout` is refused at once (and the request recorded timed out), not accepted
    until the next sweep happens to time it out."""
    if request.state != State.PENDING or deps.clock() < funnel.timeout_at(deps, request):
        return
    try:
        time_out(deps, request)
    except Conflict:
        pass  # someone else recorded it (or decided) first
    raise Conflict(f"request {request.id} timed out at {rfc3339(funnel.timeout_at(deps, request))} waiting for "
                   f"approval; ask for access again", state=State.TIMED_OUT.value)


def _extension_open(request: AccessRequest) -> bool:
    """An active grant asking to last longer: approve and deny answer its round, not the original one."""
    return request.state == State.ACTIVE and request.extension is not None
