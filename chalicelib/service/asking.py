"""Asking for access: a new pending request, or with break-glass, a grant at once (reviewed afterwards)."""
from __future__ import annotations

import dataclasses

from chalicelib import access_rules as rules
from chalicelib.access_rules import Caller
from chalicelib.domain.commands import Ask
from chalicelib.domain.errors import Conflict, Forbidden
from chalicelib.domain.events import EventKind
from chalicelib.domain.requests import AccessRequest, Event, State
from chalicelib.ports import Exclusive, IdempotencyClaim, IdempotentReplay
from chalicelib.service import funnel, granting
from chalicelib.service.deps import Deps


def ask(deps: Deps, caller: Caller, asked: Ask, idempotency: IdempotencyClaim | None = None) -> AccessRequest:
    """A new pending request; with `break_glass` on a break-glass profile, active at once without approval
    (its one event, `break_glass_activated`, is flagged for review and announced to the approval and security
    channels by the notifier)."""
    catalog = deps.catalog
    person = rules.requester_of(catalog, caller, asked.requester)
    chosen = rules.requestable(catalog, person, asked.profile)
    seconds = rules.duration_for(chosen, asked.duration)
    reason = rules.reason_of(asked.reason)
    on_behalf = asked.requester is not None
    if asked.break_glass:
        rules.allow_break_glass(chosen, reason)
        if on_behalf:
            raise Forbidden("break-glass is for the person in trouble to ask themselves: a trusted tool may not "
                            "use it on someone's behalf; request normal access for them instead")
    now = deps.clock()
    assert person.iam_user, "requester_of refuses a person without an IAM user"  # pragma: no mutate (its message)
    request = AccessRequest(
        id=deps.new_id(now), profile=chosen.name, requester=person.id, requester_iam_user=person.iam_user,
        account=chosen.account, role_arn=chosen.role_arn, reason=reason, duration_seconds=seconds,
        approvals_required=chosen.approvals_required, created_at=now, updated_at=now,
        requested_by_tool=caller.principal if on_behalf else None, break_glass=asked.break_glass)
    kind = EventKind.CREATED
    if asked.break_glass:
        request, kind = request.break_glass_approve(now)
    request = dataclasses.replace(request, due_at=funnel.due(deps, request))
    details = {"profile": chosen.name, "duration_seconds": seconds, "reason": reason,
               **({"requested_by_tool": caller.principal} if on_behalf else {})}
    if asked.break_glass:
        details.update(review=True, approval_channel=chosen.approval_channel,
                       security_channel=catalog.security_channel)
    event = Event(request.id, 1, kind, now, caller.actor, caller.channel, details)
    # One live break-glass grant per person and profile: a condition of the write, not a read before it.
    exclusive = (granting.break_glass_name(request), request.grant.expires_at) \
        if asked.break_glass and request.grant else None
    try:
        stored = deps.store.create(request, event, idempotency, exclusive=exclusive)
    except IdempotentReplay:  # the key was claimed first (a retry, or a twin racing us): that request is the answer
        assert idempotency is not None, "only a claim is replayed"
        first = deps.store.claimed(idempotency)
        assert first is not None, "a replayed claim names its request"
        return first
    except Exclusive as taken:
        holder = deps.store.holder(taken.name)
        raise Conflict(f"{person.id} already has a live break-glass grant of profile {chosen.name}"
                       f"{f' (request {holder})' if holder else ''}; use it, or revoke it first") from None
    funnel.notify(deps, stored, event)
    if stored.state == State.APPROVED:
        return granting.apply(deps, stored)
    if caller.channel != "slack" and chosen.auto_approve is not None:  # Slack answers first (its worker's on_call)
        from chalicelib.service import auto_approving  # imported where used: off the path of other profiles

        return auto_approving.consider(deps, stored)
    return stored
