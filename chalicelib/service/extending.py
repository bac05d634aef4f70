"""Extensions: an active grant asks to last longer, in a new approval round (or at once where the profile's
extension.auto_approve says so); never beyond the profile's max_duration in total. IAM moves first, then the
record: if the record fails, the stored expiry is the earlier one and the sweeper ends the grant then."""
from __future__ import annotations

import dataclasses
from typing import Any

from chalicelib import access_rules as rules
from chalicelib.access_rules import Caller
from chalicelib.domain.commands import Decision, ExtensionAsk
from chalicelib.domain.durations import parse_duration
from chalicelib.domain.errors import Forbidden, Unavailable, Unprocessable
from chalicelib.domain.requests import AccessRequest, Transition
from chalicelib.domain.rounds import require_round
from chalicelib.domain.times import rfc3339
from chalicelib.ports import GrantError
from chalicelib.service import cuts, funnel, granting, queries
from chalicelib.service.deps import Deps
from chalicelib.service.funnel import Decide


def ask(deps: Deps, caller: Caller, asked: ExtensionAsk) -> AccessRequest:
    person = rules.person_of(caller)
    if asked.duration is None:
        raise Unprocessable("duration is required: how much longer, like `30m` or `1h`", field="duration")
    seconds = parse_duration(asked.duration)
    current = queries.acted_on(deps, caller, asked.request_id)

    def decide_round(request: AccessRequest) -> Transition:
        profile = funnel.profile(deps, request.profile)
        if not profile.extension_allowed:
            raise Forbidden(f"profile {profile.name} does not allow extensions; request access again once "
                            f"this grant ends")
        return request.request_extension(person.id, seconds, profile.max_duration, deps.clock(),
                                         profile.extension_auto_approve)

    return _step(deps, asked.request_id, decide_round, caller, {"duration_seconds": seconds}, current=current)


def decide(deps: Deps, caller: Caller, decision: Decision, current: AccessRequest | None = None) -> AccessRequest:
    person = rules.person_of(caller)

    def decided(request: AccessRequest) -> Transition:
        rules.require_approver(deps.catalog, person, request)
        require_round(request, decision.round)  # read afresh on a retry: another extension may have been asked since
        if not decision.approve:
            return request.deny_extension(person.id, deps.clock())
        return request.approve_extension(person.id, deps.clock(), funnel.profile(deps, request.profile).max_duration)

    return _step(deps, decision.request_id, decided, caller, {"comment": decision.comment}, current=current)


def _step(deps: Deps, request_id: str, decide_round: Decide, caller: Caller, details: dict[str, Any],
          current: AccessRequest | None = None) -> AccessRequest:
    """One step of an extension's round; when it moves the grant's end, the new expiry cut and the policy's new end
    are written before the record."""
    def decide_and_apply(before: AccessRequest) -> Transition:
        after, kind = decide_round(before)
        if before.grant and after.grant and after.grant.expires_at != before.grant.expires_at:
            old, end = before.grant, after.grant.expires_at  # the new expiry cut first: the old would cut sessions
            written = cuts.write(deps, after, "extension", lambda g, now: g.ending(after.requester_iam_user, end, now))
            details["session_guard"] = "written" if written else "pending"
            if not written:
                after = dataclasses.replace(after, guard_pending=True)
            try:
                deps.grants.set_expiry(after.id, after.role_arn, end)
            except GrantError as exc:
                raise Unavailable(f"{exc}; the grant still ends at {rfc3339(old.expires_at)}, try again") from None
            grant = after.grant
            assert grant is not None
            after = dataclasses.replace(after, grant=dataclasses.replace(
                grant, console_url=granting.console_url(deps, after.id, end)))
            details["expires_at"] = rfc3339(end)
        return Transition(after, kind)

    return funnel.transition(deps, request_id, decide_and_apply, caller, details, current=current)
