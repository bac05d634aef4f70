"""`make run` passes the Slack settings through when given; with no Web API URL and no token, the printing stub."""
from __future__ import annotations

import io
import json
import urllib.error
import urllib.request

import pytest

from tools import run_local
from tools.slack_cli import _request
from tools.slack_stub import SlackStub

REAL = {"SLACK_API_URL": "https://slack.com/api/", "SLACK_BOT_TOKEN": "xoxb-real", "SLACK_SIGNING_SECRET": "s3cr3t"}


def test_real_slack_settings_pass_through(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in REAL.items():
        monkeypatch.setenv(name, value)
    assert run_local._slack() == (REAL, None)


def test_a_bot_token_alone_means_the_real_slack_web_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_API_URL", raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-real")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cr3t")
    env, stub = run_local._slack()
    assert stub is None and "SLACK_API_URL" not in env  # the settings' default: https://slack.com/api/
    assert (env["SLACK_BOT_TOKEN"], env["SLACK_SIGNING_SECRET"]) == ("xoxb-real", "s3cr3t")


def test_otherwise_the_stub_stands_in_and_prints_what_is_posted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_API_URL", raising=False)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "kept")
    env, stub = run_local._slack()
    try:
        assert env["SLACK_API_URL"] == stub.api_url and env["SLACK_SIGNING_SECRET"] == "kept"
        stub.out = io.StringIO()
        body = json.dumps({"channel": "C01APPROVALS", "text": "hi <@U01BOB>"}).encode()
        request = urllib.request.Request(f"{stub.api_url}chat.postMessage", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request) as answer:
            assert json.load(answer)["ok"] is True
        assert stub.out.getvalue() == "--- slack chat.postMessage -> C01APPROVALS\n  hi @bob\n"
    finally:
        stub.stop()


def test_the_cli_understands_commands_clicks_and_forms() -> None:
    assert _request(["/request-access", "s3-prod", "1h", "x"], "U01BOB", "http://r")[0] == "/slack/commands"
    path, body = _request(["click", "approve", "01jbx5v6d8k2m3n4p5q6r7s8t9"], "U01BOB", "http://r")
    assert path == "/slack/interactions" and b"block_actions" in body
    with pytest.raises(ValueError, match="click <approve"):
        _request(["wave"], "U01BOB", "http://r")


def test_a_stubbed_failure_answers_like_slack() -> None:
    stub = SlackStub().start()
    try:
        stub.fail("chat.update", "ratelimited", retry_after=7)
        request = urllib.request.Request(f"{stub.api_url}chat.update", data=b"{}",
                                         headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request)
        assert (refused.value.code, refused.value.headers["Retry-After"]) == (429, "7")
        assert json.load(refused.value) == {"ok": False, "error": "ratelimited"}
    finally:
        stub.stop()


def test_make_runs_stub_knows_the_directory_fixtures_people_and_user_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.slack.directory import SlackDirectory
    from chalicelib.slack.web import SlackWeb

    monkeypatch.delenv("SLACK_BOT_TOKEN", raising=False)
    monkeypatch.delenv("SLACK_API_URL", raising=False)
    env, stub = run_local._slack()
    try:
        stub.out = io.StringIO()
        directory = SlackDirectory(SlackWeb(env["SLACK_BOT_TOKEN"], env["SLACK_API_URL"]))
        assert directory.lookup_by_email("frank@example.com") == "U02FRANK"
        assert directory.user_group_members("S0DBAPPROVE") == ["U02ERIN", "U02FRANK", "U01BOB", "U02MALLORY"]
        assert stub.names["U02FRANK"] == "frank", "what the broker posts to a directory person reads @frank"
    finally:
        stub.stop()
