"""Issue 24, points 5 and 9, in the local world: what the guard role may do and what drift says about the switch
roles. An inline policy the broker did not write is said; a statement slipped into the guard itself is taken out;
the last cut pruned leaves the guard in place saying nothing (the guard role cannot delete); a role allowing longer
sessions than the broker counts on keeps its cuts as long as its sessions may last, and is said."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Iterator

import pytest

from chalicelib.domain.session_guard import NO_CUT, POLICY_NAME, REVOKE
from tests.expiry.test_open_sessions import ROLE_ARN, guard
from tests.iam.test_guard_role_power import BACKDOOR, as_guard_role
from tools.world import ROLE_NAME, TARGET_ACCOUNT


def guard_document(world: Any) -> dict:
    return world.client("iam", "target-admin").get_role_policy(RoleName=ROLE_NAME, PolicyName=POLICY_NAME)[
        "PolicyDocument"]


@pytest.fixture
def two_hour_role(world: Any) -> Iterator[None]:
    admin = world.client("iam", "target-admin")
    admin.update_role(RoleName=ROLE_NAME, MaxSessionDuration=7200)
    yield
    admin.update_role(RoleName=ROLE_NAME, MaxSessionDuration=3600)


def test_drift_says_an_inline_policy_written_through_the_guard_role_and_nothing_when_there_is_none(
        world, people, broker, recorder) -> None:
    people.grant()
    broker.repair_drift()
    assert recorder.alerts == [], "the guard alone is the broker's"

    as_guard_role(world).put_role_policy(RoleName=ROLE_NAME, PolicyName="backdoor",
                                         PolicyDocument=json.dumps(BACKDOOR))
    try:
        broker.repair_drift()
    finally:
        world.client("iam", "target-admin").delete_role_policy(RoleName=ROLE_NAME, PolicyName="backdoor")

    (alert,) = recorder.alerts
    assert "backdoor" in alert and ROLE_ARN in alert, alert


def test_a_statement_slipped_into_the_guard_is_taken_out_and_the_cuts_stay(world, people, broker, recorder) -> None:
    people.grant()
    ours = guard_document(world)
    as_guard_role(world).put_role_policy(RoleName=ROLE_NAME, PolicyName=POLICY_NAME, PolicyDocument=json.dumps(
        {**ours, "Statement": [*ours["Statement"], {**BACKDOOR["Statement"][0], "Sid": "Backdoor"}]}))

    broker.repair_drift()

    assert guard_document(world) == ours, "the guard says the broker's cuts and nothing else"
    assert any(POLICY_NAME in alert and "did not write" in alert for alert in recorder.alerts), recorder.alerts


def test_the_last_cut_pruned_leaves_the_guard_in_place_saying_nothing(world, people, broker, clock) -> None:
    granted = people.grant()
    broker.revoke(people.caller("s3-access"), granted.id)
    clock.advance(hours=2)  # the revoke's cut and the expiry's can no longer match a session

    broker.sessions.prune(TARGET_ACCOUNT, ROLE_ARN)

    assert guard_document(world)["Statement"] == [NO_CUT], "pruned to the statement nothing meets, not deleted"


def test_a_role_allowing_two_hour_sessions_keeps_a_cut_for_two_hours_and_is_said(
        world, people, broker, clock, recorder, two_hour_role) -> None:
    granted = people.grant()
    broker.revoke(people.caller("s3-access"), granted.id)
    (cut,) = [c for c in guard(world).cuts if c.kind == REVOKE]

    clock.now = cut.at + timedelta(minutes=90)
    broker.sessions.prune(TARGET_ACCOUNT, ROLE_ARN)
    assert cut in guard(world).cuts, "a 2-hour session issued before the cut is still live 90 minutes after it"

    clock.now = cut.at + timedelta(hours=2)
    broker.sessions.prune(TARGET_ACCOUNT, ROLE_ARN)
    assert cut not in guard(world).cuts, "pruned once no session of the role could match it"

    broker.repair_drift()
    assert any("7200 s" in alert and ROLE_ARN in alert for alert in recorder.alerts), recorder.alerts
