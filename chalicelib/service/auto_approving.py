"""On-call auto-approval: a new pending request whose requester is on call now in one of the profile's PagerDuty
schedules is approved by no human and granted like any other; otherwise it stays with people, and an
`auto_approve_skipped` event says why. Loud by design: the notifier tells the approval and security channels.

Over HTTP the create call waits for it (PagerDuty's 2 s budget at most); in Slack it runs after the answer, in the
worker. Each request asks PagerDuty afresh; at most one live auto-approved grant per person and profile (a
conditional claim, released when the grant ends)."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.access_rules import Caller
from chalicelib.domain.errors import Conflict
from chalicelib.domain.on_call import AutoApproved, AutoApproveSkipped, SkipReason
from chalicelib.domain.requests import ON_CALL, AccessRequest, State
from chalicelib.service import funnel, granting
from chalicelib.service.deps import Deps

ON_CALL_CALLER = Caller(ON_CALL, None, "system")


def consider(deps: Deps, request: AccessRequest) -> AccessRequest:
    """The request as it stands after on-call auto-approval was considered (active when it applied)."""
    profile = deps.catalog.profiles.get(request.profile)
    person = deps.catalog.people.get(request.requester)
    if deps.on_call is None or profile is None or profile.auto_approve is None or person is None \
            or request.state != State.PENDING or request.break_glass:
        return request
    if request.requested_by_tool:
        return _skipped(deps, request, AutoApproveSkipped(
            SkipReason.ON_BEHALF, "asked by a trusted tool on the requester's behalf: on-call auto-approval is for "
                                  "the person on call asking themselves"))
    name = granting.on_call_name(request)
    holder = deps.store.holder(name)
    decision = deps.on_call.consider(profile, person, request.duration_seconds,
                                     holder if holder and holder != request.id else None)
    if decision is None:
        return request
    if isinstance(decision, AutoApproveSkipped):
        return _skipped(deps, request, decision)
    return _approved(deps, request, decision)


def _approved(deps: Deps, request: AccessRequest, decision: AutoApproved) -> AccessRequest:
    now = deps.clock()
    profile = deps.catalog.profiles[request.profile]
    until = now + timedelta(seconds=profile.max_duration)  # the longest the grant can live, extensions included
    name = granting.on_call_name(request)
    if not deps.store.claim(name, request.id, until, now):  # a twin request was auto-approved meanwhile
        return _skipped(deps, request, AutoApproveSkipped(
            SkipReason.ALREADY_LIVE, f"request {deps.store.holder(name)} is already a live auto-approved grant of "
                                     f"this profile"))
    found = decision.on_call
    details = {"schedule": found.schedule, "pagerduty_user": found.pagerduty_user, "profile": request.profile,
               "duration_seconds": request.duration_seconds, "reason": request.reason,
               "approval_channel": profile.approval_channel, "security_channel": deps.catalog.security_channel}
    try:
        approved = funnel.transition(deps, request.id, lambda r: r.auto_approve(
            deps.clock(), found.schedule, found.pagerduty_user), ON_CALL_CALLER, details)
    except Conflict:  # decided (or cancelled) by someone while PagerDuty answered: theirs
        deps.store.release(name, request.id)
        return deps.store.get(request.id)
    return granting.apply(deps, approved)


def _skipped(deps: Deps, request: AccessRequest, skipped: AutoApproveSkipped) -> AccessRequest:
    """Recorded after the request's creation, in its trail's order (a transition that changes nothing else)."""
    try:
        return funnel.transition(deps, request.id, lambda r: r.skip_auto_approval(deps.clock()), ON_CALL_CALLER,
                                 skipped.details(), current=request)
    except Conflict:  # decided meanwhile: nothing to record
        return deps.store.get(request.id)
