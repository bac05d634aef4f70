"""Slack fixtures: a local stub Web API (session), Slack settings pointing at it, and `slack`, which sends
genuinely signed Slack requests through Chalice's test client as a chosen person."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from tools.fake_worker import create_fake_worker
from tools.slack_cli import click_payload, command_body, interaction_body, signed_headers, submission_payload
from tools.slack_stub import Call, SlackStub, visible

SIGNING_SECRET = "test-slack-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-bot-token"
SLACK_IDS = {"s3-access": "U01S3ACCESS", "alice": "U01ALICE", "bob": "U01BOB", "carol": "U01CAROL"}
WORKER = "access-broker-test-worker"  # the worker function in the emulator (worker_function)
NAMES = {slack_id: person for person, slack_id in SLACK_IDS.items()}  # so assertions read "@bob"


@pytest.fixture(scope="session")
def slack_stub() -> Iterator[SlackStub]:
    stub = SlackStub().start()
    yield stub
    stub.stop()


@pytest.fixture(autouse=True)
def slack_settings(world: Any, slack_stub: SlackStub, monkeypatch: pytest.MonkeyPatch) -> SlackStub:
    """Before the broker is built: Slack configured, pointing at the stub (its response URLs included)."""
    monkeypatch.setenv("SLACK_API_URL", slack_stub.api_url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_LOCAL_RESPONSE_URL_PREFIX", slack_stub.response_url(""))  # answers may go to the stub
    slack_stub.reset()
    bootstrap.reset()
    return slack_stub


@pytest.fixture(scope="module")
def worker_function(world: Any) -> Iterator[str]:
    """A worker function in the emulator (moto runs no code for it without docker: the invocation is what counts)."""
    world.emulator.enforce_iam(False)
    try:
        worker = create_fake_worker(world.emulator.endpoint, WORKER)
    finally:
        world.emulator.enforce_iam(True)
    yield worker.name
    world.emulator.enforce_iam(False)
    try:
        worker.remove_invoke_permission(world.emulator.endpoint)
    finally:
        world.emulator.enforce_iam(True)


class Slack:
    """Slack's side of the conversation: signed commands, clicks and submissions, and what the stub saw."""

    def __init__(self, client: Client, stub: SlackStub, clock: Any) -> None:
        self.http, self.stub, self.clock = client.http, stub, clock

    def send(self, path: str, body: bytes, timestamp: int | None = None, secret: str = SIGNING_SECRET,
             retry: int | None = None, headers: dict[str, str] | None = None) -> Any:
        stamp = int(self.clock().timestamp()) if timestamp is None else timestamp
        response = self.http.post(path, headers=headers if headers is not None else signed_headers(
            secret, body, stamp, retry), body=body)
        text = response.body.decode() if isinstance(response.body, bytes) else response.body
        response.text = text
        is_json = response.headers.get("Content-Type") == "application/json"
        response.json = json.loads(text) if text and is_json else None
        return response

    def command(self, text: str, as_: str = "s3-access", **kw: Any) -> Any:
        return self.send("/slack/commands", self.command_body(text, as_), **kw)

    def command_body(self, text: str, as_: str = "s3-access") -> bytes:
        return command_body(SLACK_IDS.get(as_, as_), text, self.stub.response_url(as_))

    def click(self, action: str, request_id: str, as_: str = "bob", **kw: Any) -> Any:
        """Clicks the button as the latest message about the request shows it (its value names the round)."""
        payload = click_payload(SLACK_IDS.get(as_, as_), action, self.button(action, request_id),
                                self.stub.response_url(as_))
        return self.send("/slack/interactions", interaction_body(payload), **kw)

    def button(self, action: str, request_id: str) -> str:
        """The value of the `action` button in the latest message about the request (the bare id if none shows)."""
        for call in reversed(self.stub.calls()):
            for block in call.body.get("blocks") or []:
                for element in block.get("elements") or [] if isinstance(block, dict) else []:
                    value = element.get("value") if isinstance(element, dict) else None
                    if element.get("action_id") == action and str(value).split(":")[0] == request_id:
                        return str(value)
        return request_id

    def opened(self) -> dict[str, str]:
        """The private_metadata of the latest form the broker opened: what Slack hands back when it is submitted."""
        view = self.calls("views.open")[-1].body["view"]
        return dict(json.loads(view["private_metadata"]))

    def submit(self, callback_id: str, values: dict[str, str], metadata: dict[str, str] | None = None,
               as_: str = "bob", **kw: Any) -> Any:
        payload = submission_payload(SLACK_IDS.get(as_, as_), callback_id, values,
                                     {"response_url": self.stub.response_url(as_), **(metadata or {})})
        return self.send("/slack/interactions", interaction_body(payload), **kw)

    def create(self, text: str = "s3-prod 1h fixing the export job", as_: str = "s3-access") -> str:
        """Asks for access; returns the new request's id (from the ephemeral answer)."""
        answer = self.command(text, as_)
        assert answer.status_code == 200 and answer.json, answer.text
        found = re.search(r"Request `([0-9a-z]{26})`", answer.json["text"])
        assert found, f"no request id in the answer: {answer.json['text']}"
        self.drain()
        return found.group(1)

    def drain(self) -> None:
        """Waits for the work deferred after the answers (in-process; on "Lambda" it went to the worker)."""
        runner = bootstrap.deferred()
        if hasattr(runner, "drain"):
            runner.drain()

    def calls(self, method: str | None = None, channel: str | None = None) -> list[Call]:
        return [c for c in self.stub.calls(method) if channel is None or c.body.get("channel") == channel]

    def seen(self, method: str, channel: str | None = None) -> str:
        """What a person sees in the latest `method` call (to `channel`)."""
        found = self.calls(method, channel)
        assert found, f"Slack never got {method}{' to ' + channel if channel else ''}; got {self.stub.calls()}"
        return visible(found[-1].body, NAMES)

    def replies(self, as_: str) -> list[str]:
        """The response_url replies a person got (ephemeral answers after the first)."""
        return [c.body.get("text", "") for c in self.stub.calls("response_url") if c.path == f"/response/{as_}"]


@pytest.fixture
def slack(broker, slack_stub: SlackStub, clock) -> Iterator[Slack]:
    import app

    with Client(app.app, stage_name="local", project_dir=str(Path(__file__).resolve().parents[2])) as client:
        helper = Slack(client, slack_stub, clock)
        yield helper
        helper.drain()
