"""The local world as the integration tests act in it: people with their own keys, an unenforced admin for shaping
it, the contract's trust and grant documents."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from tools.moto_conditions import iso
from tools.world import BUCKET, ROLE_NAME, SOURCE_ACCOUNT, TARGET_ACCOUNT, Emulator, Keys, aws_client

ROLE_ARN = f"arn:aws:iam::{TARGET_ACCOUNT}:role/{ROLE_NAME}"
DENIED = {"AccessDenied", "AccessDeniedException"}

# The switch role's trust as CONTRACT.md "Open sessions" shapes it.
CONTRACT_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{SOURCE_ACCOUNT}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/*"},
            "StringLike": {"sts:RoleSessionName": "${aws:username}"},
        },
    }],
}


def trust(condition: dict[str, Any] | None = None) -> dict[str, Any]:
    statement = {**CONTRACT_TRUST["Statement"][0]}
    statement.pop("Condition")
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def grant(expires: datetime, session_name_condition: bool = True) -> dict[str, Any]:
    """The broker's grant (CONTRACT.md "The grant in IAM" and "Open sessions")."""
    condition: dict[str, Any] = {"DateLessThan": {"aws:CurrentTime": iso(expires)}}
    if session_name_condition:
        condition["StringEquals"] = {"sts:RoleSessionName": "${aws:username}"}
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE_ARN, "Condition": condition}]}


class LocalWorld:
    def __init__(self, emulator: Emulator, keys: dict[str, Keys]) -> None:
        self.emulator, self.keys, self.endpoint = emulator, keys, emulator.endpoint

    def as_admin(self, account: str, change: Callable[[Any], Any]) -> Any:
        """Runs `change(iam client of account)` with enforcement off: the world's unenforced admin."""
        self.emulator.enforce_iam(False)
        try:
            return change(aws_client(self.endpoint, "iam", account=account))
        finally:
            self.emulator.enforce_iam(True)

    def set_trust(self, document: dict[str, Any]) -> None:
        self.as_admin(TARGET_ACCOUNT, lambda iam: iam.update_assume_role_policy(
            RoleName=ROLE_NAME, PolicyDocument=json.dumps(document)))

    def set_grant(self, person: str, document: dict[str, Any]) -> None:
        self.as_admin(SOURCE_ACCOUNT, lambda iam: iam.put_user_policy(
            UserName=person, PolicyName="grant", PolicyDocument=json.dumps(document)))

    def set_guard(self, statements: list[dict[str, Any]]) -> None:
        document = json.dumps({"Version": "2012-10-17", "Statement": statements})
        self.as_admin(TARGET_ACCOUNT, lambda iam: iam.put_role_policy(
            RoleName=ROLE_NAME, PolicyName="session-guard", PolicyDocument=document))

    def now(self) -> datetime:
        with urllib.request.urlopen(f"{self.endpoint}/_world/clock", timeout=10) as response:
            return datetime.fromisoformat(json.loads(response.read())["now"].replace("Z", "+00:00"))

    def assume(self, keys: Keys, session_name: str, role_arn: str = ROLE_ARN) -> Keys:
        sts = aws_client(self.endpoint, "sts", keys)
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        return Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])

    def list_bucket(self, session: Keys) -> list[str]:
        listed = aws_client(self.endpoint, "s3", session).list_objects_v2(Bucket=BUCKET)
        return [item["Key"] for item in listed.get("Contents", [])]

    def read_hello(self, session: Keys) -> bytes:
        body: bytes = aws_client(self.endpoint, "s3", session).get_object(Bucket=BUCKET, Key="hello.txt")["Body"].read()
        return body


def refused(call: Callable[[], Any]) -> bool:
    try:
        call()
    except ClientError as error:
        assert error.response["Error"]["Code"] in DENIED, error.response
        return True
    return False
