"""Slack's front door (`slack_route`), on a route registered here as chalicelib/routes/slack.py registers its own:
POST only, whatever Content-Type Slack sends; a request signed with the signing secret reaches the view, anything
else is a bare 401 that reaches nothing; Slack's ssl_check is answered unsigned; a domain error is told to the person
and anything else is a logged apology."""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from chalice import Blueprint, Chalice, Response
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.domain.errors import Forbidden
from chalicelib.routes import slack as slack_routes
from tests.app_on_fakes import ROOT, SIGNING_SECRET, serve
from tools.slack_cli import signed_headers

FORM = b"token=x&team_id=T01&user_id=U01BOB&text=hello"


class Door:
    def __init__(self, http: Any, clock: Any, seen: list[bytes]) -> None:
        self.http, self.clock, self.seen = http, clock, seen  # seen: the bodies the view was given

    def send(self, body: bytes, content_type: str = "application/x-www-form-urlencoded", method: str = "POST",
             secret: str | None = SIGNING_SECRET) -> Any:
        headers = signed_headers(secret, body, int(self.clock().timestamp())) if secret else {}
        return self.http.request(method, "/slack/door", headers={**headers, "Content-Type": content_type}, body=body)


@pytest.fixture
def door(monkeypatch: pytest.MonkeyPatch) -> Iterator[Door]:
    for served in serve(monkeypatch):
        blueprint = Blueprint("door")
        monkeypatch.setattr(slack_routes, "slack", blueprint)
        app = Chalice("door")
        seen: list[bytes] = []

        @slack_routes.slack_route("/slack/door")
        def view(body: bytes) -> Response:
            seen.append(body)
            if b"refuse" in body:
                raise Forbidden("not you")
            if b"boom" in body:
                raise RuntimeError("the signing secret is hunter2")
            return slack_routes.ephemeral("hello")

        app.register_blueprint(blueprint)
        with Client(app, stage_name="local", project_dir=str(ROOT)) as client:  # the local stage's secrets
            yield Door(client.http, served.wired.clock, seen)


def said(response: Any) -> str:
    assert response.status_code == 200, response.body
    answer = json.loads(response.body)
    assert answer["response_type"] == "ephemeral"
    return str(answer["text"])


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "application/json", "text/plain"])
def test_a_signed_post_of_any_type_reaches_the_view(door: Door, content_type: str) -> None:
    assert said(door.send(FORM, content_type)) == "hello"
    assert door.seen == [FORM]


def test_other_methods_are_not_answered(door: Door) -> None:
    assert door.send(FORM, method="GET").status_code == 405
    assert door.seen == []


@pytest.mark.parametrize("secret", [None, "another-signing-secret-0123456789"])
def test_an_unsigned_or_wrongly_signed_post_is_a_bare_401(door: Door, secret: str | None) -> None:
    response = door.send(FORM, secret=secret)
    assert (response.status_code, response.body) == (401, b"")
    assert door.seen == []


def test_slack_s_ssl_check_is_answered_unsigned(door: Door) -> None:
    response = door.send(b"ssl_check=1&token=x", secret=None)
    assert (response.status_code, response.body) == (200, b"")
    assert door.seen == []


def test_a_domain_error_is_told_and_anything_else_is_an_apology(door: Door) -> None:
    assert "not you" in said(door.send(FORM + b"&refuse=1"))
    assert said(door.send(FORM + b"&boom=1")) == \
        ":warning: Something went wrong on our side; it has been logged. Try again."


def test_while_the_settings_cannot_be_read_slack_gets_a_500_problem_saying_nothing_of_why(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for served in serve(monkeypatch):
        monkeypatch.setenv("ACCESS_BROKER_JOB_KEY", "too-short")  # Settings refuse to build: before any signature
        bootstrap.reset()
        response = served.command("help")
        assert (response.status_code, response.headers["Content-Type"]) == (500, "application/problem+json")
        assert json.loads(response.body) == {"type": "about:blank", "title": "Internal Server Error", "status": 500,
                                             "detail": "An internal server error occurred."}
