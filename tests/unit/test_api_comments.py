"""An approver's comment over HTTP (CONTRACT.md, HTTP API; docs/openapi.json): POST .../approve and .../deny take an
optional JSON body {"comment": ...}; the comment is kept (approvals[].comment, decision_comment), and a body that is not
that object, or a comment too long or holding a control character, is a 400 problem+json saying why."""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest

from tests import fakes
from tests.app_on_fakes import OnFakes, serve

PROBLEM = "application/problem+json"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[OnFakes]:
    yield from serve(monkeypatch)


def problem(response: Any) -> str:
    assert response.status_code == 400, response.body
    assert response.headers["Content-Type"] == PROBLEM
    return str(json.loads(response.body)["detail"])


def body(response: Any) -> Any:
    assert response.status_code == 200, response.body
    return json.loads(response.body)


def test_an_approval_keeps_its_comment(app: OnFakes) -> None:
    request = fakes.ask(app.wired)
    shown = body(app.post(f"/v1/requests/{request.id}/approve", {"comment": "checked the ticket"}))
    assert [(a["by"], a["comment"]) for a in shown["approvals"]] == [("bob", "checked the ticket")]
    assert shown["decision_comment"] == "checked the ticket"


def test_a_denial_keeps_its_comment(app: OnFakes) -> None:
    request = fakes.ask(app.wired)
    shown = body(app.post(f"/v1/requests/{request.id}/deny", {"comment": "use the read-only profile"}))
    assert (shown["state"], shown["decided_by"], shown["decision_comment"]) == ("denied", "bob",
                                                                               "use the read-only profile")


@pytest.mark.parametrize("action", ["approve", "deny"])
def test_no_body_is_no_comment(app: OnFakes, action: str) -> None:
    request = fakes.ask(app.wired)
    assert body(app.post(f"/v1/requests/{request.id}/{action}"))["decision_comment"] == ""


@pytest.mark.parametrize("action", ["approve", "deny"])
def test_a_comment_over_1000_characters_is_refused_and_nothing_is_decided(app: OnFakes, action: str) -> None:
    request = fakes.ask(app.wired)
    detail = problem(app.post(f"/v1/requests/{request.id}/{action}", {"comment": "x" * 1001}))
    assert detail == "comment is 1001 characters; keep it to 1000"
    assert body(app.get(f"/v1/requests/{request.id}", as_="s3-access"))["state"] == "pending"


@pytest.mark.parametrize("action", ["approve", "deny"])
def test_a_comment_holding_a_control_character_is_refused(app: OnFakes, action: str) -> None:
    request = fakes.ask(app.wired)
    detail = problem(app.post(f"/v1/requests/{request.id}/{action}", {"comment": "ok\x1b[2Jfine"}))
    assert detail.startswith("comment holds the control character U+001B at position 3")
    assert body(app.get(f"/v1/requests/{request.id}", as_="s3-access"))["state"] == "pending"


@pytest.mark.parametrize("action", ["approve", "deny"])
@pytest.mark.parametrize(("raw", "detail"), [
    (b"{", "the body is not valid JSON; send a JSON object"),
    (b'"fine"', "the body must be a JSON object"),
    (json.dumps({"comment": "ok", "reason": "r"}).encode(), "unknown field 'reason'; allowed fields are comment"),
    (json.dumps({"comment": 5}).encode(), "field 'comment' must be a string"),
])
def test_a_body_that_is_not_a_comment_object_is_refused(app: OnFakes, action: str, raw: bytes, detail: str) -> None:
    request = fakes.ask(app.wired)
    assert problem(app.post(f"/v1/requests/{request.id}/{action}", raw=raw)) == detail
