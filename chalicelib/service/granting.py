"""A grant's life in IAM: applied (approved -> active), ended (revoked, expired, failed) and, for drift, applied
again. The order keeps drift repairable: the expiry cut before the attach, the attach before recording `active`;
the end recorded (with its cut) before the detach."""
from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Any

from chalicelib.access_rules import Caller, person_of
from chalicelib.domain import sessions_owed
from chalicelib.domain.errors import Conflict, Forbidden
from chalicelib.domain.events import SYSTEM, EventKind
from chalicelib.domain.requests import AccessRequest, State, Transition
from chalicelib.domain.switch_role import switch_role_url
from chalicelib.domain.times import rfc3339
from chalicelib.ports import GrantError
from chalicelib.service import cuts, funnel, queries
from chalicelib.service.deps import SYSTEM_CALLER, Deps
from chalicelib.service.funnel import Decide

log = logging.getLogger(__name__)


def apply(deps: Deps, request: AccessRequest) -> AccessRequest:
    """Approved -> active: attach the grant policy, then record it. Safe to re-run; a failure in IAM
    ends the request `failed` with nothing left attached."""
    planned = request.grant
    assert planned is not None, "an approved request carries its planned grant"
    if request.profile not in deps.catalog.profiles:  # removed while the grant waited to be applied
        reason = f"profile {request.profile} was removed from the catalog before the grant was applied"
        return end(deps, request.id, lambda r: r.fail(reason, deps.clock()), SYSTEM_CALLER,
                   current=request, details={"reason": reason})
    link = console_url(deps, request.id, planned.expires_at)  # before IAM: an unreadable key changes nothing
    # The expiry cut is written before the grant policy is attached: no session exists without its cut.
    guarded = cuts.write(deps, request, "grant", lambda g, now: g.granted(
        request.requester_iam_user, planned.expires_at, now))
    try:
        arn = deps.grants.apply(request.id, request.requester_iam_user, request.role_arn, planned.expires_at)
    except GrantError as exc:
        reason = str(exc)
        cleanup(deps, request)
        failed = funnel.transition(deps, request.id, lambda r: r.fail(reason, deps.clock()), SYSTEM_CALLER,
                                   {"reason": reason}, current=request)
        release_exclusive(deps, failed)
        return failed
    grant = dataclasses.replace(
        planned, policy_arn=arn, switch_role_url=switch_role_url(deps.catalog, funnel.profile(deps, request.profile)),
        console_url=link, usable_at=deps.clock() + deps.propagation)

    def activate(r: AccessRequest) -> Transition:
        active, kind = r.activate(grant, deps.clock())
        return Transition(dataclasses.replace(active, guard_pending=not guarded), kind)

    try:
        return funnel.transition(deps, request.id, activate, SYSTEM_CALLER,
                                 {"policy_arn": arn, "expires_at": rfc3339(grant.expires_at),
                                  "session_guard": "written" if guarded else "pending"}, current=request)
    except Conflict:
        current = deps.store.get(request.id)
        if current.state == State.ACTIVE:  # a twin run (the sweeper's retry) activated this same policy
            return current
        cleanup(deps, request)  # revoked or failed while IAM was busy: take the policy away again
        return current


def revoke(deps: Deps, caller: Caller, request_id: str) -> AccessRequest:
    person = person_of(caller)

    def decide(request: AccessRequest) -> Transition:
        # From what the request recorded when its profile has left the catalog: its approvers still may.
        profile = deps.catalog.profiles.get(request.profile)
        approvers = profile.approvers if profile else {a.by for a in request.approvals}
        if person.id != request.requester and person.id not in approvers:
            raise Forbidden("only the requester or an approver of the profile can revoke a grant")
        return request.end(State.REVOKED, person.id, deps.clock())

    return end(deps, request_id, decide, caller, current=queries.acted_on(deps, caller, request_id))


def expire(deps: Deps, request: AccessRequest) -> AccessRequest:
    def decide(current: AccessRequest) -> Transition:
        now = deps.clock()
        if current.grant and now < current.grant.expires_at:  # extended since the sweeper read it
            raise Conflict(f"the grant of request {current.id} now ends at {rfc3339(current.grant.expires_at)}")
        return current.end(State.EXPIRED, SYSTEM, now)

    return end(deps, request.id, decide, SYSTEM_CALLER, current=request)


def restore(deps: Deps, request: AccessRequest) -> str | None:
    """Drift: an active grant whose policy is gone is re-applied; if IAM refuses, it ends `failed`."""
    current = deps.store.get(request.id)  # the index may lag: act only on what is stored now
    if current.state != State.ACTIVE or not current.grant or deps.clock() >= current.grant.expires_at:
        return None
    try:
        deps.grants.apply(current.id, current.requester_iam_user, current.role_arn, current.grant.expires_at)
    except GrantError as exc:
        reason = str(exc)
        end(deps, current.id, lambda r: r.fail(reason, deps.clock()), SYSTEM_CALLER, current=current,
            details={"reason": reason, "drift": "grant policy missing"})
        return "marked failed"
    if deps.store.get(current.id).state != State.ACTIVE:  # ended while we re-applied: take it away again
        cleanup(deps, current)
        return None
    funnel.record_repair(deps, current, current.id, "grant_policy_restored",
                         {"policy_arn": deps.grants.policy_arn(current.id)})
    return "re-applied"


def end(deps: Deps, request_id: str, decide: Decide, caller: Caller, current: AccessRequest | None = None,
        details: dict[str, Any] | None = None) -> AccessRequest:
    """Records the end first, then removes the policy: if removal fails, the sweeper's drift repair
    finds a policy with no active grant and removes it; the opposite order could leave a grant
    recorded active with no policy."""
    details = dict(details or {})

    def decide_and_cut(before: AccessRequest) -> Transition:
        """The end reaches open sessions before it is recorded, so a revoke answers with its cut in place. An approved
        grant may already be attached (its run has not recorded it yet): it owes a cut as an active one does."""
        ended, kind = decide(before)
        if before.state == State.APPROVED and ended.grant and not ended.grant.policy_arn:
            ended = dataclasses.replace(ended, grant=dataclasses.replace(
                ended.grant, policy_arn=deps.grants.policy_arn(ended.id)))
        if not cuts.owes_end_cut(ended):
            return Transition(ended, kind)
        written = cuts.write(deps, ended, ended.state.value, cuts.end_change(deps, ended))
        details["session_guard"] = "written" if written else "pending"
        in_force = deps.clock() + deps.propagation if written else None
        return Transition(dataclasses.replace(ended, guard_pending=not written, cut_in_force_at=in_force), kind)

    ended = funnel.transition(deps, request_id, decide_and_cut, caller, details, current=current)
    refused = cleanup(deps, ended, note=False)
    if refused is not None and (ended.state == State.EXPIRED or not ended.sessions_may_exist or not ended.grant):
        # past its end the policy's own deadline lets no session open: only the cleanup is owed (drift does it)
        funnel.note(deps, ended, EventKind.CLEANUP_PENDING, {"reason": refused})
    elif refused is not None and ended.grant:
        # Sessions may still open until drift detaches it: the grant's own expiry cut goes back (the revoke's cut
        # covers those opened within its margin, long enough for this), and the request says so.
        user, end = ended.requester_iam_user, ended.grant.expires_at
        kept = cuts.write(deps, ended, "detach", lambda g, now: g.ending(user, end, now))
        ended = funnel.transition(deps, ended.id, lambda r: sessions_owed.detach_unconfirmed(r, deps.clock()),
                                  SYSTEM_CALLER, {"reason": refused, "session_guard": "written" if kept else "pending"},
                                  current=ended)
    release_exclusive(deps, ended)
    return ended


def cleanup(deps: Deps, request: AccessRequest, note: bool = True) -> str | None:
    """Detaches and deletes the request's grant policy; what IAM refused, if it did (noted, unless the caller
    records it itself). Drift repair removes it later."""
    try:
        deps.grants.remove(deps.grants.policy_arn(request.id), request.requester_iam_user)
    except GrantError as exc:
        log.warning("grant policy of request %s not removed yet (the sweeper retries): %s", request.id, exc)
        if note:
            funnel.note(deps, request, EventKind.CLEANUP_PENDING, {"reason": str(exc)})
        return str(exc)
    return None


def console_url(deps: Deps, request_id: str, expires_at: datetime) -> str:
    return f"{deps.public_url}/v1/console/{deps.tokens.sign(request_id, expires_at)}"


def break_glass_name(request: AccessRequest) -> str:
    """The exclusive name that holds one live break-glass grant per person and profile."""
    return f"break-glass#{request.requester}#{request.profile}"


def on_call_name(request: AccessRequest) -> str:
    """The exclusive name that holds one live auto-approved grant per person and profile."""
    return f"on-call#{request.requester}#{request.profile}"


def release_exclusive(deps: Deps, ended: AccessRequest) -> None:
    """An ended grant gives up the name it held: break-glass, or on-call auto-approval."""
    if ended.break_glass:
        deps.store.release(break_glass_name(ended), ended.id)
    if ended.auto_approved:
        deps.store.release(on_call_name(ended), ended.id)
