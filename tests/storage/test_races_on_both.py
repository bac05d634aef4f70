"""Races decided by DynamoDB's conditions, on each backend: threads at once, exactly one winner."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import pytest

from chalicelib.domain.errors import Conflict
from chalicelib.domain.requests import Event, State
from chalicelib.ports import IdempotencyClaim, StaleWrite
from tests.storage.helpers import as_person, grant_policies, kinds

THREADS = 8


def at_once(work: Callable[[int], Any], n: int = THREADS) -> list[Any]:
    """Runs work(0..n-1) on n threads released together; returns each result or the exception it raised."""
    gate = threading.Barrier(n)

    def run(i: int) -> Any:
        gate.wait()
        try:
            return work(i)
        except Exception as exc:  # collected: the test asserts on every outcome
            return exc

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_approvals_end_in_exactly_one_grant(broker: Any, world: Any) -> None:
    request = broker.request_access(as_person(broker, "s3-access"), "s3-prod", "1h", "fixing the export job")
    approvers = [as_person(broker, "bob"), as_person(broker, "carol")]

    outcomes = at_once(lambda i: broker.approve(approvers[i % 2], request.id, f"approval {i}"))

    granted = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, Exception)]
    story = [(e.kind, e.actor, e.details) for e in broker.repo.events(request.id)]
    assert len(granted) == 1 and granted[0].state == State.ACTIVE, (story, outcomes)
    assert all(isinstance(o, Conflict) for o in refused), refused
    assert grant_policies(world) == [granted[0].grant.policy_arn], story
    assert kinds(broker, request.id) == ["created", "approved", "activated"]
    stored = broker.repo.get(request.id)
    assert [a.by for a in stored.approvals] == [granted[0].decided_by]


def test_concurrent_transitions_from_one_version_store_exactly_one(broker: Any, clock: Any) -> None:
    before = broker.request_access(as_person(broker, "s3-access"), "s3-prod", "1h", "fixing the export job")
    now = clock()

    def approve(i: int) -> Any:
        approver = ("bob", "carol")[i % 2]
        return broker.repo.transition(before, before.approve(approver, now, f"approval {i}").request,
                                      Event(before.id, 2, f"approved-{i}", now, approver, "api"))

    outcomes = at_once(approve)

    stored = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(stored) == 1, outcomes
    assert all(isinstance(o, StaleWrite) for o in outcomes if o not in stored), outcomes
    assert broker.repo.get(before.id) == stored[0]
    assert len(broker.repo.events(before.id)) == 2, "a losing transition left its event behind"


def test_a_second_apply_grant_with_a_stale_read_keeps_the_grant(broker: Any, world: Any) -> None:
    """The sweeper reads approved requests due for a retry, then applies them; if the approver's own
    apply_grant activated the request in between, the sweeper's late run must leave the grant alone."""
    request = broker.request_access(as_person(broker, "s3-access"), "s3-prod", "1h", "fixing the export job")
    approved = broker.repo.transition(request, request.approve("bob", broker.clock()).request,
                                      Event(request.id, 2, "approved", broker.clock(), "bob", "api"))
    active = broker.apply_grant(approved)

    assert broker.apply_grant(approved) == active  # the sweeper's copy, read before activation
    assert grant_policies(world) == [active.grant.policy_arn], "a late retry took an active grant away"
    assert kinds(broker, request.id) == ["created", "approved", "activated"]


def test_concurrent_apply_grants_leave_one_active_grant(broker: Any, world: Any) -> None:
    request = broker.request_access(as_person(broker, "s3-access"), "s3-prod", "1h", "fixing the export job")
    approved = broker.repo.transition(request, request.approve("bob", broker.clock()).request,
                                      Event(request.id, 2, "approved", broker.clock(), "bob", "api"))

    _ = broker.grants.iam  # built before the threads: boto3's default session must not build clients in parallel
    outcomes = at_once(lambda i: broker.apply_grant(approved), n=4)

    active = broker.repo.get(request.id)
    assert active.state == State.ACTIVE and outcomes == [active] * 4, outcomes
    assert grant_policies(world) == [active.grant.policy_arn]
    assert kinds(broker, request.id) == ["created", "approved", "activated"]


@pytest.mark.parametrize("same_body", [True, False], ids=["same-body", "other-body"])
def test_concurrent_creates_with_one_idempotency_key_store_one_request(broker: Any, same_body: bool) -> None:
    person = as_person(broker, "s3-access")

    def create(i: int) -> Any:
        claim = IdempotencyClaim(person.principal, "retried-key", "body" if same_body else f"body-{i}")
        return broker.request_access(person, "s3-prod", "1h", f"fixing the export job {i}", idempotency=claim)

    outcomes = at_once(create)

    stored = broker.repo.by_requester("s3-access", 50, None).items
    assert len(stored) == 1, outcomes
    if same_body:
        assert outcomes == [stored[0]] * THREADS, "a retry did not get the request its key created"
    else:
        assert [o for o in outcomes if not isinstance(o, Conflict)] == [stored[0]], outcomes
