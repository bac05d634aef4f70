"""Slack's front door before and after the signature (issue 13, points 5 and 11).

- `ssl_check=1` (Slack's certificate check, unsigned by design) gets a 200 and nothing else happens; an unsigned
  body carrying anything more is still a bare 401.
- A timestamp header no clock could hold is a bare 401, not a crash.
- When the catalog names the Slack workspace (`slack.team_id`) or app (`slack.api_app_id`), signed requests for
  another one are refused with a message saying so, and change nothing.
- Errors shown under a modal's field are plain text: Slack would print `<@U01BOB>` as it is."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pytest
import yaml
from chalice.test import Client

from chalicelib.catalog import parse_catalog
from chalicelib.domain.errors import CatalogError
from tools.slack_cli import click_payload, command_body, interaction_body, signed_headers, submission_payload

SECRET = "gates-test-signing-secret-0123456789"
RESPONSE_URL = "https://hooks.slack.com/commands/T01LOCAL/1/abc"
DEMO = Path(__file__).resolve().parents[2] / "chalicelib" / "catalog" / "demo.yaml"


class Door:
    """Slack's two routes through Chalice's test client, signed (or not) like Slack signs."""

    def __init__(self, client: Client, broker: Any) -> None:
        self.http, self.broker = client.http, broker

    def post(self, path: str, body: bytes, signed: bool = True, headers: dict[str, str] | None = None) -> Any:
        stamp = int(self.broker.clock().timestamp())
        sent = signed_headers(SECRET, body, stamp) if signed else {"Content-Type": "application/x-www-form-urlencoded"}
        response = self.http.post(path, headers={**sent, **(headers or {})}, body=body)
        response.text = response.body.decode() if isinstance(response.body, bytes) else response.body
        response.json = json.loads(response.text) if response.text.startswith("{") else None
        return response

    def command(self, text: str, user: str = "U01S3ACCESS", **fields: str) -> Any:
        """A slash command as Slack sends it, with some of its form fields replaced."""
        form = dict(parse_qsl(command_body(user, text, RESPONSE_URL).decode(), keep_blank_values=True))
        return self.post("/slack/commands", urlencode({**form, **fields}).encode())


@pytest.fixture
def door(api, catalog_file, monkeypatch):
    """Returns `open(change=None)`: the app rebuilt with Slack's signing secret and the demo catalog changed."""
    import app

    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)

    def open_(change=lambda doc: None):
        broker = catalog_file(change)
        return Door(client, broker)

    with Client(app.app, stage_name="local") as client:
        yield open_


# -- before the signature


def test_slacks_ssl_check_gets_a_200_unsigned(door) -> None:
    gate = door()
    for path in ("/slack/commands", "/slack/interactions"):
        response = gate.post(path, b"token=deprecated-verification-token&ssl_check=1", signed=False)
        assert response.status_code == 200 and response.text == ""


@pytest.mark.parametrize("body", [
    b"token=x&ssl_check=1&user_id=U01S3ACCESS&text=list",
    b"ssl_check=1&command=%2Frequest-access&text=s3-prod+1h+test",
    b"ssl_check=1&payload=%7B%7D",
    b"token=x&ssl_check=0",
    b"token=x&ssl_check=1&ssl_check=1",
    b"token=x&token=y&ssl_check=1",
    b"ssl_check=1x",
    b"token=x&ssl_check=1&" + b"a" * 2000,
    b"token=\xff&ssl_check=1",
])
def test_an_unsigned_body_with_anything_more_than_ssl_check_is_a_bare_401(door, body: bytes) -> None:
    gate = door()
    for path in ("/slack/commands", "/slack/interactions"):
        response = gate.post(path, body, signed=False)
        assert response.status_code == 401 and response.text == "", body


@pytest.mark.parametrize("stamp", ["9" * 5000, "1" * 13, "١٧٠٠٠٠٠٠٠٠", "+1700000000", " 1700000000"])
def test_a_timestamp_no_clock_could_hold_is_a_bare_401(door, stamp: str) -> None:
    gate = door()
    body = command_body("U01S3ACCESS", "list", RESPONSE_URL)
    for path in ("/slack/commands", "/slack/interactions"):
        response = gate.post(path, body, signed=False, headers={"X-Slack-Request-Timestamp": stamp,
                                                                "X-Slack-Signature": "v0=" + "0" * 64})
        assert response.status_code == 401 and response.text == ""


# -- after the signature: which workspace and app


def test_without_slack_settings_any_workspace_is_served(door) -> None:
    response = door().command("list", team_id="T99OTHER")
    assert response.status_code == 200 and "no requests yet" in response.json["text"]


@pytest.mark.parametrize("slack, fields, refused", [
    ({"team_id": "T01LOCAL"}, {}, None),
    ({"team_id": "T01LOCAL", "api_app_id": "A01BROKER"}, {}, None),
    ({"team_id": "T01LOCAL"}, {"team_id": "T99OTHER"}, "workspace 'T99OTHER'"),
    ({"team_id": "T01LOCAL"}, {"team_id": ""}, "workspace (none given)"),
    ({"api_app_id": "A01BROKER"}, {"api_app_id": "A99OTHER"}, "app 'A99OTHER'"),
])
def test_a_command_for_another_workspace_or_app_is_refused_and_changes_nothing(door, slack, fields,
                                                                                refused) -> None:
    gate = door(lambda doc: doc.update(slack=slack))

    response = gate.command("s3-prod 1h fixing the export job", **fields)

    assert response.status_code == 200
    mine = gate.broker.list(gate.broker.caller_from_slack("U01S3ACCESS"), mine=True).items
    if refused is None:
        assert "Request `" in response.json["text"] and len(mine) == 1
    else:
        assert f"does not serve the Slack {refused}" in response.json["text"], response.json
        assert mine == []


def test_a_click_from_another_workspace_is_refused_and_changes_nothing(door, api) -> None:
    gate = door(lambda doc: doc.update(slack={"team_id": "T01LOCAL"}))
    request = api.create()
    payload = click_payload("U01BOB", "approve", request["id"], RESPONSE_URL)
    payload["team"] = {"id": "T99OTHER", "domain": "elsewhere"}

    response = gate.post("/slack/interactions", interaction_body(payload))

    assert "does not serve the Slack workspace 'T99OTHER'" in response.text
    assert api.get(f"/v1/requests/{request['id']}", "bob").json["state"] == "pending"


@pytest.mark.parametrize("slack, message", [
    ({"team_id": "t01local"}, "slack.team_id: 't01local' is not a Slack team_id like T01ABCDEF"),
    ({"api_app_id": "T01LOCAL"}, "slack.api_app_id: 'T01LOCAL' is not a Slack api_app_id like A01ABCDEF"),
    ({"team": "T01LOCAL"}, "slack: unknown key 'team'"),
    ("T01LOCAL", "slack: must be a mapping"),
])
def test_slack_settings_are_validated_at_load(slack, message) -> None:
    doc = yaml.safe_load(DEMO.read_text())
    doc["slack"] = slack
    with pytest.raises(CatalogError, match=message):
        parse_catalog(doc)


# -- errors under a form's field


def test_an_error_under_a_field_is_plain_text(door, api) -> None:
    gate = door()
    request = api.create()
    assert api.post(f"/v1/requests/{request['id']}/approve", "bob").json["state"] == "active"

    payload = submission_payload("U01CAROL", "deny", {"reason": "not today"},
                                 {"request_id": request["id"], "response_url": RESPONSE_URL})
    response = gate.post("/slack/interactions", interaction_body(payload))

    assert response.json["response_action"] == "errors", response.text
    shown = response.json["errors"]["reason"]
    assert "already approved by @bob" in shown and "<" not in shown and "&lt;" not in shown, shown
