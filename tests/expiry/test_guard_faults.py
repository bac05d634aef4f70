"""The session guard when the target account answers as AWS does and moto never would: credentials that have expired,
IAM's LimitExceeded on the guard policy, another run holding the role's lease, and old cuts left to prune."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from chalicelib.aws.session_guard import GuardTarget, IamSessionGuard
from chalicelib.domain.requests import State
from chalicelib.domain.session_guard import EXPIRY, ROLE_EXPIRY
from chalicelib.store.locks import LEASE, LockItem
from tests.expiry.test_open_sessions import ROLE_ARN, guard
from tools.fault_proxy import FaultProxy
from tools.world import GUARD_EXTERNAL_ID, GUARD_ROLE, ROLE_NAME, TARGET_ACCOUNT

TARGET = GuardTarget(TARGET_ACCOUNT, ROLE_NAME, f"arn:aws:iam::{TARGET_ACCOUNT}:role/{GUARD_ROLE}", GUARD_EXTERNAL_ID)


@pytest.fixture
def world_clock(world: Any) -> Iterator[Any]:
    yield world.emulator
    world.emulator.set_clock_offset(0)


def test_guard_credentials_iam_calls_expired_are_dropped_and_assumed_again(world, broker, world_clock) -> None:
    """The broker's cache says the guard role's session still has a while to go; the target account's clock says it
    has ended (clocks differ, or the session was cut short): ExpiredToken, then a new session, then the call."""
    adapter = IamSessionGuard(sleep=lambda _: None)  # its clock: now, so its cache holds the first session
    adapter.read(TARGET)
    assert adapter.assumed == 1

    world_clock.set_clock_offset(3600)  # the guard role's session (3600 s) has ended in the target account
    assert adapter.read(TARGET) is None, "the read succeeds, with a new session"
    assert adapter.assumed == 2, "the expired session was dropped and the guard role assumed once more"
    adapter.read(TARGET)
    assert adapter.assumed == 2, "the new session is kept"


@pytest.fixture
def guard_faults(world: Any, broker: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """The guard's IAM and STS calls go through the fault proxy (the guard builds its clients on first use)."""
    proxy = FaultProxy(world.emulator.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", proxy.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", proxy.endpoint)
    broker.grants._client = None
    broker.sessions.iam.sleep = lambda _: None
    yield proxy
    proxy.stop()
    broker.grants._client = None


def test_iam_refusing_the_guard_for_its_size_folds_it_and_says_so(world, people, broker, recorder,
                                                                    guard_faults) -> None:
    guard_faults.fail("PutRolePolicy", code="LimitExceeded", service="iam",
                      message="Maximum policy size of 10240 bytes exceeded for role switch-role-for-S3")

    granted = people.grant()

    assert granted.state == State.ACTIVE and not broker.repo.get(granted.id).guard_pending
    assert guard_faults.seen["PutRolePolicy"] == 2, "refused once for its size, then written folded"
    assert {c.kind for c in guard(world).cuts} == {ROLE_EXPIRY}, "the whole-role expiry stands in IAM"
    assert "session_guard_whole_role" in people.kinds(granted.id)
    assert any("fell back to the whole-role cut" in alert for alert in recorder.alerts), recorder.alerts


def test_a_guard_role_session_iam_says_has_expired_is_renewed_within_the_grant(world, people, broker,
                                                                                guard_faults) -> None:
    guard_faults.fail("PutRolePolicy", code="ExpiredToken", service="iam")

    granted = people.grant()

    assert not broker.repo.get(granted.id).guard_pending
    assert broker.sessions.iam.assumed == 2, "the refused session was dropped and the guard role assumed again"
    assert [c.user for c in guard(world).cuts if c.kind == EXPIRY] == ["s3-access"]


def test_another_run_holding_the_roles_lease_leaves_the_revoke_answered_and_the_guard_pending(
        world, people, broker, api, clock, iam) -> None:
    granted = people.grant()
    LockItem(f"LOCK#guard#{ROLE_ARN}", "LOCK", owner="another-run",
             expires=int((clock() + LEASE).timestamp())).save()  # a sweeper is writing this role's guard
    broker.sessions.leases.sleep = lambda _: None

    answer = api.post(f"/v1/requests/{granted.id}/revoke", "s3-access")

    assert answer.status_code == 200, answer.body
    assert answer.json["state"] == "revoked"
    assert broker.repo.get(granted.id).guard_pending, "the cut is owed, for the sweeper to write"
    assert "session_guard_failed" in people.kinds(granted.id)
    assert iam.attached() == [], "the grant is detached while the cut waits for the lease"


def test_cuts_no_session_can_match_are_pruned_when_the_guard_is_next_written(world, people, broker, clock) -> None:
    people.grant(who="alice")
    clock.advance(hours=2, seconds=1)  # alice's end + the longest session: her cut can match nothing any more
    # nobody sweeps: the next write alone must drop it

    people.grant()

    assert {(c.kind, c.user) for c in guard(world).cuts} == {(EXPIRY, "s3-access")}, guard(world).cuts


def test_a_role_nobody_touches_is_pruned_by_the_sweepers_call(world, people, broker, clock) -> None:
    people.grant(who="alice")
    clock.advance(hours=2, seconds=1)

    written = broker.sessions.prune(TARGET_ACCOUNT, ROLE_ARN)

    assert written.changed and guard(world).cuts == frozenset(), "nothing left that could match a session"
    assert not broker.sessions.prune(TARGET_ACCOUNT, ROLE_ARN).changed, "pruning again writes nothing"
