"""The AWS calls each flow makes, pinned: a change that adds a round trip shows up here (counts, never times).

Budgets (issue 7): create 1-2 DynamoDB calls; approve to active at most 3 DynamoDB and 3 IAM; revoke at
most 2 DynamoDB and 2 IAM. The session guard (issue 12) adds to a revoke at most one AssumeRole, one GetRole (the
role's MaxSessionDuration, issue 24), one GetRolePolicy and one PutRolePolicy, with its lease in the table. A sweep
pass reads the items that are due and nothing else."""
from __future__ import annotations

from bench.calls import AwsCalls
from bench.flows import callers
from chalicelib.ports import IdempotencyClaim


def calls_of(broker, action) -> dict[str, int]:
    with AwsCalls(broker) as calls:
        action()
    return dict(calls.operations)


def test_each_flow_makes_the_pinned_aws_calls(broker):
    requester, approver = callers(broker)
    made = []

    create = calls_of(broker, lambda: made.append(broker.request_access(requester, "s3-prod", "1h", "perf")))
    approve = calls_of(broker, lambda: made.append(broker.approve(approver, made[0].id, "ok")))
    revoke = calls_of(broker, lambda: made.append(broker.revoke(requester, made[0].id)))

    assert [r.state.value for r in made] == ["pending", "active", "revoked"]
    assert create == {"dynamodb:TransactWriteItems": 1}
    # The session guard (issue 12): the guard role's credentials, then the role's MaxSessionDuration (how long its cuts
    # must stand) and one read and one write of the role's guard policy under its lease (two conditional puts).
    guard = {"iam:GetRole": 1, "iam:GetRolePolicy": 1, "iam:PutRolePolicy": 1, "dynamodb:PutItem": 2}
    assert approve == {"dynamodb:GetItem": 1, "dynamodb:TransactWriteItems": 2,
                       "iam:GetUser": 1, "iam:CreatePolicy": 1, "iam:AttachUserPolicy": 1, "sts:AssumeRole": 1,
                       **guard}
    # A revoke adds no AssumeRole (the credentials are cached for their lifetime), the guard's read and write, and
    # one Query: the person's other live grants on the role keep their expiry cut.
    assert revoke == {"dynamodb:GetItem": 1, "dynamodb:TransactWriteItems": 1, "dynamodb:Query": 1,
                      "iam:DetachUserPolicy": 1, "iam:DeletePolicy": 1, **guard}


def test_a_create_with_an_idempotency_key_writes_once_and_a_retry_reads_the_first(broker):
    requester, _ = callers(broker)
    claim = IdempotencyClaim(requester.principal, "key-1", "fingerprint")

    made = []
    first = calls_of(broker, lambda: made.append(
        broker.request_access(requester, "s3-prod", "1h", "perf", idempotency=claim)))
    replay = calls_of(broker, lambda: made.append(
        broker.request_access(requester, "s3-prod", "1h", "perf", idempotency=claim)))

    assert first == {"dynamodb:TransactWriteItems": 1}  # the claim is a condition of the write, not a read first
    assert replay == {"dynamodb:TransactWriteItems": 1, "dynamodb:GetItem": 2}  # refused; the claim; its request
    assert made[0].id == made[1].id, "the retry answers with the first request"


def test_a_sweep_pass_reads_the_same_items_however_many_are_stored(broker, clock):
    requester, approver = callers(broker)
    timeout = broker.catalog.profiles["s3-prod"].approval_timeout

    def pass_with_two_due(extra_stored: int) -> int:
        due = [broker.request_access(requester, "s3-prod", "1h", "perf").id for _ in range(2)]
        clock.advance(seconds=timeout + 60)
        for i in range(extra_stored):  # ended (denied) and still-pending requests that are not due yet
            other = broker.request_access(requester, "s3-prod", "1h", "perf")
            if i % 2:
                broker.deny(approver, other.id, "no")
        with AwsCalls(broker) as calls:
            report = broker.sweep()
        assert report.done["timed_out"] == len(due)
        return calls.items_read

    few = pass_with_two_due(extra_stored=0)
    many = pass_with_two_due(extra_stored=30)

    assert few == many == 2, f"a sweep pass read {few} items with 2 due, {many} with 30 more stored"


def test_ended_grants_are_read_until_their_cut_lapses_and_never_after(broker, clock):
    """Drift repair checks that each ended grant's session cut stands, for the hour its sessions could live: it reads
    the grants ended within that hour (the `due` index), not every ended grant stored."""
    requester, approver = callers(broker)

    def revoked(n: int) -> None:
        for _ in range(n):
            granted = broker.approve(approver, broker.request_access(requester, "s3-prod", "1h", "perf").id)
            broker.revoke(requester, granted.id)

    revoked(3)
    with AwsCalls(broker) as calls:
        broker.sweep()
    recent = calls.items_read
    assert recent >= 3, "the grants ended this hour are read to check their cuts"

    clock.advance(hours=2)
    with AwsCalls(broker) as calls:
        report = broker.sweep()
    assert report.done["session_cut_lapsed"] == 3  # each lapses once, read once more for it
    with AwsCalls(broker) as calls:
        broker.sweep()
    assert calls.items_read == 0, f"a pass with nothing due and no recent ends read {calls.items_read} items"
