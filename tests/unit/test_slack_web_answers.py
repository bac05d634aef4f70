"""SlackWeb (chalicelib/slack/web.py) against the local Slack stand-in and a bare HTTP server: which calls reach Slack
and with what, when a rate limit is waited out and when it goes back to the outbox (and how long Slack asked), what a
failure says to the worker, and the lines an operator reads when Slack refuses or cannot be reached."""
from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

import pytest

from chalicelib.slack.web import SlackFailure, SlackWeb
from tests.slack_stand_in import started, stub  # noqa: F401 (fixtures)
from tools import loopback
from tools.slack_stub import SlackStub

WEB = "chalicelib.slack.web"


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def web(stub: SlackStub, waits: list[float]) -> SlackWeb:
    return SlackWeb("xoxb-unit", stub.api_url, sleep=waits.append)


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == WEB and r.levelno == logging.WARNING]


class Bare(BaseHTTPRequestHandler):
    """Answers each POST with the class's status, headers and body, and keeps what it was sent."""

    status: ClassVar[int] = 200
    headers_out: ClassVar[dict[str, str]] = {}
    body_out: ClassVar[bytes] = b"ok"
    seen: ClassVar[list[tuple[str, dict[str, str]]]] = []

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        Bare.seen.append((self.path, dict(self.headers.items())))
        self.send_response(Bare.status)
        for name, value in Bare.headers_out.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(Bare.body_out)))
        self.end_headers()
        self.wfile.write(Bare.body_out)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def bare() -> Iterator[str]:
    Bare.status, Bare.headers_out, Bare.body_out, Bare.seen = 200, {}, b"ok", []
    server = loopback.serve(Bare, "bare-http")
    yield loopback.url(server)
    loopback.close(server)


# -- where calls go, and with what


@pytest.mark.parametrize("slash", ["", "/"])
def test_the_api_url_is_used_with_or_without_its_trailing_slash(stub: SlackStub, slash: str) -> None:
    web = SlackWeb("xoxb-unit", stub.api_url.rstrip("/") + slash)
    assert web.call("chat.postMessage", channel="C01", text="hi")["ok"] is True
    assert [c.method for c in stub.calls()] == ["chat.postMessage"]


def test_each_call_carries_the_bot_token(bare: str) -> None:
    Bare.body_out = b'{"ok": true}'
    SlackWeb("xoxb-unit-token", bare + "/api/").call("auth.test")
    assert [(path, headers.get("Authorization")) for path, headers in Bare.seen] == [
        ("/api/auth.test", "Bearer xoxb-unit-token")]


# -- Slack's refusals and rate limits


def test_a_refusal_is_raised_with_no_wait_and_logged(web: SlackWeb, stub: SlackStub, waits: list[float],
                                                     caplog: pytest.LogCaptureFixture) -> None:
    stub.fail("chat.postMessage", "channel_not_found")
    with caplog.at_level(logging.WARNING, WEB), pytest.raises(SlackFailure) as failed:
        web.call("chat.postMessage", channel="C0GONE", text="hi")
    assert (failed.value.method, failed.value.error, failed.value.retry_after) == (
        "chat.postMessage", "channel_not_found", None)
    assert str(failed.value) == "chat.postMessage: channel_not_found"
    assert waits == [] and len(stub.calls()) == 1
    assert warnings(caplog) == ["slack chat.postMessage failed: channel_not_found"]


@pytest.mark.parametrize("retry_after", [1, 3])
def test_a_short_rate_limit_is_waited_out_once(web: SlackWeb, stub: SlackStub, waits: list[float], retry_after: int,
                                               caplog: pytest.LogCaptureFixture) -> None:
    stub.fail("chat.postMessage", "ratelimited", retry_after=retry_after)
    with caplog.at_level(logging.WARNING, WEB):
        assert web.call("chat.postMessage", channel="C01", text="hi")["ok"] is True
    assert waits == [float(retry_after)] and len(stub.calls()) == 2
    assert warnings(caplog) == [f"slack chat.postMessage failed: ratelimited (retry after {float(retry_after)}s)"]


def test_a_rate_limit_twice_goes_back_with_what_slack_asked(web: SlackWeb, stub: SlackStub, waits: list[float]) -> None:
    stub.fail("chat.postMessage", "ratelimited", times=2, retry_after=2)
    with pytest.raises(SlackFailure) as failed:
        web.call("chat.postMessage", channel="C01", text="hi")
    assert (failed.value.error, failed.value.retry_after) == ("ratelimited", 2.0)
    assert waits == [2.0] and len(stub.calls()) == 2


def test_a_long_rate_limit_is_not_waited_here(web: SlackWeb, stub: SlackStub, waits: list[float]) -> None:
    stub.fail("chat.postMessage", "ratelimited", retry_after=120)
    with pytest.raises(SlackFailure) as failed:
        web.call("chat.postMessage", channel="C01", text="hi")
    assert (failed.value.error, failed.value.retry_after) == ("ratelimited", 120.0)
    assert waits == [] and len(stub.calls()) == 1


def test_a_rate_limit_without_retry_after_means_thirty_seconds(web: SlackWeb, stub: SlackStub,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    stub.fail("chat.postMessage", "ratelimited")
    with caplog.at_level(logging.WARNING, WEB), pytest.raises(SlackFailure) as failed:
        web.call("chat.postMessage", channel="C01", text="hi")
    assert failed.value.retry_after == 30.0
    assert warnings(caplog) == ["slack chat.postMessage failed: ratelimited (retry after 30.0s)"]


def test_slack_unreachable_is_raised_and_logged_by_kind(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        web = SlackWeb("xoxb-unit", f"http://127.0.0.1:{s.getsockname()[1]}/api/")
    with caplog.at_level(logging.WARNING, WEB), pytest.raises(SlackFailure) as failed:
        web.call("chat.postMessage", channel="C01", text="hi")
    assert (failed.value.method, failed.value.error) == ("chat.postMessage", "unreachable (URLError)")
    assert warnings(caplog) == ["slack chat.postMessage unreachable: URLError"]


# -- response_url replies


def test_a_reply_reaches_the_response_url(web: SlackWeb, stub: SlackStub) -> None:
    web.respond(stub.response_url("bob"), {"response_type": "ephemeral", "text": "done"})
    assert [(c.path, c.body) for c in stub.calls("response_url")] == [
        ("/response/bob", {"response_type": "ephemeral", "text": "done"})]


@pytest.mark.parametrize("status, body, error", [
    (300, b"multiple", "http_300 multiple"),
    (301, b"moved", "http_301 moved"),
    (404, b"no_service " + b"x" * 100, "http_404 no_service " + "x" * 69),
])
def test_a_reply_slack_refuses_is_raised_with_its_status(web: SlackWeb, bare: str, status: int, body: bytes,
                                                         error: str) -> None:
    Bare.status, Bare.body_out = status, body
    with pytest.raises(SlackFailure) as failed:
        web.respond(bare + "/response/bob", {"text": "done"})
    assert (failed.value.method, failed.value.error) == ("response_url", error)



# -- a Slack that does not answer in time: a failure after the timeout, never a hang


def test_a_call_slack_holds_past_the_timeout_fails_after_it(stub: SlackStub) -> None:
    gate = stub.hold("chat.postMessage")
    try:
        with pytest.raises(SlackFailure) as failed:
            SlackWeb("xoxb-unit", stub.api_url, timeout=1).call("chat.postMessage", channel="C01", text="hi")
        assert (failed.value.method, failed.value.error) == ("chat.postMessage", "unreachable (TimeoutError)")
    finally:
        gate.set()


def test_a_reply_slack_holds_past_the_timeout_fails_after_it(stub: SlackStub) -> None:
    gate = stub.hold("response_url")
    try:
        with pytest.raises(SlackFailure) as failed:
            SlackWeb("xoxb-unit", stub.api_url, timeout=1).respond(stub.response_url("bob"), {"text": "done"})
        assert (failed.value.method, failed.value.error) == ("response_url", "unreachable (TimeoutError)")
    finally:
        gate.set()
