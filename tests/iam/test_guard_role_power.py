"""Issue 24, point 5: the guard role can write any inline policy on a switch role, so whoever holds the broker's keys
could put `Allow iam:*` there. Each switch role carries a permissions boundary (targets/switch-role.yaml; the local
world seeds it the same), so an added Allow gives its sessions nothing beyond the role's purpose; the guard role can
no longer delete inline policies, and an empty guard stays in place as a statement nothing meets. The world does not
evaluate permissions boundaries (docs/local-world.md): the documents read back from it are evaluated with
iam-simulate."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.domain.session_guard import NO_CUT, POLICY_NAME
from tools.iam_evaluator import Case
from tools.world import GUARD_EXTERNAL_ID, GUARD_ROLE, ROLE_NAME, TARGET_ACCOUNT, Keys, aws_client

ROLE_ARN = f"arn:aws:iam::{TARGET_ACCOUNT}:role/{ROLE_NAME}"
BACKDOOR = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}


def as_guard_role(world: Any) -> Any:
    """IAM in the target account through the guard role, with the broker's keys (what a stolen key can do)."""
    creds = world.client("sts", "broker").assume_role(
        RoleArn=f"arn:aws:iam::{TARGET_ACCOUNT}:role/{GUARD_ROLE}", RoleSessionName="access-broker",
        ExternalId=GUARD_EXTERNAL_ID)["Credentials"]
    return aws_client(world.emulator.endpoint, "iam", Keys(creds["AccessKeyId"], creds["SecretAccessKey"],
                                                           creds["SessionToken"]))


@pytest.fixture
def backdoor(world: Any) -> Any:
    """An `Allow iam:*` inline policy put on the switch role through the guard role; the administrator removes it."""
    as_guard_role(world).put_role_policy(RoleName=ROLE_NAME, PolicyName="backdoor", PolicyDocument=json.dumps(BACKDOOR))
    yield "backdoor"
    world.client("iam", "target-admin").delete_role_policy(RoleName=ROLE_NAME, PolicyName="backdoor")


def session_case(world: Any, action: str, resource: str) -> Case:
    """alice's session of the switch role doing `action`, with every policy the role holds and its boundary."""
    admin = world.client("iam", "target-admin")
    role = admin.get_role(RoleName=ROLE_NAME)["Role"]
    policies = [admin.get_role_policy(RoleName=ROLE_NAME, PolicyName=name)["PolicyDocument"]
                for name in admin.list_role_policies(RoleName=ROLE_NAME)["PolicyNames"]]
    policies += [managed(admin, p["PolicyArn"]) for p in
                 admin.list_attached_role_policies(RoleName=ROLE_NAME)["AttachedPolicies"]]
    boundary = role.get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
    now = datetime.now(timezone.utc).replace(microsecond=0)
    context = {"aws:userid": f"{role['RoleId']}:alice", "aws:PrincipalArn": ROLE_ARN,
               "aws:PrincipalAccount": TARGET_ACCOUNT, "aws:CurrentTime": now.isoformat().replace("+00:00", "Z"),
               "aws:TokenIssueTime": (now - timedelta(minutes=1)).isoformat().replace("+00:00", "Z")}
    return Case(principal=f"arn:aws:sts::{TARGET_ACCOUNT}:assumed-role/{ROLE_NAME}/alice", action=action,
                resource=resource, resource_account=TARGET_ACCOUNT, context=context, identity_policies=policies,
                permission_boundaries=[managed(admin, boundary)] if boundary else None)


def managed(iam: Any, arn: str) -> dict:
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]


def test_an_allow_written_through_the_guard_role_gives_the_roles_sessions_nothing_beyond_its_boundary(
        world, backdoor, iam_simulator) -> None:
    make_user = session_case(world, "iam:CreateUser", f"arn:aws:iam::{TARGET_ACCOUNT}:user/backdoor")
    make_key = session_case(world, "iam:CreateAccessKey", f"arn:aws:iam::{TARGET_ACCOUNT}:user/backdoor")
    read_file = session_case(world, "s3:GetObject", "arn:aws:s3:::account2-shared-files/hello.txt")

    assert iam_simulator([make_user, make_key, read_file]) == ["ExplicitlyDenied", "ExplicitlyDenied", "Allowed"], \
        "the role's sessions must keep their purpose (S3) and gain nothing from an inline Allow: beyond the " \
        "boundary, and denied outright by the session limits (no users or keys that outlive the grant)"


def test_the_guard_role_writes_inline_policies_but_cannot_delete_them(world) -> None:
    guard_role = as_guard_role(world)
    guard_role.put_role_policy(RoleName=ROLE_NAME, PolicyName=POLICY_NAME,
                               PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [NO_CUT]}))

    with pytest.raises(ClientError) as refused:
        guard_role.delete_role_policy(RoleName=ROLE_NAME, PolicyName=POLICY_NAME)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    assert guard_role.get_role(RoleName=ROLE_NAME)["Role"]["MaxSessionDuration"] == 3600, "GetRole is allowed"


def test_the_empty_guard_denies_nobody(world, iam_simulator) -> None:
    admin = world.client("iam", "target-admin")
    admin.put_role_policy(RoleName=ROLE_NAME, PolicyName=POLICY_NAME,
                          PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [NO_CUT]}))
    try:
        read_file = session_case(world, "s3:GetObject", "arn:aws:s3:::account2-shared-files/hello.txt")
    finally:
        admin.delete_role_policy(RoleName=ROLE_NAME, PolicyName=POLICY_NAME)

    assert iam_simulator([read_file]) == ["Allowed"]
