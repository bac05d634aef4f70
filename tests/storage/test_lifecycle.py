"""A request's whole life through the Broker, on each DynamoDB backend: what is stored is what people see."""
from __future__ import annotations

from typing import Any

from chalicelib.domain.requests import State
from chalicelib.sweeper import sweep
from tools.world import SOURCE_ACCOUNT


def as_person(broker: Any, name: str) -> Any:
    return broker.caller_from_arn(f"arn:aws:iam::{SOURCE_ACCOUNT}:user/{name}")


def grant_policies(world: Any, user: str = "s3-access") -> list[str]:
    """The access-broker policies attached to `user` in IAM: what the person can actually use."""
    attached = world.client("iam").list_attached_user_policies(UserName=user, PathPrefix="/access-broker/")
    return [p["PolicyArn"] for p in attached["AttachedPolicies"]]


def kinds(broker: Any, request_id: str) -> list[str]:
    return [e.kind for e in broker.repo.events(request_id)]


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
    requester = as_person(broker, "s3-access")
    waiting = broker.request_access(requester, "s3-prod", "1h", "nobody will answer")
    granted = broker.approve(as_person(broker, "bob"),
                             broker.request_access(requester, "s3-prod", "30m", "a short fix").id)
    assert grant_policies(world) == [granted.grant.policy_arn]

    clock.advance(minutes=29)
    assert sweep(broker).expired == [], "a grant ended before its time"
    clock.advance(minutes=2)
    report = sweep(broker)
    assert report.expired == [granted.id]
    assert grant_policies(world) == []
    clock.advance(minutes=30)  # the approval timeout is 1h
    assert sweep(broker).timed_out == [waiting.id]
    assert broker.get(requester, waiting.id).state == State.TIMED_OUT
    assert sweep(broker) == type(report)(), "an ended request is still on the due index"
