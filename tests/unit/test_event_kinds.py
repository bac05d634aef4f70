"""Event kinds are named by the domain (chalicelib/domain/events.py), and their stored values never change: the table,
the audit export and the API have always carried these strings."""
from __future__ import annotations

from chalicelib.domain.events import EventKind
from tests import fakes

STORED = {
    "created", "break_glass_activated", "approval_added", "approved", "activated", "denied", "cancelled", "timed_out",
    "expired", "revoked", "failed", "reminder_sent", "expiry_warning", "extension_requested",
    "extension_approval_added", "extended", "extension_denied", "session_guard_pending", "session_guard_caught_up",
    "session_guard_failed", "session_guard_whole_role", "session_cut_lapsed", "drift_repaired", "cleanup_pending",
    "notify_failed", "slack_posted", "auto_approved", "auto_approve_skipped",
}


def test_the_stored_values_are_the_ones_always_stored() -> None:
    assert {kind.value for kind in EventKind} == STORED


def test_every_event_a_grant_s_life_records_is_an_event_kind() -> None:
    wired = fakes.broker()
    requester = wired.broker.caller_from_arn("arn:aws:iam::111111111111:user/s3-access")
    approver = wired.broker.caller_from_arn("arn:aws:iam::111111111111:user/bob")
    request = wired.broker.request_access(requester, "s3-prod", "1h", "fixing the export job")
    wired.broker.approve(approver, request.id)
    wired.broker.extend(requester, request.id, "30m")
    wired.broker.approve(approver, request.id)
    wired.broker.revoke(requester, request.id)
    kinds = [event.kind for event in wired.store.events(request.id)]
    assert kinds == ["created", "approved", "activated", "extension_requested", "extended", "revoked"]
    assert all(isinstance(kind, EventKind) for kind in kinds)
