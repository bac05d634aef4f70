"""targets/switch-role.yaml: the role a target account deploys, trusting the source account; cfn-lint clean."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tools.world import SOURCE_ACCOUNT, aws_client

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "targets" / "switch-role.yaml"
ACCOUNT = "333333333333"  # a third account, as a StackSet would reach


def test_cfn_lint_finds_nothing() -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(TEMPLATE)], capture_output=True,
                          text=True, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_stack_makes_a_role_trusting_the_source_account(world) -> None:  # type: ignore[no-untyped-def]
    world.emulator.enforce_iam(False)  # deployed as the target account's administrator would
    try:
        cloudformation = aws_client(world.emulator.endpoint, "cloudformation", account=ACCOUNT)
        cloudformation.create_stack(
            StackName="access-broker-target", TemplateBody=TEMPLATE.read_text(), Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[{"ParameterKey": "SourceAccountId", "ParameterValue": SOURCE_ACCOUNT},
                        {"ParameterKey": "RoleName", "ParameterValue": "switch-role-for-logs"},
                        {"ParameterKey": "MaxSessionDuration", "ParameterValue": "7200"}])
        stack = cloudformation.describe_stacks(StackName="access-broker-target")["Stacks"][0]
        role = aws_client(world.emulator.endpoint, "iam", account=ACCOUNT).get_role(
            RoleName="switch-role-for-logs")["Role"]
    finally:
        world.emulator.enforce_iam(True)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert stack["Outputs"][0]["OutputValue"] == f"arn:aws:iam::{ACCOUNT}:role/switch-role-for-logs"
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{SOURCE_ACCOUNT}:root"} and trust["Action"] == "sts:AssumeRole"
    assert role["MaxSessionDuration"] == 7200
    assert {"Key": "access-broker:source-account", "Value": SOURCE_ACCOUNT} in role["Tags"]


def test_nothing_in_it_is_specific_to_one_account_or_region() -> None:
    """StackSet-ready: the same template in every target account."""
    text = TEMPLATE.read_text()
    assert "${AWS::Partition}" in text
    for literal in ("111111111111", "222222222222", "us-east-1", "arn:aws:iam::1", "arn:aws:iam::2"):
        assert literal not in text, literal
