"""Access still ends on time when IAM throttles, the sweeper dies halfway, or two endings race."""
from __future__ import annotations

import json
import threading

import pytest

from chalicelib.aws.retry import ATTEMPTS
from chalicelib.domain.errors import Conflict
from chalicelib.domain.requests import State

ENDINGS = ("expired", "revoked", "failed")


def _endings(people, request_id: str) -> list[str]:
    return [k for k in people.kinds(request_id) if k in ENDINGS]


# -- IAM throttling and 5xx

def test_a_throttled_attach_is_retried_with_growing_waits(broker, people, iam, faults):
    faults.fail("AttachUserPolicy", times=3, code="Throttling")
    grant = people.grant()
    assert grant.state == State.ACTIVE and iam.attached() == [grant.grant.policy_arn]
    assert faults.seen["AttachUserPolicy"] == 4, "three throttled attempts, then success"
    assert len(faults.waits) == 3 and faults.waits[0] < faults.waits[2], f"backoff must grow: {faults.waits}"


def test_an_attach_that_keeps_failing_ends_failed_with_nothing_left_in_iam(broker, people, iam, faults):
    faults.fail("AttachUserPolicy", times=99, status=503, code="ServiceUnavailable")
    failed = broker.approve(people.caller("bob"), people.ask().id)
    assert failed.state == State.FAILED and "ServiceUnavailable" in failed.failure_reason
    assert faults.seen["AttachUserPolicy"] == ATTEMPTS
    assert iam.policies() == [] and iam.attached() == [], "the half-made policy is cleaned up"
    assert _endings(people, failed.id) == ["failed"]


def test_a_detach_that_keeps_failing_still_ends_the_grant_and_the_next_pass_cleans_up(
        broker, people, iam, faults, clock):
    grant = people.grant()
    faults.fail("DetachUserPolicy", times=99, status=500, code="InternalFailure")
    clock.advance(minutes=61)
    broker.sweep()
    assert broker.repo.get(grant.id).state == State.EXPIRED, "the record ends on time whatever IAM says"
    assert "cleanup_pending" in people.kinds(grant.id)
    assert iam.attached() == [grant.grant.policy_arn]  # still there: IAM keeps refusing

    faults.heal()
    broker.sweep()
    assert iam.attached() == [] and iam.policies() == []
    assert [e.details["action"] for e in broker.repo.events(grant.id) if e.kind == "drift_repaired"] == [
        "orphan_policy_removed"]
    assert _endings(people, grant.id) == ["expired"]


# -- crashes

def test_a_sweep_that_dies_halfway_is_finished_by_the_next_pass(broker, people, iam, clock, crash, recorder):
    grants = [people.grant(who=who) for who in ("s3-access", "alice", "carol", "s3-access")]
    clock.advance(minutes=61)
    crash.after(broker.repo, "transition", on_call=2)  # dies after recording the 2nd expiry, before its detach
    with pytest.raises(crash.Crash):
        broker.sweep()
    states = sorted(broker.repo.get(g.id).state.value for g in grants)
    assert states == ["active", "active", "expired", "expired"], "the pass died halfway"
    # The process died between recording the 2nd expiry and telling anyone: that grant alone may go untold.
    [died_on] = [g.id for g in grants if broker.repo.get(g.id).state == State.EXPIRED
                 and "expired" not in recorder.kinds(g.id)]

    del broker.repo.transition  # the next invocation is a fresh process
    broker.sweep()
    for grant in grants:
        assert broker.repo.get(grant.id).state == State.EXPIRED
        assert _endings(people, grant.id) == ["expired"], "each grant ends exactly once"
        told = recorder.kinds(grant.id).count("expired")
        assert told == 1 or (grant.id == died_on and told == 0), f"{grant.id} was told of its expiry {told} times"
    assert iam.policies() == [] and all(iam.attached(u) == [] for u in ("s3-access", "alice", "carol"))


def test_a_crash_between_the_attach_and_the_record_is_reconciled(broker, people, iam, clock, crash):
    pending = people.ask()
    crash.after(broker.grants, "apply")
    with pytest.raises(crash.Crash):
        broker.approve(people.caller("bob"), pending.id)
    assert broker.repo.get(pending.id).state == State.APPROVED and len(iam.attached()) == 1

    del broker.grants.apply
    broker.sweep()  # the policy of a grant still being applied is not an orphan
    assert len(iam.attached()) == 1 and broker.repo.get(pending.id).state == State.APPROVED
    clock.advance(minutes=3)
    broker.sweep()
    active = broker.repo.get(pending.id)
    assert active.state == State.ACTIVE and iam.attached() == [active.grant.policy_arn] == iam.policies()
    assert people.kinds(active.id).count("activated") == 1


def test_a_half_applied_grant_whose_time_is_up_is_ended_not_applied(broker, people, iam, clock, crash):
    pending = people.ask(profile="s3-prod-short", duration="1m")
    crash.after(broker.grants, "apply")
    with pytest.raises(crash.Crash):
        broker.approve(people.caller("bob"), pending.id)
    del broker.grants.apply
    clock.advance(minutes=3)
    broker.sweep()
    assert broker.repo.get(pending.id).state == State.EXPIRED
    assert iam.policies() == [] and iam.attached() == []
    assert "activated" not in people.kinds(pending.id)


def test_a_revoke_of_a_half_applied_grant_removes_its_policy(broker, people, iam, crash):
    pending = people.ask()
    crash.after(broker.grants, "apply")
    with pytest.raises(crash.Crash):
        broker.approve(people.caller("bob"), pending.id)
    del broker.grants.apply
    broker.revoke(people.caller("s3-access"), pending.id)
    assert iam.policies() == [] and _endings(people, pending.id) == ["revoked"]


# -- races

@pytest.mark.parametrize("first", ["revoke", "expire"])
def test_a_revoke_racing_the_expiry_has_one_winner(broker, people, iam, clock, first):
    grant = people.grant()
    clock.advance(minutes=61)
    seen_by_sweeper = next(iter(broker.repo.due(State.ACTIVE, clock())))  # the sweeper read it...
    if first == "revoke":
        broker.revoke(people.caller("s3-access"), grant.id)  # ...then the requester revoked
        with pytest.raises(Conflict):
            broker.sweep_due(seen_by_sweeper)
    else:
        broker.sweep_due(seen_by_sweeper)
        with pytest.raises(Conflict):
            broker.revoke(people.caller("s3-access"), grant.id)
    assert _endings(people, grant.id) == ["revoked" if first == "revoke" else "expired"]
    assert iam.policies() == []


def test_a_revoke_and_an_expiry_at_the_same_moment_end_the_grant_once(broker, people, iam, clock):
    grants = [people.grant() for _ in range(4)]
    clock.advance(minutes=61)
    start = threading.Barrier(2)

    def revoke_all() -> None:
        start.wait()
        for grant in grants:
            try:
                broker.revoke(people.caller("s3-access"), grant.id)
            except Conflict:
                pass

    revoker = threading.Thread(target=revoke_all)
    revoker.start()
    start.wait()
    broker.sweep()
    revoker.join()
    for grant in grants:
        assert len(_endings(people, grant.id)) == 1, people.kinds(grant.id)
    assert iam.policies() == [] and iam.attached() == []


def test_a_grant_policy_left_with_an_older_version_is_still_removed_on_revoke(broker, people, iam, faults):
    grant = people.grant()
    arn = grant.grant.policy_arn
    iam.client.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(iam.document(arn)),
                                     SetAsDefault=True)  # an extension that died before its cleanup
    # IAM refuses until its older versions are gone (and so does the world); a throttled retry must not lose it either
    faults.fail("DeletePolicy", times=1, status=409, code="DeleteConflict")

    revoked = broker.revoke(people.caller("s3-access"), grant.id)

    assert revoked.state == State.REVOKED
    assert faults.seen["ListPolicyVersions"] == 1 and faults.seen["DeletePolicy"] == 2
    assert iam.policies() == [] and iam.attached() == [], "nothing of the grant is left in IAM"


def test_a_revoke_takes_the_grant_policy_from_every_user_it_was_attached_to(broker, people, iam):
    grant = people.grant()
    arn = grant.grant.policy_arn
    iam.client.attach_user_policy(UserName="alice", PolicyArn=arn)  # someone gave alice the grant too

    revoked = broker.revoke(people.caller("s3-access"), grant.id)

    assert revoked.state == State.REVOKED
    assert iam.attached("alice") == [], "the grant policy was left on a second holder"
    assert iam.policies() == [] and iam.attached() == []


def test_two_overlapping_passes_do_everything_once(broker, people, iam, clock, recorder):
    """A pass that outlives its minute overlaps the next one (Lambda runs both): conditions keep it to once."""
    grants = [people.grant(duration="1h") for _ in range(3)]
    pending = [people.ask() for _ in range(3)]
    clock.advance(minutes=61)
    later = [people.ask() for _ in range(3)]  # due for a reminder only
    clock.advance(minutes=16)
    start = threading.Barrier(2)

    def one_pass() -> None:
        start.wait()
        broker.sweep()

    passes = [threading.Thread(target=one_pass) for _ in range(2)]
    for thread in passes:
        thread.start()
    for thread in passes:
        thread.join()
    for grant in grants:
        assert _endings(people, grant.id) == ["expired"] and recorder.kinds(grant.id).count("expired") == 1
    for request in pending:
        assert people.kinds(request.id).count("timed_out") == 1
    for request in later:
        assert people.kinds(request.id).count("reminder_sent") == 1 == recorder.kinds(request.id).count(
            "reminder_sent")
    assert iam.policies() == []


def test_iam_down_during_drift_repair_does_not_undo_the_due_work(broker, people, iam, clock, faults):
    grant = people.grant()
    clock.advance(minutes=61)
    faults.fail("ListPolicies", times=99, status=503, code="ServiceUnavailable")
    report = broker.sweep()
    assert broker.repo.get(grant.id).state == State.EXPIRED and iam.policies() == []
    assert report.errors == 1, "the failure is counted and logged, and the pass completes"
