"""What a Slack user sees (CONTRACT.md, Slack): a signed request naming no workspace or app, when the catalog names
ours, is refused saying none was given; a Request or Extend form, once done, is confirmed to the user alone
(an ephemeral message posted to the form's response_url)."""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Iterator
from urllib.parse import urlencode

import pytest

from chalicelib.domain.catalog import SlackWorkspace
from tests import fakes
from tests.app_on_fakes import RESPONSE_URL, OnFakes, serve


@pytest.fixture
def ours(monkeypatch: pytest.MonkeyPatch) -> Iterator[OnFakes]:
    catalog = dataclasses.replace(fakes.catalog(), slack=SlackWorkspace(team_id="T01LOCAL", api_app_id="A01BROKER"))
    yield from serve(monkeypatch, fakes.broker(catalog))


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[OnFakes]:
    yield from serve(monkeypatch)


def told(response: Any) -> str:
    assert response.status_code == 200, response.body
    answer = json.loads(response.body)
    assert answer["response_type"] == "ephemeral"
    return str(answer["text"])


def command(**fields: str) -> bytes:
    return urlencode({"token": "x", "user_id": "U01S3ACCESS", "command": "/request-access", "text": "help",
                      "response_url": RESPONSE_URL, **fields}).encode()


def test_a_command_naming_no_workspace_is_refused_saying_none_was_given(ours: OnFakes) -> None:
    text = told(ours.slack("/slack/commands", command(api_app_id="A01BROKER")))
    assert "does not serve the Slack workspace (none given);" in text


def test_a_command_naming_no_app_is_refused_saying_none_was_given(ours: OnFakes) -> None:
    text = told(ours.slack("/slack/commands", command(team_id="T01LOCAL")))
    assert "does not serve the Slack app (none given);" in text


def confirmations(app: OnFakes) -> list[dict[str, Any]]:
    """What was posted back to the form's response_url."""
    return [job["message"] for job in app.deferred.jobs
            if job["kind"] == "respond" and job["response_url"] == RESPONSE_URL]


def test_a_request_form_is_confirmed_to_the_requester_alone(app: OnFakes) -> None:
    app.submit("request_access", {"profile": "s3-prod", "duration": "1h", "reason": "fixing it"},
               {"response_url": RESPONSE_URL}, user_id="U01S3ACCESS")
    [message] = confirmations(app)
    assert message["response_type"] == "ephemeral" and "Request `01000000000000000000000001`" in message["text"]


def test_an_extend_form_is_confirmed_to_the_requester_alone(app: OnFakes) -> None:
    request = fakes.granted(app.wired)
    app.submit("extend", {"duration": "1h"}, {"request_id": request.id, "response_url": RESPONSE_URL},
               user_id="U01S3ACCESS")
    [message] = confirmations(app)
    assert message["response_type"] == "ephemeral" and f"`{request.id}` by 1h" in message["text"]
