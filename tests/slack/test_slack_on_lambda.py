"""On Lambda, slow work leaves the answer path as an asynchronous invocation of the worker function
(InvocationType=Event), signed by the broker's own credentials against the emulator's Lambda API, the job
sealed with the job key (chalicelib/slack/sealed.py)."""
from __future__ import annotations

import io
import json
import urllib.request
import zipfile
from typing import Any, Iterator

import pytest

from chalicelib import bootstrap
from chalicelib.slack import sealed
from chalicelib.slack.deferred import LambdaInvoke
from tools.world import BROKER_USER, SOURCE_ACCOUNT, aws_client

WORKER = "access-broker-test-worker"


# moto checks the action `lambda:Invoke` where AWS checks `lambda:InvokeFunction` (which the world's broker
# policy grants): allowed here for the length of this module only.
MOTO_INVOKE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:Invoke", "Resource": "*"}]}


@pytest.fixture(scope="module")
def worker_function(world: Any) -> Iterator[str]:
    """A worker function in the emulator (moto runs no code for it without docker: the invocation is what counts)."""
    endpoint = world.emulator.endpoint
    urllib.request.urlopen(urllib.request.Request(
        f"{endpoint}/moto-api/config", data=json.dumps({"lambda": {"use_docker": False}}).encode(),
        headers={"Content-Type": "application/json"}, method="POST"), timeout=10).read()
    world.emulator.enforce_iam(False)
    iam = aws_client(endpoint, "iam", account=SOURCE_ACCOUNT)
    try:
        quirk = iam.create_policy(PolicyName="moto-lambda-invoke", PolicyDocument=json.dumps(MOTO_INVOKE))
        iam.attach_user_policy(UserName=BROKER_USER, PolicyArn=quirk["Policy"]["Arn"])
        role = iam.create_role(
            RoleName="test-worker", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.writestr("app.py", "def worker(event, context):\n    return None\n")
        aws_client(endpoint, "lambda", account=SOURCE_ACCOUNT).create_function(
            FunctionName=WORKER, Runtime="python3.11", Role=role["Role"]["Arn"], Handler="app.worker",
            Code={"ZipFile": code.getvalue()})
    finally:
        world.emulator.enforce_iam(True)
    yield WORKER
    world.emulator.enforce_iam(False)
    try:
        iam.detach_user_policy(UserName=BROKER_USER, PolicyArn=quirk["Policy"]["Arn"])
        iam.delete_policy(PolicyArn=quirk["Policy"]["Arn"])
    finally:
        world.emulator.enforce_iam(True)


def test_a_job_is_sent_to_the_worker_as_an_asynchronous_invocation(broker, worker_function: str) -> None:  # type: ignore[no-untyped-def]
    invoker = LambdaInvoke(worker_function, bootstrap.job_key)
    invoker.submit({"kind": "notify", "request_id": "warm-up"})  # builds the client, signed as the broker
    sent: list[dict] = []
    invoker._client.meta.events.register("before-call.lambda.Invoke",
                                         lambda params, **kw: sent.append(params))
    job = {"kind": "act", "action": "approve", "request_id": "01jbx5v6d8k2m3n4p5q6r7s8t9", "user_id": "U01BOB"}
    invoker.submit(job)
    [call] = sent
    assert call["url_path"].endswith(f"/functions/{worker_function}/invocations")
    assert call["headers"]["X-Amz-Invocation-Type"] == "Event"
    assert sealed.open_sealed(json.loads(call["body"]), bootstrap.job_key(), broker.clock()) == job


def test_in_lambda_the_api_function_hands_work_to_the_worker(monkeypatch, worker_function: str) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "access-broker-test")
    monkeypatch.setenv("ACCESS_BROKER_WORKER_FUNCTION", worker_function)
    bootstrap.reset()
    assert isinstance(bootstrap.deferred(), LambdaInvoke) and bootstrap.deferred().function_name == WORKER
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", WORKER)
    bootstrap.reset()
    assert not isinstance(bootstrap.deferred(), LambdaInvoke), "inside the worker, jobs it spawns run inline"
    bootstrap.reset()


def test_a_command_on_lambda_answers_and_leaves_slack_to_the_worker(slack, clock, monkeypatch, worker_function):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "access-broker-test")
    monkeypatch.setenv("ACCESS_BROKER_WORKER_FUNCTION", worker_function)
    bootstrap.reset()
    bootstrap.broker(clock=clock)
    invoker = bootstrap.deferred()
    invoker.submit({"kind": "warm-up"})
    sent: list[dict] = []
    invoker._client.meta.events.register("before-call.lambda.Invoke", lambda params, **kw: sent.append(params))

    answer = slack.command("s3-prod 1h fixing the export job")
    assert "Request `" in answer.json["text"]
    [job] = [sealed.open_sealed(json.loads(call["body"]), bootstrap.job_key(), clock()) for call in sent]
    assert (job["kind"], job["event"]["kind"]) == ("notify", "created")
    assert slack.calls() == [], "nothing talks to Slack on the answer path"
