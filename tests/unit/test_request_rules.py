"""The rules of a request's life, without any I/O."""
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain.errors import Conflict, Forbidden
from chalicelib.domain.events import EventKind
from chalicelib.domain.requests import AccessRequest, Grant, State

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def pending(required: int = 1) -> AccessRequest:
    return AccessRequest(id="r1", profile="s3-prod", requester="alice", requester_iam_user="alice",
                         account="222222222222", role_arn="arn:aws:iam::222222222222:role/switch-role-for-S3",
                         reason="export job", duration_seconds=7200, approvals_required=required, created_at=NOW)


def test_the_last_needed_approval_plans_the_grant_from_the_moment_of_approval():
    later = NOW + timedelta(minutes=5)
    approved, kind = pending().approve("bob", later, "ok")
    assert approved.state == State.APPROVED and kind == EventKind.APPROVED
    assert approved.grant.starts_at == later
    assert approved.grant.expires_at == later + timedelta(hours=2)
    assert approved.decided_by == "bob"


def test_two_approvals_needed_means_the_first_only_records_progress():
    first, kind = pending(required=2).approve("bob", NOW)
    assert first.state == State.PENDING and [a.by for a in first.approvals] == ["bob"]
    assert kind == EventKind.APPROVAL_ADDED, "the trail says an approval was added, not that it was approved"
    second = first.approve("carol", NOW).request
    assert second.state == State.APPROVED and [a.by for a in second.approvals] == ["bob", "carol"]


def test_the_same_approver_cannot_count_twice():
    first = pending(required=2).approve("bob", NOW).request
    with pytest.raises(Conflict, match="already approved"):
        first.approve("bob", NOW)


def test_nobody_approves_their_own_request():
    with pytest.raises(Forbidden, match="own request"):
        pending().approve("alice", NOW)


def test_a_decided_request_names_who_decided_it():
    approved = pending().approve("bob", NOW).request
    with pytest.raises(Conflict, match="already approved by bob"):
        approved.approve("carol", NOW)
    denied = pending().deny("carol", NOW, "not today").request
    with pytest.raises(Conflict, match="already denied by carol"):
        denied.approve("bob", NOW)


def test_only_the_requester_cancels_and_only_while_pending():
    with pytest.raises(Forbidden):
        pending().cancel("bob", NOW)
    assert pending().cancel("alice", NOW) == (pending().cancel("alice", NOW).request, EventKind.CANCELLED)
    assert pending().cancel("alice", NOW).request.state == State.CANCELLED
    with pytest.raises(Conflict):
        pending().approve("bob", NOW).request.cancel("alice", NOW)


def test_a_grant_ends_once_as_either_revoked_or_expired():
    active = pending().approve("bob", NOW).request.activate(
        Grant("arn:role", "arn:policy", NOW, NOW + timedelta(hours=2)), NOW).request
    revoked, kind = active.end(State.REVOKED, "alice", NOW)
    assert revoked.state == State.REVOKED and revoked.ended and kind == EventKind.REVOKED
    with pytest.raises(Conflict, match="already revoked"):
        revoked.end(State.EXPIRED, "access-broker", NOW)


def test_a_pending_request_cannot_be_revoked_or_activated():
    with pytest.raises(Conflict):
        pending().end(State.REVOKED, "alice", NOW)
    with pytest.raises(Conflict):
        pending().activate(Grant("a", "b", NOW, NOW), NOW)
