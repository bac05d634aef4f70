"""targets/switch-role.yaml and targets/guard-role.yaml: what a target account deploys; cfn-lint clean, deployable,
and shaped like the local world's target account (tools/world.py), so what the tests prove there holds here."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tools import world as seed
from tools.world import SOURCE_ACCOUNT, aws_client

ROOT = Path(__file__).resolve().parents[2]
SWITCH_ROLE = ROOT / "targets" / "switch-role.yaml"
GUARD_ROLE = ROOT / "targets" / "guard-role.yaml"
ACCOUNT = "333333333333"  # a third account, as a StackSet would reach
BROKER_ROLE = f"arn:aws:iam::{SOURCE_ACCOUNT}:role/access-broker-prod"


@pytest.mark.parametrize("template", [SWITCH_ROLE, GUARD_ROLE], ids=lambda p: p.name)
def test_cfn_lint_finds_nothing(template: Path) -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(template)], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr


def deploy(world: Any, name: str, template: Path, parameters: dict[str, str]) -> tuple[dict, Any]:
    """Deploys `template` in ACCOUNT as its administrator would; returns the stack and an IAM client there."""
    world.emulator.enforce_iam(False)
    try:
        cloudformation = aws_client(world.emulator.endpoint, "cloudformation", account=ACCOUNT)
        cloudformation.create_stack(
            StackName=name, TemplateBody=template.read_text(), Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()])
        stack = cloudformation.describe_stacks(StackName=name)["Stacks"][0]
    finally:
        world.emulator.enforce_iam(True)
    return stack, aws_client(world.emulator.endpoint, "iam", account=ACCOUNT)


def in_account(document: Any, account: str) -> Any:
    """The world's documents name the target account 222222222222; the stack here is in ACCOUNT."""
    if isinstance(document, dict):
        return {k: in_account(v, account) for k, v in document.items()}
    if isinstance(document, list):
        return [in_account(v, account) for v in document]
    return document.replace(seed.TARGET_ACCOUNT, account) if isinstance(document, str) else document


def test_the_switch_role_trusts_only_iam_users_named_after_themselves_for_an_hour(world) -> None:
    stack, iam = deploy(world, "access-broker-switch-role", SWITCH_ROLE, {
        "SourceAccountId": SOURCE_ACCOUNT, "RoleName": seed.ROLE_NAME})
    world.emulator.enforce_iam(False)
    try:
        role = iam.get_role(RoleName=seed.ROLE_NAME)["Role"]
        (limits,) = iam.list_attached_role_policies(RoleName=seed.ROLE_NAME)["AttachedPolicies"][-1:]
        version = iam.get_policy(PolicyArn=limits["PolicyArn"])["Policy"]["DefaultVersionId"]
        limits_document = iam.get_policy_version(PolicyArn=limits["PolicyArn"], VersionId=version)["PolicyVersion"][
            "Document"]
    finally:
        world.emulator.enforce_iam(True)

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"][0]["OutputValue"] == f"arn:aws:iam::{ACCOUNT}:role/{seed.ROLE_NAME}"
    assert role["AssumeRolePolicyDocument"] == seed.TRUST_SOURCE_ACCOUNT
    assert role["MaxSessionDuration"] == 3600
    # An inline policy written through the guard role gives its sessions no more than the role is for
    # (tests/iam/test_guard_role_power.py evaluates it in the world, seeded the same).
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == "arn:aws:iam::aws:policy/AmazonS3FullAccess"
    assert {"Key": seed.GUARDED_TAG, "Value": "true"} in role["Tags"]
    assert {"Key": "access-broker:source-account", "Value": SOURCE_ACCOUNT} in role["Tags"]
    assert limits_document == in_account(seed.SESSION_LIMITS, ACCOUNT)


def test_the_guard_role_trusts_only_the_broker_with_its_external_id(world) -> None:
    stack, iam = deploy(world, "access-broker-guard", GUARD_ROLE, {
        "BrokerRoleArn": BROKER_ROLE, "ExternalId": seed.GUARD_EXTERNAL_ID})
    world.emulator.enforce_iam(False)
    try:
        role = iam.get_role(RoleName=seed.GUARD_ROLE)["Role"]
        permissions = iam.get_role_policy(RoleName=seed.GUARD_ROLE, PolicyName="session-guard")["PolicyDocument"]
        if isinstance(permissions, str):  # moto's CloudFormation stores an inline policy as its Python repr
            permissions = ast.literal_eval(permissions)
    finally:
        world.emulator.enforce_iam(True)

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    (world_trust,) = seed.GUARD_TRUST["Statement"]
    assert trust == {**world_trust, "Principal": {"AWS": BROKER_ROLE}}  # locally the broker is an IAM user
    (allowed,) = permissions["Statement"]
    (world_allowed,) = seed.GUARD_PERMISSIONS["Statement"]
    # moto refuses scoped resources on IAM actions, so the world's guard says "*" where the template scopes it.
    assert allowed == {**world_allowed, "Resource": f"arn:aws:iam::{ACCOUNT}:role/*"}


def test_nothing_in_them_is_specific_to_one_account_or_region() -> None:
    """StackSet-ready: the same templates in every target account."""
    for template in (SWITCH_ROLE, GUARD_ROLE):
        text = template.read_text()
        assert "${AWS::Partition}" in text
        for literal in ("111111111111", "222222222222", "us-east-1", "arn:aws:iam::1", "arn:aws:iam::2"):
            assert literal not in text, (template.name, literal)
