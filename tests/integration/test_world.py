"""The local AWS world enforces what access-broker relies on: no standing access, grants by policy only."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tools.world import (
    BROKER_POLICY_PATH,
    BUCKET,
    REGION,
    ROLE_NAME,
    SOURCE_ACCOUNT,
    TARGET_ACCOUNT,
    Emulator,
    Keys,
    aws_client,
    start_world,
    write_credentials_file,
)

ROLE_ARN = f"arn:aws:iam::{TARGET_ACCOUNT}:role/{ROLE_NAME}"
GRANT_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE_ARN}],
}
DENIED = {"AccessDenied", "AccessDeniedException"}


@pytest.fixture(scope="module")
def world() -> Iterator[tuple[Emulator, dict[str, Keys]]]:
    began = time.perf_counter()
    emulator, keys = start_world()
    print(f"\nstart_world took {time.perf_counter() - began:.2f} s")
    try:
        yield emulator, keys
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def endpoint(world: tuple[Emulator, dict[str, Keys]]) -> str:
    return world[0].endpoint


@pytest.fixture(scope="module")
def keys(world: tuple[Emulator, dict[str, Keys]]) -> dict[str, Keys]:
    return world[1]


def assume(endpoint: str, keys: Keys, session_name: str = "s3-access") -> dict[str, Any]:
    sts = aws_client(endpoint, "sts", keys)
    credentials: dict[str, Any] = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName=session_name)["Credentials"]
    return credentials


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_people_cannot_assume_the_role_without_a_grant(endpoint: str, keys: dict[str, Keys]) -> None:
    with pytest.raises(ClientError) as info:
        assume(endpoint, keys["s3-access"])
    assert error_code(info) in DENIED


def test_a_grant_opens_the_role_and_only_s3_and_its_removal_closes_it(
    endpoint: str, keys: dict[str, Keys]
) -> None:
    broker_iam = aws_client(endpoint, "iam", keys["broker"])
    policy_arn = broker_iam.create_policy(
        PolicyName="grant-test",
        Path=BROKER_POLICY_PATH,
        PolicyDocument=json.dumps(GRANT_DOCUMENT),
    )["Policy"]["Arn"]
    assert policy_arn == f"arn:aws:iam::{SOURCE_ACCOUNT}:policy{BROKER_POLICY_PATH}grant-test"
    broker_iam.attach_user_policy(UserName="s3-access", PolicyArn=policy_arn)

    creds = assume(endpoint, keys["s3-access"])
    role_keys = Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    listed = aws_client(endpoint, "s3", role_keys).list_objects_v2(Bucket=BUCKET)
    assert [item["Key"] for item in listed["Contents"]] == ["hello.txt"]
    with pytest.raises(ClientError) as info:
        aws_client(endpoint, "ec2", role_keys).describe_instances()
    assert error_code(info) in DENIED | {"UnauthorizedOperation"}

    broker_iam.detach_user_policy(UserName="s3-access", PolicyArn=policy_arn)
    broker_iam.delete_policy(PolicyArn=policy_arn)
    with pytest.raises(ClientError) as info:
        assume(endpoint, keys["s3-access"])
    assert error_code(info) in DENIED


def test_the_broker_may_use_dynamodb(endpoint: str, keys: dict[str, Keys]) -> None:
    ddb = aws_client(endpoint, "dynamodb", keys["broker"])
    ddb.create_table(
        TableName="world-test",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert ddb.describe_table(TableName="world-test")["Table"]["TableStatus"] == "ACTIVE"


def test_people_cannot_create_policies(endpoint: str, keys: dict[str, Keys]) -> None:
    with pytest.raises(ClientError) as info:
        aws_client(endpoint, "iam", keys["alice"]).create_policy(
            PolicyName="self-service", Path=BROKER_POLICY_PATH, PolicyDocument=json.dumps(GRANT_DOCUMENT)
        )
    assert error_code(info) in DENIED


def test_the_stock_aws_cli_works_with_the_credentials_file(
    endpoint: str, keys: dict[str, Keys], tmp_path: pathlib.Path
) -> None:
    credentials = tmp_path / "dir" / "aws-credentials"
    write_credentials_file(credentials, keys)
    assert credentials.stat().st_mode & 0o777 == 0o600

    aws = pathlib.Path(sys.executable).parent / "aws"
    # A clean AWS environment, so the caller's own credentials or config cannot leak into the result.
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    env |= {
        "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
        "AWS_DEFAULT_REGION": REGION,
    }
    result = subprocess.run(
        [str(aws), "--profile", "s3-access", "--endpoint-url", endpoint, "sts", "get-caller-identity"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Arn"] == f"arn:aws:iam::{SOURCE_ACCOUNT}:user/s3-access"


def test_the_state_dump_holds_only_the_services_asked_for(endpoint: str, keys: dict[str, Keys]) -> None:
    """tools/moto_dump.py: the local SigV4 check reads keys and sessions without dumping every table the tests made."""
    import urllib.request

    dynamodb = aws_client(endpoint, "dynamodb", keys["broker"])
    dynamodb.create_table(TableName="dump-check", BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json?service=iam&service=sts", timeout=10) as answer:
        asked = json.loads(answer.read())
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=10) as answer:
        everything = json.loads(answer.read())
    assert sorted(asked) == ["iam", "sts"]
    assert asked["iam"]["AccessKey"] == everything["iam"]["AccessKey"]
    assert {key["access_key_id"] for key in asked["iam"]["AccessKey"]} >= {keys["broker"].access_key_id}
    assert "dynamodb" in everything
