"""Secrets come from SSM (SecureString, or a Secrets Manager secret through SSM) in deployed stages, read once per
container; from the environment locally. They never show up in logs, responses or events."""
from __future__ import annotations

import json
import logging
from contextlib import contextmanager
from typing import Iterator

import pytest

from chalicelib import bootstrap
from chalicelib.aws.links import ConsoleTokens
from chalicelib.aws.secrets import SecretUnavailable
from chalicelib.settings import SECRET_NAMES
from tools.slack_cli import command_body, signed_headers
from tools.slack_stub import SlackStub
from tools.world import SOURCE_ACCOUNT, aws_client

PREFIX = "/access-broker/test/"
VALUES = {
    "ACCESS_BROKER_CONSOLE_KEY": "console-key-from-ssm-5c1b7e0d9a8f4e2b",
    "SLACK_SIGNING_SECRET": "signing-secret-from-ssm-77aa01f3c2",
    "SLACK_BOT_TOKEN": "xoxb-bot-token-from-secrets-manager-91d2",
}


@contextmanager
def admin(world) -> Iterator[None]:
    """Sets the world up as an operator would (enforcement off), then hands it back enforced."""
    world.emulator.enforce_iam(False)
    try:
        yield
    finally:
        world.emulator.enforce_iam(True)


def ssm(world):
    return aws_client(world.emulator.endpoint, "ssm", account=SOURCE_ACCOUNT)


@pytest.fixture
def deployed_secrets(world, broker, monkeypatch):
    """The stage names its secrets' parameters, as dev and prod do in .chalice/config.json; no values in the env."""
    with admin(world):
        for name in ("ACCESS_BROKER_CONSOLE_KEY", "SLACK_SIGNING_SECRET"):
            ssm(world).put_parameter(Name=PREFIX + name.lower(), Value=VALUES[name], Type="SecureString",
                                     Overwrite=True)
        sm = aws_client(world.emulator.endpoint, "secretsmanager", account=SOURCE_ACCOUNT)
        try:
            sm.create_secret(Name="access-broker/test/slack_bot_token", SecretString=VALUES["SLACK_BOT_TOKEN"])
        except sm.exceptions.ResourceExistsException:
            sm.put_secret_value(SecretId="access-broker/test/slack_bot_token",
                                SecretString=VALUES["SLACK_BOT_TOKEN"])
    for name in SECRET_NAMES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv(f"{name}_PARAMETER", PREFIX + name.lower())
    monkeypatch.setenv("SLACK_BOT_TOKEN_PARAMETER", "/aws/reference/secretsmanager/access-broker/test/slack_bot_token")
    clock = broker.clock
    bootstrap.reset()
    bootstrap.broker(clock=clock)  # the app's broker, now wired with secrets from SSM, on the test's clock
    yield VALUES
    bootstrap.reset()


def test_secrets_come_from_ssm_and_secrets_manager(deployed_secrets) -> None:
    for name, value in deployed_secrets.items():
        assert bootstrap.secret(name) == value, name


def test_console_links_are_signed_with_the_key_from_ssm(deployed_secrets, api) -> None:
    request = api.create()
    grant = api.post(f"/v1/requests/{request['id']}/approve", "bob").json["grant"]
    token = grant["console_url"].removeprefix("/v1/console/")
    key = deployed_secrets["ACCESS_BROKER_CONSOLE_KEY"].encode()
    assert ConsoleTokens(key).verify(token, bootstrap.broker().clock()) == request["id"]
    assert api.get(grant["console_url"]).status_code == 302


def test_a_secret_is_read_once_per_container(deployed_secrets, world) -> None:
    name = PREFIX + "slack_signing_secret"
    assert bootstrap.secret("SLACK_SIGNING_SECRET") == deployed_secrets["SLACK_SIGNING_SECRET"]
    with admin(world):
        ssm(world).put_parameter(Name=name, Value="rotated-signing-secret", Type="SecureString", Overwrite=True)
    assert bootstrap.secret("SLACK_SIGNING_SECRET") == deployed_secrets["SLACK_SIGNING_SECRET"], "read again"
    bootstrap.reset()  # a new container
    assert bootstrap.secret("SLACK_SIGNING_SECRET") == "rotated-signing-secret"


def test_a_missing_parameter_is_named_without_any_value(deployed_secrets, monkeypatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN_PARAMETER", PREFIX + "nowhere")
    bootstrap.reset()
    with pytest.raises(SecretUnavailable) as caught:
        bootstrap.secret("SLACK_BOT_TOKEN")
    assert PREFIX + "nowhere" in str(caught.value) and "ParameterNotFound" in str(caught.value)


def test_locally_secrets_come_from_the_environment(world, monkeypatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "local-signing-secret")
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    bootstrap.reset()
    try:
        assert bootstrap.secret("SLACK_SIGNING_SECRET") == "local-signing-secret"
        with pytest.raises(SecretUnavailable, match="SLACK_BOT_TOKEN is not set"):
            bootstrap.secret("SLACK_BOT_TOKEN")
    finally:
        bootstrap.reset()


@pytest.fixture
def slack_stub(monkeypatch):
    """Slack's Web API on loopback: the notifier posts there, with the bot token read from Secrets Manager."""
    stub = SlackStub().start()
    monkeypatch.setenv("SLACK_API_URL", stub.api_url)
    yield stub
    stub.stop()


def test_no_secret_appears_in_logs_responses_or_events_of_a_whole_scenario(slack_stub, deployed_secrets, api,
                                                                             caplog, capfd) -> None:
    caplog.set_level(logging.DEBUG)
    bodies = []
    # Slack: a signed slash command, answered; the approval message posted with the bot token
    command = command_body("U01S3ACCESS", "s3-prod 1h fixing the export job", slack_stub.url + "/respond/1")
    answer = api.http.post("/slack/commands", body=command, headers=signed_headers(
        deployed_secrets["SLACK_SIGNING_SECRET"], command, int(bootstrap.broker().clock().timestamp())))
    assert answer.status_code == 200, answer.body
    bodies.append(answer.body)
    # create, approve, console link, a tampered link, revoke, the link again, the audit export; and a denial
    request = api.create()
    bodies.append(request)
    approved = api.post(f"/v1/requests/{request['id']}/approve", "bob")
    console = approved.json["grant"]["console_url"]
    bodies += [approved.body, api.get(console).headers, api.get(console[:-2] + "xx").body]
    bodies.append(api.post(f"/v1/requests/{request['id']}/revoke", "s3-access").body)
    bodies.append(api.get(console).body)
    denied = api.create(as_="alice")
    bodies.append(api.post(f"/v1/requests/{denied['id']}/deny", "carol", {"comment": "not today"}).body)
    bodies.append(api.get(f"/v1/requests/{request['id']}/events", "bob").body)
    bodies.append(api.get("/v1/audit", "bob").body)

    bootstrap.deferred().drain()
    assert slack_stub.calls("chat.postMessage"), "the notifier never reached Slack: the token was not used"
    bodies += [c.body for c in slack_stub.calls()]
    logged = "\n".join(f"{r.name} {r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    out, err = capfd.readouterr()
    everything = "\n".join([logged, out, err, *map(str, bodies)])
    assert caplog.records, "nothing was logged: the capture is not working"
    for name, value in deployed_secrets.items():
        assert value not in everything, f"{name} leaked"
    # The JSON lines (chalicelib/audit_log.py) were in that output: every event of both requests, and no console
    # link, whose token opens the role for as long as the grant lasts.
    written = [json.loads(line) for line in out.splitlines() if line.startswith('{"type":')]
    assert {w["request_id"] for w in written if w["type"] == "audit"} >= {request["id"], denied["id"]}
    assert console.rsplit("/", 1)[-1] not in out


def test_an_unreadable_console_key_stops_an_approval_before_iam_and_never_a_request(deployed_secrets, api,
                                                                                     world, monkeypatch) -> None:
    # The key is read on first use (a slash command signs no link and should not wait for SSM on a cold start)
    monkeypatch.setenv("ACCESS_BROKER_CONSOLE_KEY_PARAMETER", PREFIX + "nowhere")
    clock = bootstrap.broker().clock
    bootstrap.reset()
    bootstrap.broker(clock=clock)
    request = api.create()  # asking needs no console key

    approved = api.post(f"/v1/requests/{request['id']}/approve", "bob")

    assert approved.status_code == 500
    assert api.get(f"/v1/requests/{request['id']}", "s3-access").json["state"] == "approved"  # the sweeper retries
    iam = world.client("iam")
    assert iam.list_attached_user_policies(UserName="s3-access")["AttachedPolicies"] == [], "nothing granted"
