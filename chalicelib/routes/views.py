"""How requests and events look in JSON: RFC 3339 UTC times, one shape for the API and the audit export."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.requests import ON_CALL, AccessRequest, Approval, Event
from chalicelib.domain.times import rfc3339


def request_view(request: AccessRequest) -> dict[str, Any]:
    grant = request.grant if request.grant and request.grant.policy_arn else None
    return {
        "id": request.id,
        "state": request.state.value,
        "profile": request.profile,
        "account": request.account,
        "role_arn": request.role_arn,
        "requester": {"id": request.requester, "iam_user": request.requester_iam_user},
        "requested_by_tool": request.requested_by_tool,
        "break_glass": request.break_glass,
        "reason": request.reason,
        "duration_seconds": request.duration_seconds,
        "approvals_required": request.approvals_required,
        "approvals": [_approval(a) for a in request.approvals],
        "decided_by": request.decided_by,
        "decision_comment": request.decision_comment,
        "failure_reason": request.failure_reason or None,
        "created_at": rfc3339(request.created_at),
        "updated_at": rfc3339(request.updated_at or request.created_at),
        "grant": None if grant is None else {
            "role_arn": grant.role_arn, "policy_arn": grant.policy_arn, "starts_at": rfc3339(grant.starts_at),
            "expires_at": rfc3339(grant.expires_at), "switch_role_url": grant.switch_role_url,
            "console_url": grant.console_url,
            "usable_at": rfc3339(grant.usable_at or grant.starts_at)},  # granted before usable_at: at once
        # Open sessions (the target account's session guard): cut at the end, or at worst an hour later while the
        # guard could not be written yet (the sweeper retries it).
        "sessions": None if request.grant is None or request.sessions_end_by is None else {
            "guard": "pending" if request.guard_pending else "written",
            "end_by": rfc3339(request.sessions_end_by)},
        "extension": None if request.extension is None else {
            "duration_seconds": request.extension.seconds, "requested_by": request.extension.requested_by,
            "requested_at": rfc3339(request.extension.requested_at),
            "approvals": [{"by": a.by, "at": rfc3339(a.at)} for a in request.extension.approvals]},
    }


def event_view(event: Event) -> dict[str, Any]:
    return {"request_id": event.request_id, "version": event.version, "kind": event.kind, "at": rfc3339(event.at),
            "actor": event.actor, "channel": event.channel, "details": event.details}


def _approval(approval: Approval) -> dict[str, Any]:
    """A person's approval; the on-call rota's names the PagerDuty schedule and user instead of a comment."""
    if approval.by == ON_CALL:
        return {"by": approval.by, "schedule": approval.schedule, "pagerduty_user": approval.pagerduty_user,
                "at": rfc3339(approval.at)}
    return {"by": approval.by, "at": rfc3339(approval.at), "comment": approval.comment}
