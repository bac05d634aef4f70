"""What the Slack side of the directory (chalicelib/slack/directory.py) says when Slack answers oddly or not at all:
the reason people are shown while the directory cannot be read ("I can't tell who you are just now: ...") names
Slack, the method, what went wrong and how long Slack asked to wait. Against a bare HTTP server answering as a
misbehaving Slack would, and the local Slack stand-in for its rate limits."""
from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import pytest

from chalicelib.domain.directory_reads import DirectoryUnavailable
from chalicelib.slack.directory import SlackAccount, SlackDirectory
from chalicelib.slack.web import SlackWeb
from tools import loopback
from tools.slack_stub import SlackStub, SlackUser


class Odd(BaseHTTPRequestHandler):
    """Answers each Web API method with the JSON in `answers`."""

    answers: ClassVar[dict[str, Any]] = {}

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        payload = json.dumps(Odd.answers[self.path.split("?")[0].removeprefix("/api/")]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def odd() -> Iterator[SlackDirectory]:
    server = loopback.serve(Odd, "odd-slack")
    yield SlackDirectory(SlackWeb("xoxb-unit", loopback.url(server) + "/api/"))
    loopback.close(server)


@pytest.mark.parametrize("method, answer, read, why", [
    ("users.lookupByEmail", {"ok": True, "user": {"name": "bob"}}, lambda d: d.lookup_by_email("bob@example.com"),
     "Slack users.lookupByEmail failed: unexpected answer: no user id"),
    ("users.lookupByEmail", {"ok": True, "user": {"id": ""}}, lambda d: d.lookup_by_email("bob@example.com"),
     "Slack users.lookupByEmail failed: unexpected answer: no user id"),
    ("users.info", {"ok": True, "user": {"id": 7}}, lambda d: d.user("U01BOB"),
     "Slack users.info failed: unexpected answer: no user id"),
    ("usergroups.users.list", {"ok": True, "users": "U01BOB"}, lambda d: d.user_group_members("S01APPROVERS"),
     "Slack usergroups.users.list failed: unexpected answer: no list of user ids"),
])
def test_an_answer_that_names_no_one_is_no_answer(odd: SlackDirectory, method: str, answer: Any, read: Any,
                                                  why: str) -> None:
    Odd.answers = {method: answer}
    with pytest.raises(DirectoryUnavailable) as unavailable:
        read(odd)
    assert str(unavailable.value) == why


def test_an_account_without_an_email_has_none(odd: SlackDirectory) -> None:
    Odd.answers = {"users.info": {"ok": True, "user": {"id": "U01BOB", "profile": {"email": ""}}}}
    assert odd.user("U01BOB") == SlackAccount("U01BOB", None, False)


def test_a_long_rate_limit_says_how_long_slack_asked_to_wait() -> None:
    stub = SlackStub().start()
    try:
        stub.set_directory([SlackUser("U01BOB", "bob", "bob@example.com")])
        stub.fail("users.info", "ratelimited", retry_after=120)
        with pytest.raises(DirectoryUnavailable) as unavailable:
            SlackDirectory(SlackWeb("xoxb-unit", stub.api_url)).user("U01BOB")
        assert str(unavailable.value) == "Slack users.info failed: ratelimited (retry after 120 s)"
        assert unavailable.value.retry_after == 120.0
    finally:
        stub.stop()
