"""The local world takes IAM policy changes into effect late, as IAM does (tools/iam_propagation.py).

Each case changes a policy the way the broker does (its own keys for the grant, the guard role for a cut) and
asks at once, then once the delay has passed. The delay is measured on the world clock, so "once it has passed"
moves the clock forward instead of sleeping; the delay is long enough that "at once" never races it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.integration.local_world import CONTRACT_TRUST, LocalWorld, grant, refused
from tools.moto_conditions import iso
from tools.world import (
    GUARD_EXTERNAL_ID,
    GUARD_ROLE,
    ROLE_NAME,
    SOURCE_ACCOUNT,
    TARGET_ACCOUNT,
    Emulator,
    Keys,
    aws_client,
    start_world,
)

DELAY_S = 30.0
GUARD_ARN = f"arn:aws:iam::{TARGET_ACCOUNT}:role/{GUARD_ROLE}"
CUT_POLICY = "access-broker-session-guard"


class PropagatingWorld(LocalWorld):
    offset = 0.0  # the world clock's offset the test has moved it to

    def settle(self) -> None:
        """Moves the world clock past the delay: every change made so far is in force."""
        self.offset += DELAY_S + 1
        self.emulator.set_clock_offset(self.offset)

    def attach_grant(self, person: str) -> str:
        """What the broker does on approval: a managed policy, created and attached with the broker's own keys."""
        iam = aws_client(self.endpoint, "iam", self.keys["broker"])
        document = grant(self.now() + timedelta(hours=4))
        arn: str = iam.create_policy(PolicyName=f"grant-{person}", Path="/access-broker/",
                                     PolicyDocument=json.dumps(document))["Policy"]["Arn"]
        iam.attach_user_policy(UserName=person, PolicyArn=arn)
        return arn

    def detach_grant(self, person: str, arn: str) -> None:
        """What the broker does at the end: detach, then delete the policy."""
        iam = aws_client(self.endpoint, "iam", self.keys["broker"])
        iam.detach_user_policy(UserName=person, PolicyArn=arn)
        iam.delete_policy(PolicyArn=arn)

    def cut(self, person: str) -> None:
        """What the broker's session guard does on a revoke: through the guard role, an inline Deny on the switch
        role for the person's sessions issued before now."""
        broker = aws_client(self.endpoint, "sts", self.keys["broker"])
        creds = broker.assume_role(RoleArn=GUARD_ARN, RoleSessionName="access-broker",
                                   ExternalId=GUARD_EXTERNAL_ID)["Credentials"]
        guard = Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        document = {"Version": "2012-10-17", "Statement": [{
            "Sid": "Revoke", "Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"StringLike": {"aws:userid": f"*:{person}"},
                          "DateLessThan": {"aws:TokenIssueTime": iso(self.now())}}}]}
        aws_client(self.endpoint, "iam", guard).put_role_policy(
            RoleName=ROLE_NAME, PolicyName=CUT_POLICY, PolicyDocument=json.dumps(document))


@pytest.fixture(scope="module")
def local_world() -> Iterator[PropagatingWorld]:
    emulator, keys = start_world()
    try:
        yield PropagatingWorld(emulator, keys)
    finally:
        emulator.stop()


@pytest.fixture(params=[DELAY_S])
def world(local_world: PropagatingWorld, request: pytest.FixtureRequest) -> Iterator[PropagatingWorld]:
    """The module's world with the delay on, no grants, no cut, the clock at real time."""
    local_world.offset = 0.0
    local_world.emulator.set_clock_offset(0)
    local_world.set_trust(CONTRACT_TRUST)
    local_world.emulator.set_propagation(request.param)
    yield local_world
    local_world.emulator.set_propagation(0)
    local_world.emulator.set_clock_offset(0)

    def clean_source(iam: Any) -> None:
        for person in ("s3-access", "alice", "bob", "carol"):
            for attached in iam.list_attached_user_policies(UserName=person)["AttachedPolicies"]:
                iam.detach_user_policy(UserName=person, PolicyArn=attached["PolicyArn"])
                iam.delete_policy(PolicyArn=attached["PolicyArn"])

    def clean_target(iam: Any) -> None:
        if CUT_POLICY in iam.list_role_policies(RoleName=ROLE_NAME)["PolicyNames"]:
            iam.delete_role_policy(RoleName=ROLE_NAME, PolicyName=CUT_POLICY)

    local_world.as_admin(SOURCE_ACCOUNT, clean_source)
    local_world.as_admin(TARGET_ACCOUNT, clean_target)


def test_an_attached_grant_opens_the_role_only_once_the_delay_has_passed(world: PropagatingWorld) -> None:
    alice = world.keys["alice"]
    world.attach_grant("alice")
    assert refused(lambda: world.assume(alice, "alice")), "a grant attached a moment ago already opened the role"
    world.settle()
    assert world.list_bucket(world.assume(alice, "alice")) == ["hello.txt"]


def test_iam_reads_its_own_writes_at_once(world: PropagatingWorld) -> None:
    arn = world.attach_grant("bob")
    iam = aws_client(world.endpoint, "iam", world.keys["broker"])
    attached = iam.list_attached_user_policies(UserName="bob")["AttachedPolicies"]
    assert [policy["PolicyArn"] for policy in attached] == [arn]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert refused(lambda: world.assume(world.keys["bob"], "bob"))


def test_a_detached_grant_keeps_opening_the_role_until_the_delay_has_passed(world: PropagatingWorld) -> None:
    carol = world.keys["carol"]
    arn = world.attach_grant("carol")
    world.settle()
    world.assume(carol, "carol")
    world.detach_grant("carol", arn)
    assert world.list_bucket(world.assume(carol, "carol")) == ["hello.txt"], "a detach took effect at once"
    world.settle()
    assert refused(lambda: world.assume(carol, "carol"))


def test_a_cut_stops_the_session_only_once_the_delay_has_passed(world: PropagatingWorld) -> None:
    world.attach_grant("s3-access")
    world.settle()
    session = world.assume(world.keys["s3-access"], "s3-access")
    world.cut("s3-access")
    assert world.list_bucket(session) == ["hello.txt"], "a cut written a moment ago already stopped the session"
    world.settle()
    assert refused(lambda: world.list_bucket(session))


@pytest.mark.parametrize("world", [0.0], indirect=True)
def test_with_no_delay_every_change_is_in_force_at_once(world: PropagatingWorld) -> None:
    alice = world.keys["alice"]
    arn = world.attach_grant("alice")
    session = world.assume(alice, "alice")
    world.cut("alice")
    assert refused(lambda: world.list_bucket(session))
    world.detach_grant("alice", arn)
    assert refused(lambda: world.assume(alice, "alice"))


def test_a_clock_moved_back_leaves_a_change_pending_for_the_delay_only(world: PropagatingWorld) -> None:
    """A change made while the clock was ahead must not wait for the clock to catch up again."""
    world.emulator.set_clock_offset(3600)
    world.attach_grant("bob")
    world.emulator.set_clock_offset(0)
    world.offset = 0.0
    world.settle()
    assert world.list_bucket(world.assume(world.keys["bob"], "bob")) == ["hello.txt"]


def test_the_delay_is_set_shown_reset_and_bad_input_is_named() -> None:
    with Emulator.start() as emulator:
        def propagation(body: bytes | None = None) -> Any:
            request = urllib.request.Request(f"{emulator.endpoint}/_world/propagation", data=body,
                                             method="POST" if body is not None else "GET")
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())

        assert propagation() == {"seconds": 0}
        emulator.set_propagation(1.5)
        assert propagation() == {"seconds": 1.5}
        for bad in (b'{"seconds": -1}', b'{"seconds": "soon"}', b'{"delay": 1}', b"five"):
            with pytest.raises(urllib.error.HTTPError) as info:
                propagation(bad)
            assert info.value.code == 400
            assert '"seconds"' in json.loads(info.value.read())["Error"]
        assert propagation() == {"seconds": 1.5}
        emulator.reset()
        assert propagation() == {"seconds": 0}


def test_a_change_in_force_stays_in_force_when_the_delay_is_raised_again(world: PropagatingWorld) -> None:
    """What a test's teardown and the next test's setup do on a shared world: lower the delay, move the clock back,
    raise the delay. A grant detached before must not open the role again."""
    alice = world.keys["alice"]
    arn = world.attach_grant("alice")
    world.settle()
    world.assume(alice, "alice")
    world.detach_grant("alice", arn)
    world.emulator.set_propagation(0)
    world.emulator.set_clock_offset(0)
    world.emulator.set_propagation(DELAY_S)
    assert refused(lambda: world.assume(alice, "alice")), "a grant detached and in force came back"
