"""The worker Lambda function as the emulator holds it, for tests and the bench: no code runs (moto is told not to
use docker), so an asynchronous invocation is queued and answered 202, which is all the broker's side needs.

Set up as an operator would, with the world's IAM enforcement off while it runs."""
from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from dataclasses import dataclass
from typing import Any

from tools.world import BROKER_USER, SOURCE_ACCOUNT, aws_client

HANDLER = "app.worker"  # app.py's @app.lambda_function(name="worker")
# moto checks the action `lambda:Invoke` where AWS checks `lambda:InvokeFunction` (which the broker's policy grants).
_MOTO_INVOKE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:Invoke", "Resource": "*"}]}
_TRUSTS_LAMBDA = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@dataclass(frozen=True)
class FakeWorker:
    name: str
    invoke_policy_arn: str  # lets the broker's user past moto's `lambda:Invoke` check

    def remove_invoke_permission(self, endpoint: str) -> None:
        """Takes back what moto's quirk needed (enforcement off while it runs); the function itself stays."""
        iam = _iam(endpoint)
        iam.detach_user_policy(UserName=BROKER_USER, PolicyArn=self.invoke_policy_arn)
        iam.delete_policy(PolicyArn=self.invoke_policy_arn)


def create_fake_worker(endpoint: str, name: str) -> FakeWorker:
    """The function `name` in the source account, with its execution role, invocable by the broker's user. Safe to
    call again in the same world (a module fixture set up twice when pytest interleaves modules): what exists stays."""
    request = urllib.request.Request(f"{endpoint}/moto-api/config", data=json.dumps(
        {"lambda": {"use_docker": False}}).encode(), headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(request, timeout=10).read()
    iam = _iam(endpoint)
    policy_arn = f"arn:aws:iam::{SOURCE_ACCOUNT}:policy/{name}-moto-invoke"
    try:
        iam.create_policy(PolicyName=f"{name}-moto-invoke", PolicyDocument=json.dumps(_MOTO_INVOKE))
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    iam.attach_user_policy(UserName=BROKER_USER, PolicyArn=policy_arn)
    try:
        role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(_TRUSTS_LAMBDA))
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName=f"{name}-role")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", "def worker(event, context):\n    return None\n")
    functions = aws_client(endpoint, "lambda", account=SOURCE_ACCOUNT)
    try:
        functions.create_function(FunctionName=name, Runtime="python3.11", Role=role["Role"]["Arn"],
                                  Handler=HANDLER, Code={"ZipFile": code.getvalue()})
    except functions.exceptions.ResourceConflictException:
        pass
    return FakeWorker(name, policy_arn)


def _iam(endpoint: str) -> Any:
    return aws_client(endpoint, "iam", account=SOURCE_ACCOUNT)
