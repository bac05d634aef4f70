"""Three races, each beside the same steps without the race: a revoke that lands while IAM attaches the grant, a
grant activated while drift repair runs, and a sweep acting on a read made before the grant was extended.

Each test here was written against a single-line fault planted in the code (issue 16, point 6) and fails with it."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from chalicelib.domain.requests import Event, State


def _before_first_call(target, method: str, run) -> None:
    """Makes `target.method` run `run()` just before its first call does its own work."""
    real, calls = getattr(target, method), []

    def racing(*args, **kwargs):
        if not calls:
            calls.append(1)
            run()
        return real(*args, **kwargs)

    setattr(target, method, racing)


# -- a revoke while IAM attaches: the policy attached after the revoke's own cleanup is taken away again

@pytest.mark.parametrize("revoked_meanwhile", [False, True])
def test_a_revoke_landing_while_iam_attaches_leaves_no_policy(broker, people, iam, revoked_meanwhile: bool) -> None:
    """Fault caught: apply_grant without its cleanup when the activation loses to a revoke."""
    pending = people.ask()
    if revoked_meanwhile:  # the requester revokes while the grant is approved and its policy not attached yet
        _before_first_call(broker.grants, "apply", lambda: broker.revoke(people.caller("s3-access"), pending.id))

    result = broker.approve(people.caller("bob"), pending.id)

    if revoked_meanwhile:
        assert result.state == State.REVOKED and broker.repo.get(pending.id).state == State.REVOKED
        assert iam.attached() == [] and iam.policies() == [], "the policy attached after the revoke is gone"
        assert "activated" not in people.kinds(pending.id)
    else:
        assert result.state == State.ACTIVE and iam.attached() == [result.grant.policy_arn]


# -- drift repair: a grant activated during the pass keeps its policy; one that ended meanwhile loses it

@pytest.mark.parametrize("meanwhile", ["activated", "revoked"])
def test_drift_repair_keeps_the_policy_of_a_grant_activated_during_the_pass(broker, people, iam, crash,
                                                                            meanwhile: str) -> None:
    """Fault caught: the orphan check without its approved-or-active guard, deleting a grant that just started."""
    pending = people.ask()
    crash.after(broker.grants, "apply")  # attached, still recorded approved: the grant is being applied
    with pytest.raises(crash.Crash):
        broker.approve(people.caller("bob"), pending.id)
    del broker.grants.apply
    policy = broker.grants.policy_arn(pending.id)
    assert iam.attached() == [policy] and broker.repo.get(pending.id).state == State.APPROVED

    def change_during_the_pass() -> None:  # after the pass listed policies and read the active grants
        current = broker.repo.get(pending.id)
        if meanwhile == "activated":
            broker.apply_grant(current)
        else:  # recorded revoked by a process that died before its own cleanup
            ended = current.end(State.REVOKED, "s3-access", broker.clock()).request
            broker.repo.transition(current, ended, Event(pending.id, current.version + 1, "revoked", broker.clock(),
                                                         "s3-access", "api"))

    _before_first_call(broker.grants, "document", change_during_the_pass)
    repaired = broker.repair_drift()

    if meanwhile == "activated":
        assert broker.repo.get(pending.id).state == State.ACTIVE
        assert iam.attached() == [policy] == iam.policies(), f"an active grant lost its policy: {repaired}"
        assert "drift_repaired" not in people.kinds(pending.id)
    else:
        assert iam.attached() == [] and iam.policies() == []
        assert [e.details["action"] for e in broker.repo.events(pending.id) if e.kind == "drift_repaired"] == [
            "orphan_policy_removed"]


# -- a stale sweep read: the grant was extended after the sweeper read it, so it is not expired

@pytest.mark.parametrize("extended_meanwhile", [True, False])
def test_a_stale_sweep_read_does_not_expire_a_grant_extended_meanwhile(broker, people, iam, clock,
                                                                      extended_meanwhile: bool) -> None:
    """Fault caught: expire() without re-checking the stored end, ending a grant that now lasts longer."""
    grant = people.grant()
    clock.advance(minutes=50)
    stale = broker.repo.get(grant.id)  # what the sweeper's due read returned
    if extended_meanwhile:
        broker.extend(people.caller("s3-access"), grant.id, "30m")
        broker.approve(people.caller("bob"), grant.id)
    clock.advance(minutes=11)  # past the first end
    real_due = broker.repo.due
    broker.repo.due = lambda state, now: [dataclasses.replace(stale)] if state == State.ACTIVE else real_due(
        state, now)

    report = broker.sweep()

    stored = broker.repo.get(grant.id)
    if extended_meanwhile:
        assert stored.state == State.ACTIVE and stored.grant.expires_at == grant.grant.expires_at + timedelta(
            minutes=30)
        assert iam.attached() == [grant.grant.policy_arn] and report.done["expired"] == 0
        assert "expired" not in people.kinds(grant.id)
    else:
        assert stored.state == State.EXPIRED and report.done["expired"] == 1
        assert iam.attached() == [] and iam.policies() == []
