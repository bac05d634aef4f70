"""A request's whole life through the Broker, on each DynamoDB backend: what is stored is what people see."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.domain.requests import State
from tests.storage.helpers import as_person, grant_policies, kinds


def test_approval_grants_access_and_revoke_takes_it_away(broker: Any, world: Any) -> None:
    requester = as_person(broker, "s3-access")
    created = broker.request_access(requester, "s3-prod", "1h", "fixing the export job")
    assert (created.state, created.version) == (State.PENDING, 1)

    active = broker.approve(as_person(broker, "bob"), created.id, "go ahead")
    assert active.state == State.ACTIVE
    assert grant_policies(world) == [active.grant.policy_arn]
    assert broker.get(requester, created.id) == active, "what was stored is not what the approver was shown"

    revoked = broker.revoke(requester, created.id)
    assert revoked.state == State.REVOKED
    assert grant_policies(world) == []
    assert kinds(broker, created.id) == ["created", "approved", "activated", "revoked"]


def test_denied_request_never_grants(broker: Any, world: Any) -> None:
    created = broker.request_access(as_person(broker, "s3-access"), "s3-prod", "1h", "fixing the export job")
    denied = broker.deny(as_person(broker, "carol"), created.id, "not today")
    assert (denied.state, denied.decided_by, denied.decision_comment) == (State.DENIED, "carol", "not today")
    assert grant_policies(world) == []
    assert kinds(broker, created.id) == ["created", "denied"]


def test_sweeper_times_out_unanswered_requests_and_expires_grants(broker: Any, clock: Any, world: Any) -> None:
    """Driven by the `due` index on each backend: nothing ends early, everything ends on time, once."""
    requester = as_person(broker, "s3-access")
    waiting = broker.request_access(requester, "s3-prod", "1h", "nobody will answer")
    granted = broker.approve(as_person(broker, "bob"),
                             broker.request_access(requester, "s3-prod", "30m", "a short fix").id)
    assert grant_policies(world) == [granted.grant.policy_arn]

    clock.now = granted.grant.expires_at - timedelta(seconds=1)
    assert "expired" not in broker.sweep().done, "a grant ended before its time"
    clock.now = granted.grant.expires_at
    assert broker.sweep().done["expired"] == 1
    assert broker.get(requester, granted.id).state == State.EXPIRED
    assert grant_policies(world) == []

    clock.now = waiting.created_at + timedelta(hours=1)  # s3-prod's approval timeout
    assert broker.sweep().done["timed_out"] == 1
    assert broker.get(requester, waiting.id).state == State.TIMED_OUT
    assert not broker.sweep(), "an ended request is still on the due index"
