"""The app's HTTP routes driven in process for the unit tier: Chalice's test client on app.py, its Broker the in-memory
one of tests/fakes.py and its deferred work recorded (never run), so a route's answer (status, problem+json, view,
Slack's reply) is checked in milliseconds without the local AWS world."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.slack.jobs import Job
from tests import fakes
from tools.slack_cli import command_body, interaction_body, signed_headers, submission_payload

ROOT = Path(__file__).resolve().parents[1]
CONSOLE_KEY = "unit-console-key-0123456789abcdef"
SIGNING_SECRET = "unit-slack-signing-secret-0123456789"
RESPONSE_URL = "https://hooks.slack.com/commands/T01/1/unit"


@dataclass
class Recorded:
    """The deferred runner: keeps what the routes hand it."""
    jobs: list[Job] = field(default_factory=list)

    def submit(self, job: Job) -> None:
        self.jobs.append(job)


@dataclass
class OnFakes:
    """The app as a caller sees it, over the in-memory broker `wired`."""
    client: Client
    wired: fakes.Fakes
    deferred: Recorded

    def get(self, path: str, as_: str | None = "bob", headers: dict[str, str] | None = None) -> Any:
        return self.client.http.get(path, headers={**_principal(as_), **(headers or {})})

    def post(self, path: str, body: Any = None, as_: str | None = "bob", headers: dict[str, str] | None = None,
             raw: bytes | str | None = None) -> Any:
        sent = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        return self.client.http.post(path, headers={"Content-Type": "application/json", **_principal(as_),
                                                    **(headers or {})}, body=sent)

    def slack(self, path: str, body: bytes, secret: str = SIGNING_SECRET) -> Any:
        stamp = int(self.wired.clock().timestamp())
        return self.client.http.post(path, headers=signed_headers(secret, body, stamp), body=body)

    def command(self, text: str, as_: str = "s3-access") -> Any:
        return self.slack("/slack/commands", command_body(fakes.DEMO_PEOPLE[as_]["slack_user_id"], text, RESPONSE_URL))

    def submit(self, callback_id: str, values: dict[str, str], metadata: dict[str, str] | None = None,
               user_id: str = "U01BOB") -> Any:
        payload = submission_payload(user_id, callback_id, values, metadata)
        return self.slack("/slack/interactions", interaction_body(payload))


def _principal(as_: str | None) -> dict[str, str]:
    return {} if as_ is None else {"X-Local-Principal": f"arn:aws:iam::111111111111:user/{as_}"}


def serve(monkeypatch: pytest.MonkeyPatch, wired: fakes.Fakes | None = None) -> Iterator[OnFakes]:
    """A generator for a fixture: the local stage on a laptop (X-Local-Principal names the caller), its secrets set."""
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    monkeypatch.setenv("ACCESS_BROKER_CONSOLE_KEY", CONSOLE_KEY)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    for name in ("ACCESS_BROKER_CONSOLE_KEY_PARAMETER", "SLACK_SIGNING_SECRET_PARAMETER", "ACCESS_BROKER_STAGE"):
        monkeypatch.delenv(name, raising=False)
    import app

    wired = wired or fakes.broker()
    deferred = Recorded()
    bootstrap.reset()
    bootstrap._built.update(broker=wired.broker, deferred=deferred)
    try:
        with Client(app.app, stage_name="local", project_dir=str(ROOT)) as client:
            yield OnFakes(client, wired, deferred)
    finally:
        bootstrap.reset()
