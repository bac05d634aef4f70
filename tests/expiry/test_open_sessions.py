"""Open sessions in the local world: cut on revoke and at expiry (the world's IAM evaluates the guard's conditions),
a target account the broker cannot reach leaves the guard pending and said so until the sweeper writes it, drift
repair puts back a cut someone removed, and concurrent grants on one role lose nobody's statement."""
from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.domain.session_guard import POLICY_NAME, Guard
from tests.expiry.conftest import People
from tools.world import BUCKET, ROLE_NAME, TARGET_ACCOUNT, Keys, aws_client

ROLE_ARN = f"arn:aws:iam::{TARGET_ACCOUNT}:role/{ROLE_NAME}"


def open_session(world: Any, person: str) -> Any:
    """`person` switches into the role as the CLI does with role_session_name = their IAM user."""
    sts = world.client("sts", person)
    creds = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName=person, DurationSeconds=3600)["Credentials"]
    return aws_client(world.emulator.endpoint, "s3", Keys(creds["AccessKeyId"], creds["SecretAccessKey"],
                                                          creds["SessionToken"]))


def works(s3: Any) -> bool:
    try:
        s3.get_object(Bucket=BUCKET, Key="hello.txt")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "AccessDenied", exc.response
        return False
    return True


def guard(world: Any) -> Guard:
    target = world.client("iam", "target-admin")
    try:
        return Guard.from_policy(target.get_role_policy(RoleName=ROLE_NAME, PolicyName=POLICY_NAME)["PolicyDocument"])
    except ClientError:
        return Guard()


def test_a_revoke_cuts_the_persons_open_session_and_nobody_elses(world, people, broker) -> None:
    alice = people.grant(who="alice")
    grant = people.grant()
    mine, hers = open_session(world, "s3-access"), open_session(world, "alice")
    assert works(mine) and works(hers)

    revoked = broker.revoke(people.caller("s3-access"), grant.id)

    assert not revoked.guard_pending and revoked.sessions_end_by == revoked.ended_at
    assert not works(mine), "the session opened before the revoke still works"
    assert works(hers), "another person's session was cut"
    assert alice.state.value == "active"


def test_at_expiry_the_open_session_stops_even_with_the_broker_down(world, people, broker) -> None:
    grant = people.grant(profile="s3-prod-short", duration="1m")
    session = open_session(world, "s3-access")
    assert works(session)

    world.emulator.set_clock_offset(61)  # nobody sweeps: the cut written with the grant does it alone
    try:
        assert not works(session)
    finally:
        world.emulator.set_clock_offset(0)
    assert broker.repo.get(grant.id).state.value == "active"


def unreachable(doc: dict) -> None:
    doc["target_accounts"] = {TARGET_ACCOUNT: {"external_id": "not-what-the-guard-role-trusts"}}


def test_an_unreachable_target_account_leaves_the_grant_working_and_the_guard_pending(
        world, catalog_file, iam, clock) -> None:
    broker = catalog_file(unreachable)
    people = People(broker)
    grant = people.grant()

    assert grant.state.value == "active" and grant.guard_pending
    assert grant.sessions_end_by == grant.grant.expires_at + timedelta(hours=1)
    assert works(open_session(world, "s3-access")), "the source-side policy is the gate: the grant works"
    assert "session_guard_failed" in people.kinds(grant.id)
    assert not guard(world).guards_grant("s3-access", grant.grant.expires_at)

    still = catalog_file(unreachable).sweep()  # retried; it stays pending while the account refuses
    assert still.done["session_guard_pending"] == 1
    clock.advance(minutes=1)  # a refused retry waits a minute before the next (then longer)
    caught_up = catalog_file(lambda doc: None)
    done = caught_up.sweep()

    assert done.done["session_guard_written"] == 1
    assert not caught_up.repo.get(grant.id).guard_pending
    assert guard(world).guards_grant("s3-access", grant.grant.expires_at)
    assert "session_guard_caught_up" in [e.kind for e in caught_up.repo.events(grant.id)]


def test_a_revoke_the_target_account_refuses_is_cut_by_the_next_sweep(world, catalog_file, iam, clock) -> None:
    people = People(catalog_file(lambda doc: None))
    grant = people.grant()
    session = open_session(world, "s3-access")
    broken = catalog_file(unreachable)

    revoked = broken.revoke(People(broken).caller("s3-access"), grant.id)

    assert revoked.state.value == "revoked" and revoked.guard_pending
    assert revoked.sessions_end_by == revoked.ended_at + timedelta(hours=1)
    assert works(session), "nothing cut it yet"
    fixed = catalog_file(lambda doc: None)
    fixed.sweep()
    assert not works(session)
    assert not fixed.repo.get(grant.id).guard_pending


def test_drift_repair_puts_back_a_cut_someone_removed(world, people, broker) -> None:
    grant = people.grant()
    world.client("iam", "target-admin").delete_role_policy(RoleName=ROLE_NAME, PolicyName=POLICY_NAME)

    report = broker.sweep()

    assert f"{grant.id}: session guard expiry restored" in report.repaired
    assert guard(world).guards_grant("s3-access", grant.grant.expires_at)
    assert any(e.details.get("action") == "session_guard_restored" for e in broker.repo.events(grant.id))


@pytest.mark.parametrize("rounds", [2])
def test_concurrent_grants_on_one_role_lose_nobodys_statement(world, people, broker, rounds: int) -> None:
    for _ in range(rounds):
        asked = [people.ask(who=who) for who in ("s3-access", "alice", "carol")]
        bob, errors = people.caller("bob"), []

        def approve(request_id: str) -> None:
            try:
                broker.approve(bob if request_id != asked[0].id else people.caller("carol"), request_id)
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=approve, args=(r.id,)) for r in asked]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert not errors
        granted = [broker.repo.get(r.id) for r in asked]
        assert all(r.state.value == "active" and not r.guard_pending for r in granted)
        current = guard(world)
        assert all(current.guards_grant(r.requester_iam_user, r.grant.expires_at) for r in granted), current
