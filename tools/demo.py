"""`make demo`: the whole product in a minute, no Slack, no AWS account. A fresh local world, the API on a free
port, and the seed scenario step by step: request, approve, switch in, read S3, be refused EC2, revoke, be refused.

Exits non-zero if any step does not turn out as it should."""
from __future__ import annotations

import json
import os
import secrets
import sys
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import Any, Callable

from botocore.exceptions import ClientError

from tools.local_server import serving
from tools.pagerduty_stub import STUB_TOKEN, PagerDutyStub
from tools.world import (
    BROKER_PROFILE,
    BUCKET,
    REGION,
    ROLE_NAME,
    SOURCE_ACCOUNT,
    TARGET_ACCOUNT,
    Keys,
    aws_client,
    start_world,
)

ROOT = Path(__file__).resolve().parent.parent
ROLE_ARN = f"arn:aws:iam::{TARGET_ACCOUNT}:role/{ROLE_NAME}"
WIDTH = 64


class StepFailed(Exception):
    pass


class Demo:
    def __init__(self, api: str, endpoint: str, keys: dict[str, Keys], out: Callable[[str], None] = print) -> None:
        self.api, self.endpoint, self.keys, self.out = api, endpoint, keys, out
        self.number = 0

    def step(self, what: str, action: Callable[[], str]) -> str:
        self.number += 1
        label = f"{self.number}. {what} "
        try:
            result = action()
        except StepFailed as exc:
            self.out(f"{label:.<{WIDTH}} FAILED: {exc}")
            raise
        self.out(f"{label:.<{WIDTH}} {result}")
        return result

    def call(self, method: str, path: str, person: str, body: dict | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            f"{self.api}{path}", method=method, data=json.dumps(body or {}).encode(),
            headers={"Content-Type": "application/json",
                     "X-Local-Principal": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/{person}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise StepFailed(f"HTTP {exc.code}: {exc.read().decode()[:300]}") from None

    def assume(self, person: str) -> Keys:
        sts = aws_client(self.endpoint, "sts", self.keys[person])
        # The session is named after its person: the grant and the role's trust policy require it.
        creds = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName=person)["Credentials"]
        return Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])

    def run(self) -> None:
        self.step("s3-access switches into account 2 before any grant",
                  lambda: refused(lambda: self.assume("s3-access")))
        request: dict[str, Any] = {}

        def ask() -> str:
            request.update(self.call("POST", "/v1/requests", "s3-access",
                                     {"profile": "s3-prod", "duration": "1h", "reason": "fixing the export job"}))
            expect(request["state"] == "pending", f"state {request['state']}")
            return f"request {request['id']} pending (needs 1 of bob, carol)"
        self.step("s3-access asks for s3-prod for 1h", ask)

        def approve() -> str:
            done = self.call("POST", f"/v1/requests/{request['id']}/approve", "bob", {"comment": "go ahead"})
            expect(done["state"] == "active", f"state {done['state']}")
            return f"active until {done['grant']['expires_at']}, policy {done['grant']['policy_arn'].split('/')[-1]}"
        self.step("bob approves", approve)

        session: dict[str, Keys] = {}

        def switch_in() -> str:
            try:
                session["keys"] = self.assume("s3-access")
            except ClientError as exc:
                raise StepFailed(f"refused: {exc.response['Error']['Code']}") from None
            return "allowed"
        self.step("s3-access switches into account 2 (sts assume-role)", switch_in)

        def list_bucket() -> str:
            s3 = aws_client(self.endpoint, "s3", session["keys"])
            names = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])]
            expect("hello.txt" in names, f"bucket holds {names}")
            return f"s3://{BUCKET}: {', '.join(names)}"
        self.step("as the role, list the shared bucket", list_bucket)
        ec2 = aws_client(self.endpoint, "ec2", session["keys"])
        self.step("as the role, describe EC2 instances", lambda: refused(ec2.describe_instances))

        def revoke() -> str:
            done = self.call("POST", f"/v1/requests/{request['id']}/revoke", "s3-access")
            expect(done["state"] == "revoked", f"state {done['state']}")
            return "revoked; the grant policy is detached and deleted, open sessions are cut"
        self.step("s3-access revokes the grant", revoke)
        self.step("s3-access switches into account 2 again", lambda: refused(lambda: self.assume("s3-access")))
        self.step("the session opened before the revoke lists the bucket again",
                  lambda: refused(lambda: aws_client(self.endpoint, "s3", session["keys"]).list_objects_v2(
                      Bucket=BUCKET)))

        def trail() -> str:
            events = self.call("GET", f"/v1/requests/{request['id']}/events", "bob")["events"]
            return " -> ".join(e["kind"] for e in events)
        self.step("the audit trail of the request", trail)


def refused(call: Callable[[], Any]) -> str:
    try:
        call()
    except ClientError as exc:
        return f"refused ({exc.response['Error']['Code']})"
    raise StepFailed("it was allowed")


def expect(condition: bool, otherwise: str) -> None:
    if not condition:
        raise StepFailed(otherwise)


def main(out: Callable[[str], None] = print) -> int:
    out("access-broker demo: a fresh local AWS world (moto, IAM enforced), two accounts, the API in-process\n")
    emulator, keys = start_world()
    try:
        broker = keys[BROKER_PROFILE]
        environment = {"AWS_ENDPOINT_URL": emulator.endpoint, "AWS_DEFAULT_REGION": REGION,
                       "AWS_ACCESS_KEY_ID": broker.access_key_id, "AWS_SECRET_ACCESS_KEY": broker.secret_access_key,
                       "ACCESS_BROKER_CONSOLE_KEY": secrets.token_urlsafe(32)}
        for name in [n for n in os.environ if n.startswith("AWS_")]:  # the world's keys, not the caller's profile
            os.environ.pop(name)
        os.environ.update(environment)
        for name in ("SLACK_BOT_TOKEN", "SLACK_API_URL"):  # the demo needs no Slack: no notifier, nothing posted
            os.environ.pop(name, None)
        pagerduty = PagerDutyStub().start()  # s3-prod auto-approves the on-call: here nobody is, so people decide
        pagerduty.set_on_call("P0SCHED1")  # the demo catalog's schedule, with nobody on it
        os.environ.update({"PAGERDUTY_API_URL": pagerduty.url, "PAGERDUTY_TOKEN": STUB_TOKEN})
        warnings.filterwarnings("ignore", message="IAMAuthorizer is not a supported in local mode")
        with serving(quiet=True) as api:  # the steps say what happened
            try:
                Demo(api, emulator.endpoint, keys, out).run()
            except StepFailed:
                return 1
    finally:
        if "pagerduty" in locals():
            pagerduty.stop()
        emulator.stop()
    out("\nEvery step turned out as it should. `make run` keeps a world like this one running for you to try.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
