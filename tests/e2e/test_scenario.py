"""The whole product, as a person would see it: s3-access gets into account 2 only while granted."""
from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tools.world import BUCKET, ROLE_NAME, TARGET_ACCOUNT, Keys, aws_client

ROLE_ARN = f"arn:aws:iam::{TARGET_ACCOUNT}:role/{ROLE_NAME}"
pytestmark = pytest.mark.e2e


def assume_role(world) -> Keys:
    sts = world.client("sts", "s3-access")
    creds = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="s3-access")["Credentials"]
    return Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def assert_denied(call) -> None:
    with pytest.raises(ClientError) as caught:
        call()
    assert caught.value.response["Error"]["Code"] in ("AccessDenied", "UnauthorizedOperation")


def test_s3_access_can_switch_into_account_2_only_while_the_grant_lasts(api, world):
    assert_denied(lambda: assume_role(world))

    request = api.create(as_="s3-access", profile="s3-prod", duration="2h", reason="fixing the export job")
    active = api.post(f"/v1/requests/{request['id']}/approve", "bob").json
    assert active["state"] == "active"

    keys = assume_role(world)
    s3 = aws_client(world.emulator.endpoint, "s3", keys)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]] == ["hello.txt"]
    ec2 = aws_client(world.emulator.endpoint, "ec2", keys)
    assert_denied(lambda: ec2.describe_instances())

    assert api.post(f"/v1/requests/{request['id']}/revoke", "s3-access").json["state"] == "revoked"

    assert_denied(lambda: assume_role(world))
    assert world.client("iam").list_policies(Scope="Local", PathPrefix="/access-broker/")["Policies"] == []
