"""The local AWS world for the benchmarks: moto's server (IAM enforced), the environment `make run` uses,
a fresh table, and the app's own Broker wired by bootstrap.

For cold starts it also holds what a deployed stage reads on its first request: the secrets as SSM
parameters and the deferred-work Lambda function, so a child process can run as Lambda does."""
from __future__ import annotations

import json
import os
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

from chalicelib import bootstrap
from chalicelib.store.schema import create_table
from tools.fake_worker import create_fake_worker
from tools.world import BROKER_PROFILE, BROKER_USER, REGION, SOURCE_ACCOUNT, Emulator, Keys, aws_client, start_world

TABLE = "access-broker-bench"
FUNCTION = "access-broker-bench"  # the API handler, as Lambda names it in AWS_LAMBDA_FUNCTION_NAME
WORKER = "access-broker-bench-deferred_work"
PARAMETERS = {"SLACK_SIGNING_SECRET": "/access-broker/bench/slack-signing-secret",
              "ACCESS_BROKER_CONSOLE_KEY": "/access-broker/bench/console-link-key",
              "SLACK_BOT_TOKEN": "/access-broker/bench/slack-bot-token",
              "ACCESS_BROKER_JOB_KEY": "/access-broker/bench/worker-job-key"}
# What the deployed policy allows beyond the world's broker policy (moto's `lambda:Invoke` quirk: tools/fake_worker).
_DEPLOYED_EXTRAS = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": ["ssm:GetParameter", "lambda:InvokeFunction"], "Resource": "*"}]}


@dataclass
class BenchWorld:
    env: dict[str, str]  # as the tests run the app: local stage, secrets in the environment, no Slack bot token
    deployed_env: dict[str, str]  # as a deployed Lambda: secrets from SSM, Slack notifications deferred to WORKER
    emulator: Emulator  # to turn IAM's propagation delay on and move the world clock (bench/usable.py)
    keys: dict[str, Keys]  # the people's own keys, by name


@contextmanager
def local_world() -> Iterator[BenchWorld]:
    """Starts the world and points this process at it."""
    emulator, keys = start_world()
    saved = dict(os.environ)
    try:
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            del os.environ[name]
        broker = keys[BROKER_PROFILE]
        env = {"AWS_ENDPOINT_URL": emulator.endpoint, "AWS_DEFAULT_REGION": REGION,
               "AWS_ACCESS_KEY_ID": broker.access_key_id, "AWS_SECRET_ACCESS_KEY": broker.secret_access_key,
               "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
               "ACCESS_BROKER_STAGE": "local", "ACCESS_BROKER_TABLE": TABLE, "ACCESS_BROKER_PUBLIC_URL": "",
               "ACCESS_BROKER_CONSOLE_KEY": secrets.token_urlsafe(32), "SLACK_SIGNING_SECRET": secrets.token_hex(16)}
        for name in ("SLACK_BOT_TOKEN", "SLACK_API_URL"):
            os.environ.pop(name, None)
        os.environ.update(env)
        bootstrap.reset()
        emulator.enforce_iam(False)
        try:
            deployed = _provision_deployed(emulator.endpoint, env)
        finally:
            emulator.enforce_iam(True)
        yield BenchWorld(env, deployed, emulator, keys)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        bootstrap.reset()
        emulator.stop()


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """This process's environment with `values` set (None: unset), the app rewired to read it (bootstrap.reset),
    and both put back afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    _set(values)
    bootstrap.reset()
    try:
        yield
    finally:
        _set(saved)
        bootstrap.reset()


def _set(values: dict[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def fresh_broker(table: str = TABLE) -> Any:
    """An empty table and the app's Broker on it (real clock)."""
    import boto3

    ddb = boto3.client("dynamodb")
    if table in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName=table)
    os.environ["ACCESS_BROKER_TABLE"] = table
    create_table(table)
    bootstrap.reset()
    return bootstrap.broker()


def _provision_deployed(endpoint: str, env: dict[str, str]) -> dict[str, str]:
    """SSM parameters holding the secrets, the worker function, and the broker user allowed to use them."""
    values = {"SLACK_SIGNING_SECRET": env["SLACK_SIGNING_SECRET"],
              "ACCESS_BROKER_CONSOLE_KEY": env["ACCESS_BROKER_CONSOLE_KEY"], "SLACK_BOT_TOKEN": "xoxb-bench",
              "ACCESS_BROKER_JOB_KEY": secrets.token_urlsafe(32)}
    ssm = aws_client(endpoint, "ssm", account=SOURCE_ACCOUNT)
    for name, parameter in PARAMETERS.items():
        ssm.put_parameter(Name=parameter, Value=values[name], Type="SecureString", Overwrite=True)
    iam = aws_client(endpoint, "iam", account=SOURCE_ACCOUNT)
    extras = iam.create_policy(PolicyName="bench-deployed-extras", PolicyDocument=json.dumps(_DEPLOYED_EXTRAS))
    iam.attach_user_policy(UserName=BROKER_USER, PolicyArn=extras["Policy"]["Arn"])
    create_fake_worker(endpoint, WORKER)  # moto runs no code for it: the queued invocation is all we need
    deployed = {k: v for k, v in env.items() if k not in PARAMETERS}
    deployed.update({f"{name}_PARAMETER": parameter for name, parameter in PARAMETERS.items()})
    deployed.update(AWS_LAMBDA_FUNCTION_NAME=FUNCTION, ACCESS_BROKER_WORKER_FUNCTION=WORKER,
                    ACCESS_BROKER_STAGE="bench", AWS_REGION=REGION)
    return deployed
