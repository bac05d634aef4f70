"""Two approvers clicking at once, or the same approval twice: one grant, no lost approval."""
from __future__ import annotations

import threading

from chalicelib.domain.errors import DomainError
from chalicelib.domain.requests import State


def run_together(*actions):
    barrier = threading.Barrier(len(actions))
    outcomes: list = [None] * len(actions)

    def run(i, action):
        barrier.wait()
        try:
            outcomes[i] = action()
        except DomainError as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_two_approvers_at_once_produce_exactly_one_grant(broker, world):
    requester = broker.caller_from_arn("arn:aws:iam::111111111111:user/s3-access")
    bob = broker.caller_from_arn("arn:aws:iam::111111111111:user/bob")
    carol = broker.caller_from_arn("arn:aws:iam::111111111111:user/carol")
    for _ in range(3):
        request = broker.request_access(requester, "s3-prod", "1h", "race")

        outcomes = run_together(lambda: broker.approve(bob, request.id), lambda: broker.approve(carol, request.id))

        winners = [o for o in outcomes if not isinstance(o, Exception)]
        assert len(winners) == 1 and winners[0].state == State.ACTIVE, outcomes
        assert "already approved" in [o for o in outcomes if isinstance(o, Exception)][0].detail
        kinds = [e.kind for e in broker.repo.events(request.id)]
        assert kinds == ["created", "approved", "activated"]
        broker.revoke(requester, request.id)
    assert world.client("iam").list_policies(Scope="Local", PathPrefix="/access-broker/")["Policies"] == []


def test_concurrent_approvals_of_a_two_approval_request_both_count(broker, catalog_file):
    broker = catalog_file(lambda doc: doc["profiles"]["s3-prod"].update(approvals_required=2))
    requester = broker.caller_from_arn("arn:aws:iam::111111111111:user/s3-access")
    bob = broker.caller_from_arn("arn:aws:iam::111111111111:user/bob")
    carol = broker.caller_from_arn("arn:aws:iam::111111111111:user/carol")
    request = broker.request_access(requester, "s3-prod", "1h", "race")

    run_together(lambda: broker.approve(bob, request.id), lambda: broker.approve(carol, request.id))

    final = broker.repo.get(request.id)
    assert final.state == State.ACTIVE
    assert sorted(a.by for a in final.approvals) == ["bob", "carol"]
