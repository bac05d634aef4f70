"""The local world evaluates the IAM conditions the broker relies on (tools/moto_conditions.py), over real HTTP.

Each test shapes its own world (a private emulator, set up with IAM enforcement briefly off) and then acts as
the people do, with their own keys: grants that expire, sessions named after their person, a trust policy
that only IAM users of the source account satisfy, and session guards that cut one person's older sessions.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.local_world import (
    CONTRACT_TRUST,
    ROLE_ARN,
    LocalWorld,
    grant,
    refused,
    trust,
)
from tools.moto_conditions import iso
from tools.world import (
    BUCKET,
    GUARD_EXTERNAL_ID,
    GUARD_ROLE,
    GUARDED_TAG,
    ROLE_NAME,
    SOURCE_ACCOUNT,
    TARGET_ACCOUNT,
    Emulator,
    Keys,
    aws_client,
    start_world,
)


@pytest.fixture(scope="module")
def local_world() -> Iterator[LocalWorld]:
    emulator, keys = start_world()
    try:
        yield LocalWorld(emulator, keys)
    finally:
        emulator.stop()


@pytest.fixture
def world(local_world: LocalWorld) -> Iterator[LocalWorld]:
    """The module's world with the contract's trust, no grants, no guard and the clock at real time."""
    local_world.emulator.set_clock_offset(0)
    local_world.set_trust(CONTRACT_TRUST)
    yield local_world
    local_world.emulator.set_clock_offset(0)

    def clean(iam: Any) -> None:
        for person in ("s3-access", "alice", "bob", "carol"):
            for name in iam.list_user_policies(UserName=person)["PolicyNames"]:
                iam.delete_user_policy(UserName=person, PolicyName=name)

    local_world.as_admin(SOURCE_ACCOUNT, clean)
    local_world.as_admin(TARGET_ACCOUNT, lambda iam: [
        iam.delete_role_policy(RoleName=ROLE_NAME, PolicyName=name)
        for name in iam.list_role_policies(RoleName=ROLE_NAME)["PolicyNames"] if name == "session-guard"])


def test_a_grant_past_its_deadline_no_longer_opens_the_role_and_a_live_one_does(world: LocalWorld) -> None:
    alice = world.keys["alice"]
    world.set_grant("alice", grant(world.now() - timedelta(minutes=1)))
    assert refused(lambda: world.assume(alice, "alice"))

    world.set_grant("alice", grant(world.now() + timedelta(hours=1)))
    session = world.assume(alice, "alice")
    assert world.list_bucket(session) == ["hello.txt"]


def test_a_session_not_named_after_its_person_is_refused_by_the_grant(world: LocalWorld) -> None:
    alice = world.keys["alice"]
    world.set_trust(trust())  # no trust condition: only the grant's StringEquals can refuse
    world.set_grant("alice", grant(world.now() + timedelta(hours=1)))
    assert refused(lambda: world.assume(alice, "bob"))
    assert refused(lambda: world.assume(alice, "alice-demo"))
    assert world.list_bucket(world.assume(alice, "alice")) == ["hello.txt"]


def test_a_session_not_named_after_its_person_is_refused_by_the_trust_policy(world: LocalWorld) -> None:
    bob = world.keys["bob"]
    world.set_grant("bob", grant(world.now() + timedelta(hours=1), session_name_condition=False))
    assert refused(lambda: world.assume(bob, "alice"))
    assert world.list_bucket(world.assume(bob, "bob")) == ["hello.txt"]


def test_the_trust_policy_refuses_a_role_of_the_source_account(world: LocalWorld) -> None:
    """A role session of 111111111111 is a principal of that account, yet not an IAM user: ArnLike refuses it."""
    helper_role = f"arn:aws:iam::{SOURCE_ACCOUNT}:role/helper"

    def make_helper(iam: Any) -> None:
        if "helper" not in [role["RoleName"] for role in iam.list_roles()["Roles"]]:
            iam.create_role(RoleName="helper", AssumeRolePolicyDocument=json.dumps(trust()))
        iam.put_role_policy(RoleName="helper", PolicyName="hop", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE_ARN}]}))
        iam.put_user_policy(UserName="carol", PolicyName="helper", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": helper_role}]}))

    world.as_admin(SOURCE_ACCOUNT, make_helper)
    helper_session = world.assume(world.keys["carol"], "carol", helper_role)

    world.set_trust(trust())  # the account's root alone: any principal of 111111111111
    assert world.list_bucket(world.assume(helper_session, "carol")) == ["hello.txt"]

    world.set_trust(trust({"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/*"}}))
    assert refused(lambda: world.assume(helper_session, "carol"))

    world.set_trust(CONTRACT_TRUST)
    assert refused(lambda: world.assume(helper_session, "carol"))


def test_a_trust_policy_of_another_account_is_read_from_that_account(world: LocalWorld) -> None:
    """Before, moto skipped a cross-account trust policy: a role trusting some other account let us in."""
    alice = world.keys["alice"]
    world.set_grant("alice", grant(world.now() + timedelta(hours=1)))
    world.set_trust({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::333333333333:root"}, "Action": "sts:AssumeRole"}]})
    assert refused(lambda: world.assume(alice, "alice"))


def test_only_the_broker_with_its_external_id_may_assume_the_guard_role(world: LocalWorld) -> None:
    """The seed's guard role trusts one exact user ARN of the other account, with StringEquals sts:ExternalId."""
    guard_arn = f"arn:aws:iam::{TARGET_ACCOUNT}:role/{GUARD_ROLE}"
    broker = aws_client(world.endpoint, "sts", world.keys["broker"])

    def assume(external_id: str | None) -> Any:
        extra = {} if external_id is None else {"ExternalId": external_id}
        return broker.assume_role(RoleArn=guard_arn, RoleSessionName="access-broker", **extra)

    assert assume(GUARD_EXTERNAL_ID)["AssumedRoleUser"]["Arn"].endswith(f":assumed-role/{GUARD_ROLE}/access-broker")
    assert refused(lambda: assume("access-broker-999999999999"))
    assert refused(lambda: assume(None))
    world.set_grant("alice", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": guard_arn}]})
    alice = aws_client(world.endpoint, "sts", world.keys["alice"])
    assert refused(lambda: alice.assume_role(RoleArn=guard_arn, RoleSessionName="alice", ExternalId=GUARD_EXTERNAL_ID))


def test_the_guard_role_writes_only_on_roles_tagged_as_guarded(world: LocalWorld) -> None:
    """Before, moto counted aws:ResourceTag conditions as met: the guard role could write on itself (issue 24)."""
    creds = aws_client(world.endpoint, "sts", world.keys["broker"]).assume_role(
        RoleArn=f"arn:aws:iam::{TARGET_ACCOUNT}:role/{GUARD_ROLE}", RoleSessionName="access-broker",
        ExternalId=GUARD_EXTERNAL_ID)["Credentials"]
    guard = aws_client(world.endpoint, "iam", Keys(creds["AccessKeyId"], creds["SecretAccessKey"],
                                                     creds["SessionToken"]))
    document = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]})

    def write_on(role: str) -> Any:
        return guard.put_role_policy(RoleName=role, PolicyName="probe", PolicyDocument=document)

    try:
        write_on(ROLE_NAME)
        assert refused(lambda: write_on(GUARD_ROLE)), "the guard role wrote a policy on itself"
        world.as_admin(TARGET_ACCOUNT, lambda iam: iam.untag_role(RoleName=ROLE_NAME, TagKeys=[GUARDED_TAG]))
        assert refused(lambda: write_on(ROLE_NAME)), "the guard role wrote on a switch role no longer guarded"
    finally:
        def restore(iam: Any) -> None:
            iam.tag_role(RoleName=ROLE_NAME, Tags=[{"Key": GUARDED_TAG, "Value": "true"}])
            for role in (ROLE_NAME, GUARD_ROLE):
                if "probe" in iam.list_role_policies(RoleName=role)["PolicyNames"]:
                    iam.delete_role_policy(RoleName=role, PolicyName="probe")

        world.as_admin(TARGET_ACCOUNT, restore)


def test_a_session_of_a_deleted_role_is_refused(world: LocalWorld) -> None:
    temp_arn = f"arn:aws:iam::{TARGET_ACCOUNT}:role/temporary"

    def make(iam: Any) -> None:
        iam.create_role(RoleName="temporary", AssumeRolePolicyDocument=json.dumps(trust()))
        iam.put_role_policy(RoleName="temporary", PolicyName="s3", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))

    def delete(iam: Any) -> None:
        iam.delete_role_policy(RoleName="temporary", PolicyName="s3")
        iam.delete_role(RoleName="temporary")

    world.as_admin(TARGET_ACCOUNT, make)
    world.set_grant("alice", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": temp_arn}]})
    session = world.assume(world.keys["alice"], "alice", temp_arn)
    assert world.list_bucket(session) == ["hello.txt"]
    world.as_admin(TARGET_ACCOUNT, delete)
    assert refused(lambda: world.list_bucket(session))
    assert refused(lambda: world.assume(world.keys["alice"], "alice", temp_arn))


def test_a_cut_for_alice_ends_her_older_sessions_only(world: LocalWorld) -> None:
    for person in ("alice", "s3-access"):
        world.set_grant(person, grant(world.now() + timedelta(hours=1)))
    alice_before = world.assume(world.keys["alice"], "alice")
    s3_access_before = world.assume(world.keys["s3-access"], "s3-access")
    cut = world.now() + timedelta(seconds=30)
    world.emulator.set_clock_offset(60)
    alice_after = world.assume(world.keys["alice"], "alice")
    assert world.list_bucket(alice_before) == ["hello.txt"]  # nothing cut yet

    world.set_guard([{
        "Sid": "CutAlice", "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"StringLike": {"aws:userid": "*:alice"}, "DateLessThan": {"aws:TokenIssueTime": iso(cut)}},
    }])
    assert refused(lambda: world.list_bucket(alice_before))
    assert refused(lambda: world.read_hello(alice_before))
    assert world.read_hello(s3_access_before) == b"hello from account 2\n"
    assert world.list_bucket(s3_access_before) == ["hello.txt"]
    assert world.read_hello(alice_after) == b"hello from account 2\n"


def test_an_expiry_guard_cuts_older_sessions_from_its_moment_on(world: LocalWorld) -> None:
    world.set_grant("bob", grant(world.now() + timedelta(hours=1)))
    bob_session = world.assume(world.keys["bob"], "bob")
    end = world.now() + timedelta(minutes=10)
    world.set_guard([{
        "Sid": "BobGrantEnds", "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"DateGreaterThanEquals": {"aws:CurrentTime": iso(end)},
                      "DateLessThan": {"aws:TokenIssueTime": iso(end)}},
    }])
    assert world.list_bucket(bob_session) == ["hello.txt"]  # before the end

    world.emulator.set_clock_offset(11 * 60)
    assert refused(lambda: world.list_bucket(bob_session))
    later_session = world.assume(world.keys["bob"], "bob")  # issued after the end: untouched
    assert world.list_bucket(later_session) == ["hello.txt"]


def test_a_session_longer_than_the_roles_max_session_duration_is_refused(world: LocalWorld) -> None:
    """STS refuses DurationSeconds above the role's MaxSessionDuration: moto issued 7200 s sessions of a 3600 s role."""
    world.set_grant("alice", grant(world.now() + timedelta(hours=4)))
    sts = aws_client(world.endpoint, "sts", world.keys["alice"])

    def assume(seconds: int) -> Any:
        return sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="alice", DurationSeconds=seconds)

    assume(3600)
    for seconds in (3601, 7200):
        with pytest.raises(ClientError) as info:
            assume(seconds)
        assert info.value.response["Error"] == {
            "Type": "Sender", "Code": "ValidationError",
            "Message": "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."}
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    world.as_admin(TARGET_ACCOUNT, lambda iam: iam.update_role(RoleName=ROLE_NAME, MaxSessionDuration=7200))
    try:
        creds = assume(7200)["Credentials"]
        session = Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        assert world.list_bucket(session) == ["hello.txt"]
    finally:
        world.as_admin(TARGET_ACCOUNT, lambda iam: iam.update_role(RoleName=ROLE_NAME, MaxSessionDuration=3600))


def test_a_session_past_its_expiration_is_refused_as_aws_refuses_it(world: LocalWorld) -> None:
    world.set_grant("carol", grant(world.now() + timedelta(hours=2)))
    sts = aws_client(world.endpoint, "sts", world.keys["carol"])
    creds = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="carol", DurationSeconds=900)["Credentials"]
    session = Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    world.emulator.set_clock_offset(899)
    assert world.list_bucket(session) == ["hello.txt"], "a second before its end the session still works"

    world.emulator.set_clock_offset(900)
    for call, status, message in (
            (lambda: world.list_bucket(session), 400, "The provided token has expired."),
            (lambda: aws_client(world.endpoint, "sts", session).get_caller_identity(), 403,
             "The security token included in the request is expired")):
        with pytest.raises(ClientError) as expired:
            call()
        error = expired.value.response
        assert (error["Error"]["Code"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("ExpiredToken", status)
        assert error["Error"]["Message"] == message
    assert world.list_bucket(world.assume(world.keys["carol"], "carol")) == ["hello.txt"], "a new session works"


def test_the_clock_offset_moves_current_time_and_session_issue_time(world: LocalWorld) -> None:
    carol = world.keys["carol"]
    real = world.now()
    world.set_grant("carol", grant(real + timedelta(minutes=10)))
    world.assume(carol, "carol")

    world.emulator.set_clock_offset(11 * 60)
    assert world.now() - real >= timedelta(minutes=11)
    assert refused(lambda: world.assume(carol, "carol"))

    world.emulator.set_clock_offset(0)
    sts = aws_client(world.endpoint, "sts", carol)
    expiration = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="carol", DurationSeconds=900)[
        "Credentials"]["Expiration"]
    assert abs(expiration - (real + timedelta(seconds=900))) < timedelta(seconds=30)

    world.emulator.set_clock_offset(-86400)  # a day back: the grant is live, and sessions are issued a day ago
    expiration = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="carol", DurationSeconds=900)[
        "Credentials"]["Expiration"]
    assert abs(expiration - (real - timedelta(days=1) + timedelta(seconds=900))) < timedelta(seconds=30)


def test_reset_puts_the_clock_back_and_bad_input_is_named() -> None:
    with Emulator.start() as emulator:
        emulator.set_clock_offset(3600)
        with urllib.request.urlopen(f"{emulator.endpoint}/_world/clock", timeout=10) as response:
            assert json.loads(response.read())["offset_seconds"] == 3600
        emulator.reset()
        with urllib.request.urlopen(f"{emulator.endpoint}/_world/clock", timeout=10) as response:
            assert json.loads(response.read())["offset_seconds"] == 0
        with pytest.raises(urllib.error.HTTPError) as info:
            request = urllib.request.Request(f"{emulator.endpoint}/_world/clock", data=b'{"offset": 5}',
                                             method="POST", headers={"Content-Type": "application/json"})
            urllib.request.urlopen(request, timeout=10)
        assert info.value.code == 400
        assert "offset_seconds" in info.value.read().decode()


# ------------------------------------------------------------------ case by case against a real IAM evaluator

ROLE_ID = "AROAEXAMPLEROLEID0001"
ALICE_ID = "AIDAEXAMPLEALICE0001"
OBJECT = f"arn:aws:s3:::{BUCKET}/hello.txt"
T = "2026-12-01T12:00:00Z"  # the moment each date condition names
BEFORE, AFTER = "2026-12-01T11:59:59Z", "2026-12-01T12:00:01Z"  # the boundary seconds around it
ALLOW_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
TRUST_ROOT = trust()


def _statement(effect: str, action: str, condition: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": effect, "Action": action, "Resource": ROLE_ARN if action == "sts:AssumeRole" else "*",
         "Condition": condition}]}


def switch(condition: dict[str, Any], session_name: str = "alice", now: str = BEFORE, in_trust: bool = False,
           external_id: str | None = None, user: str = "alice", resource_tags: dict[str, str] | None = None) -> Any:
    """alice (an IAM user of the source account) assuming the switch role; the condition sits in her grant, or
    in the role's trust policy when `in_trust`."""
    from tools.iam_evaluator import Case

    context = {"aws:CurrentTime": now, "aws:username": user, "aws:userid": ALICE_ID,
               "aws:PrincipalArn": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/{user}",
               "aws:PrincipalAccount": SOURCE_ACCOUNT, "sts:RoleSessionName": session_name}
    if external_id is not None:
        context["sts:ExternalId"] = external_id
    context.update({f"aws:ResourceTag/{key}": value for key, value in (resource_tags or {}).items()})
    grant_policy = _statement("Allow", "sts:AssumeRole", {} if in_trust else condition)
    trust_policy = trust(condition) if in_trust else TRUST_ROOT
    return Case(principal=f"arn:aws:iam::{SOURCE_ACCOUNT}:user/{user}", action="sts:AssumeRole", resource=ROLE_ARN,
                resource_account=TARGET_ACCOUNT, context=context, identity_policies=[grant_policy],
                resource_policy=trust_policy)


def hop(condition: dict[str, Any]) -> Any:
    """A session of a role of the source account assuming the switch role; the condition in the trust policy."""
    from tools.iam_evaluator import Case

    helper = f"arn:aws:iam::{SOURCE_ACCOUNT}:role/helper"
    context = {"aws:CurrentTime": BEFORE, "aws:userid": "AROAEXAMPLEHELPER0001:carol", "aws:PrincipalArn": helper,
               "aws:PrincipalAccount": SOURCE_ACCOUNT, "aws:TokenIssueTime": BEFORE, "sts:RoleSessionName": "carol"}
    return Case(principal=f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/helper/carol", action="sts:AssumeRole",
                resource=ROLE_ARN, resource_account=TARGET_ACCOUNT, context=context,
                identity_policies=[_statement("Allow", "sts:AssumeRole", {})], resource_policy=trust(condition))


def read(condition: dict[str, Any], effect: str = "Deny", session: str = "alice", issued: str = BEFORE,
         now: str = AFTER) -> Any:
    """A session of the switch role reading hello.txt; the condition on a guard Deny beside its S3 access, or on
    its only Allow."""
    from tools.iam_evaluator import Case

    context = {"aws:CurrentTime": now, "aws:TokenIssueTime": issued, "aws:userid": f"{ROLE_ID}:{session}",
               "aws:PrincipalArn": ROLE_ARN, "aws:PrincipalAccount": TARGET_ACCOUNT}
    guarded = _statement(effect, "*", condition)
    return Case(principal=f"arn:aws:sts::{TARGET_ACCOUNT}:assumed-role/{ROLE_NAME}/{session}", action="s3:GetObject",
                resource=OBJECT, resource_account=TARGET_ACCOUNT, context=context,
                identity_policies=[ALLOW_S3, guarded] if effect == "Deny" else [guarded])


def guard(condition: dict[str, Any], tags: dict[str, str], effect: str = "Allow", role: str = ROLE_NAME,
          action: str = "iam:PutRolePolicy") -> Any:
    """The broker's guard role session writing an inline policy on a role tagged `tags`; the condition on the guard's
    Allow (as targets/guard-role.yaml has it), or on a Deny beside an unconditional Allow."""
    from tools.iam_evaluator import Case

    guard_session = f"arn:aws:sts::{TARGET_ACCOUNT}:assumed-role/{GUARD_ROLE}/access-broker"
    context = {"aws:CurrentTime": BEFORE, "aws:TokenIssueTime": BEFORE,
               "aws:userid": "AROAEXAMPLEGUARD0001:access-broker", "aws:PrincipalAccount": TARGET_ACCOUNT,
               "aws:PrincipalArn": f"arn:aws:iam::{TARGET_ACCOUNT}:role/{GUARD_ROLE}",
               **{f"aws:ResourceTag/{key}": value for key, value in tags.items()}}
    conditioned = {"Effect": effect, "Action": action, "Resource": "*", "Condition": condition}
    allow = {"Effect": "Allow", "Action": action, "Resource": "*"}
    policy = {"Version": "2012-10-17", "Statement": [conditioned] if effect == "Allow" else [allow, conditioned]}
    return Case(principal=guard_session, action=action, resource=f"arn:aws:iam::{TARGET_ACCOUNT}:role/{role}",
                resource_account=TARGET_ACCOUNT, context=context, identity_policies=[policy])


GUARDED = {"StringEquals": {f"aws:ResourceTag/{GUARDED_TAG}": "true"}}
USER_ARNS = {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/*"}}
NAMED_AFTER_USER = {"StringLike": {"sts:RoleSessionName": "${aws:username}"}}
CASES: dict[str, Any] = {
    # Dates on aws:CurrentTime in a grant, at and around the boundary second.
    "DateLessThan CurrentTime, a second before": switch({"DateLessThan": {"aws:CurrentTime": T}}, now=BEFORE),
    "DateLessThan CurrentTime, at it": switch({"DateLessThan": {"aws:CurrentTime": T}}, now=T),
    "DateLessThanEquals CurrentTime, at it": switch({"DateLessThanEquals": {"aws:CurrentTime": T}}, now=T),
    "DateLessThanEquals CurrentTime, a second after": switch({"DateLessThanEquals": {"aws:CurrentTime": T}}, now=AFTER),
    "DateGreaterThan CurrentTime, at it": switch({"DateGreaterThan": {"aws:CurrentTime": T}}, now=T),
    "DateGreaterThan CurrentTime, a second after": switch({"DateGreaterThan": {"aws:CurrentTime": T}}, now=AFTER),
    "DateGreaterThanEquals CurrentTime, a second before": switch(
        {"DateGreaterThanEquals": {"aws:CurrentTime": T}}, now=BEFORE),
    "DateGreaterThanEquals CurrentTime, at it": switch({"DateGreaterThanEquals": {"aws:CurrentTime": T}}, now=T),
    "DateLessThan CurrentTime, offset zone": switch({"DateLessThan": {"aws:CurrentTime": "2026-12-01T13:00:00+01:00"}},
                                                    now=T),
    # Dates on aws:TokenIssueTime in a guard Deny; a user has no such key.
    "guard DateLessThan TokenIssueTime, issued a second before": read(
        {"DateLessThan": {"aws:TokenIssueTime": T}}, issued=BEFORE),
    "guard DateLessThan TokenIssueTime, issued at it": read({"DateLessThan": {"aws:TokenIssueTime": T}}, issued=T),
    "guard DateLessThanEquals TokenIssueTime, issued at it": read(
        {"DateLessThanEquals": {"aws:TokenIssueTime": T}}, issued=T),
    "guard DateGreaterThan TokenIssueTime, issued at it": read(
        {"DateGreaterThan": {"aws:TokenIssueTime": T}}, issued=T),
    "guard DateGreaterThanEquals TokenIssueTime, issued at it": read(
        {"DateGreaterThanEquals": {"aws:TokenIssueTime": T}}, issued=T),
    "Allow DateLessThan TokenIssueTime, a user has none": switch({"DateLessThan": {"aws:TokenIssueTime": T}}),
    "Allow DateLessThanIfExists TokenIssueTime, a user has none": switch(
        {"DateLessThanIfExists": {"aws:TokenIssueTime": T}}),
    # The expiry guard: from its moment on, sessions issued before it.
    "expiry guard, a second before the end": read({"DateGreaterThanEquals": {"aws:CurrentTime": T},
                                                   "DateLessThan": {"aws:TokenIssueTime": T}}, now=BEFORE),
    "expiry guard, at the end": read({"DateGreaterThanEquals": {"aws:CurrentTime": T},
                                      "DateLessThan": {"aws:TokenIssueTime": T}}, now=T, issued=BEFORE),
    "expiry guard, a session issued at the end": read({"DateGreaterThanEquals": {"aws:CurrentTime": T},
                                                       "DateLessThan": {"aws:TokenIssueTime": T}}, now=AFTER, issued=T),
    # The per-person cut: aws:userid and aws:TokenIssueTime together (AND).
    "cut for alice, alice's older session": read({"StringLike": {"aws:userid": "*:alice"},
                                                  "DateLessThan": {"aws:TokenIssueTime": T}}),
    "cut for alice, s3-access's older session": read({"StringLike": {"aws:userid": "*:alice"},
                                                      "DateLessThan": {"aws:TokenIssueTime": T}}, session="s3-access"),
    "cut for alice, alice's newer session": read({"StringLike": {"aws:userid": "*:alice"},
                                                  "DateLessThan": {"aws:TokenIssueTime": T}}, issued=AFTER),
    "StringLike userid ?": read({"StringLike": {"aws:userid": f"{ROLE_ID}:al?ce"}}),
    "StringLike userid, a list is OR": read({"StringLike": {"aws:userid": ["*:bob", "*:alice"]}}),
    "StringNotLike userid": read({"StringNotLike": {"aws:userid": "*:alice"}}, effect="Allow"),
    "StringNotLike userid, another": read({"StringNotLike": {"aws:userid": "*:bob"}}, effect="Allow"),
    "StringLike userid is case-sensitive": read({"StringLike": {"aws:userid": "*:ALICE"}}),
    # Session names: the grant's StringEquals ${aws:username}, and the trust's StringLike.
    "StringEquals RoleSessionName username, own name": switch(
        {"StringEquals": {"sts:RoleSessionName": "${aws:username}"}}),
    "StringEquals RoleSessionName username, another name": switch(
        {"StringEquals": {"sts:RoleSessionName": "${aws:username}"}}, session_name="bob"),
    "StringEquals RoleSessionName username, a longer name": switch(
        {"StringEquals": {"sts:RoleSessionName": "${aws:username}"}}, session_name="alice-demo"),
    "StringNotEquals RoleSessionName": switch({"StringNotEquals": {"sts:RoleSessionName": "bob"}}),
    "StringNotEquals RoleSessionName, a list is NOR": switch(
        {"StringNotEquals": {"sts:RoleSessionName": ["bob", "alice"]}}),
    "StringEquals RoleSessionName, a list is OR": switch({"StringEquals": {"sts:RoleSessionName": ["bob", "alice"]}}),
    "StringEquals is case-sensitive": switch({"StringEquals": {"sts:RoleSessionName": "Alice"}}),
    "StringEqualsIgnoreCase": switch({"StringEqualsIgnoreCase": {"sts:RoleSessionName": "Alice"}}),
    "trust StringLike RoleSessionName username, own name": switch(NAMED_AFTER_USER, in_trust=True),
    "trust StringLike RoleSessionName username, another": switch(NAMED_AFTER_USER, session_name="bob", in_trust=True),
    "policy variable with a default": switch(
        {"StringEquals": {"sts:RoleSessionName": "${aws:FederatedProvider, 'alice'}"}}),
    "policy variable unresolvable": read({"StringEquals": {"aws:userid": "${aws:username}"}}, effect="Allow"),
    # ARNs: the trust's ArnLike aws:PrincipalArn, for a user and for a role session of the source account.
    "trust ArnLike PrincipalArn, a user": switch(USER_ARNS, in_trust=True),
    "trust ArnLike PrincipalArn, a role session": hop(USER_ARNS),
    "trust root alone, a role session": hop({}),
    "trust contract, a role session": hop(CONTRACT_TRUST["Statement"][0]["Condition"]),
    "ArnEquals PrincipalArn": switch({"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/alice"}}),
    "ArnEquals PrincipalArn, wildcards": switch({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::*:user/al*"}}),
    "ArnEquals PrincipalArn, another": switch(
        {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/bob"}}),
    "ArnLike PrincipalArn with a variable": switch(
        {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/${{aws:username}}"}}),
    "ArnNotLike PrincipalArn, a role session": read({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}},
                                                   effect="Allow"),
    "ArnNotLike PrincipalArn, a user": switch({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}}),
    "ArnLike, too few parts": switch({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*"}}),
    # The other keys.
    "StringEquals PrincipalAccount": read({"StringEquals": {"aws:PrincipalAccount": TARGET_ACCOUNT}}, effect="Allow"),
    "StringEquals PrincipalAccount, another": switch({"StringEquals": {"aws:PrincipalAccount": TARGET_ACCOUNT}}),
    "StringEquals userid of a user": switch({"StringEquals": {"aws:userid": ALICE_ID}}),
    "StringEquals username": switch({"StringEquals": {"aws:username": "alice"}}),
    "StringEquals username, a role session has none": read({"StringEquals": {"aws:username": "alice"}},
                                                           effect="Allow"),
    "StringNotEquals username, a role session has none": read({"StringNotEquals": {"aws:username": "alice"}},
                                                              effect="Allow"),
    "StringEqualsIfExists username, a role session has none": read(
        {"StringEqualsIfExists": {"aws:username": "bob"}}, effect="Allow"),
    "Null TokenIssueTime, a user": switch({"Null": {"aws:TokenIssueTime": "true"}}),
    "Null TokenIssueTime false, a user": switch({"Null": {"aws:TokenIssueTime": "false"}}),
    "StringEquals ExternalId": switch({"StringEquals": {"sts:ExternalId": "x-1"}}, external_id="x-1"),
    "StringEquals ExternalId, another": switch({"StringEquals": {"sts:ExternalId": "x-1"}}, external_id="x-2"),
    "StringEquals ExternalId, none given": switch({"StringEquals": {"sts:ExternalId": "x-1"}}),
    "two keys in one operator are AND": read({"StringEquals": {"aws:PrincipalAccount": TARGET_ACCOUNT,
                                                               "aws:userid": f"{ROLE_ID}:bob"}}, effect="Allow"),
    # Tags of the role a request acts on: the guard role may write only on roles tagged as guarded.
    "ResourceTag guarded, a guarded switch role": guard(GUARDED, {GUARDED_TAG: "true", "managed-by": "access-broker"}),
    "ResourceTag guarded, an untagged role": guard(GUARDED, {}, role=GUARD_ROLE),
    "ResourceTag guarded, tagged false": guard(GUARDED, {GUARDED_TAG: "false"}),
    "ResourceTag guarded, value compared case-sensitively": guard(GUARDED, {GUARDED_TAG: "True"}),
    "ResourceTag guarded, key written in another case": guard(
        {"StringEquals": {"aws:ResourceTag/Access-Broker:Guarded": "true"}}, {GUARDED_TAG: "true"}),
    "ResourceTag guarded, on DeleteRolePolicy": guard(GUARDED, {GUARDED_TAG: "true"}, action="iam:DeleteRolePolicy"),
    "StringNotEquals ResourceTag, an untagged role": guard(
        {"StringNotEquals": {f"aws:ResourceTag/{GUARDED_TAG}": "true"}}, {}),
    "StringEqualsIfExists ResourceTag, an untagged role": guard(
        {"StringEqualsIfExists": {f"aws:ResourceTag/{GUARDED_TAG}": "true"}}, {}),
    "Null ResourceTag, an untagged role": guard({"Null": {f"aws:ResourceTag/{GUARDED_TAG}": "true"}}, {}),
    "StringLike ResourceTag": guard({"StringLike": {"aws:ResourceTag/managed-by": "access-*"}},
                                    {"managed-by": "access-broker"}),
    "Deny on ResourceTag, a tagged role": guard({"StringEquals": {"aws:ResourceTag/protected": "yes"}},
                                                {"protected": "yes"}, effect="Deny"),
    "Deny on ResourceTag, another tag": guard({"StringEquals": {"aws:ResourceTag/protected": "yes"}},
                                              {"protected": "no"}, effect="Deny"),
    "ResourceTag on AssumeRole, the switch role's tag": switch({"StringEquals": {"aws:ResourceTag/managed-by":
                                                                                 "access-broker"}},
                                                               resource_tags={"managed-by": "access-broker"}),
    "ResourceTag on AssumeRole, another value": switch({"StringEquals": {"aws:ResourceTag/managed-by": "someone"}},
                                                       resource_tags={"managed-by": "access-broker"}),
}


def _mine(case: Any) -> str:
    from tools import moto_conditions

    trust_policy = case.resource_policy if case.action == "sts:AssumeRole" else None
    if ":assumed-role/" in case.principal:
        arns = (case.principal, str(case.context["aws:PrincipalArn"]))
    else:
        arns = (case.principal,)
    principal = moto_conditions.Principal(arns, case.principal.split(":")[4])
    context = dict(case.context)
    tags = {key.split("/", 1)[1]: str(context.pop(key)) for key in list(context)
            if key.lower().startswith("aws:resourcetag/")}
    on_role = ":role/" in case.resource  # the world knows a role's tags (and only a role's)
    request = moto_conditions.RequestContext(context, resource_tags=tags if on_role else None)
    return moto_conditions.evaluate(case.identity_policies, case.action, case.resource, request, trust_policy,
                                    principal)


@pytest.fixture(scope="module")
def simulated(iam_simulator: Callable[[list[Any]], list[str]]) -> dict[str, str]:
    """iam-simulate's answers for every case, from one node process."""
    return dict(zip(CASES, iam_simulator(list(CASES.values()))))


@pytest.mark.parametrize("name", list(CASES))
def test_the_world_decides_each_condition_as_iam_does(name: str, simulated: dict[str, str]) -> None:
    assert _mine(CASES[name]) == simulated[name]


def test_a_2008_policy_takes_policy_variables_literally() -> None:
    """AWS's IAM guide (policy elements: Version): in a "2008-10-17" policy `${aws:username}` is a literal string.
    iam-simulate 0.1.173 substitutes it anyway, so this case is checked against the guide, not the simulator."""
    case = switch({"StringEquals": {"sts:RoleSessionName": "${aws:username}"}})
    case.identity_policies[0]["Version"] = "2008-10-17"
    assert _mine(case) == "ImplicitlyDenied"
    assert _mine(switch({"StringEquals": {"sts:RoleSessionName": "${aws:username}"}})) == "Allowed"
