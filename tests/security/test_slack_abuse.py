"""Slack endpoints fed random bodies and headers answer 401 and never reach storage.

Storage is a trap here: the broker is pointed at a table that does not exist, so any read or write would fail
with a 500 or a Slack error message, never a bare 401. A genuinely signed request proves the trap springs."""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from chalice.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import app
from chalicelib import bootstrap
from chalicelib.slack.verify import WINDOW_S
from tools.slack_cli import command_body, signed_headers

ROOT = Path(__file__).resolve().parents[2]
SECRET = "abuse-test-signing-secret-0123456789"
PATHS = ["/slack/commands", "/slack/interactions"]
LIST = command_body("U01BOB", "list", "https://hooks.slack.invalid/commands/1")


@pytest.fixture(scope="module")
def trapped(world):
    patch = pytest.MonkeyPatch()
    patch.setenv("SLACK_SIGNING_SECRET", SECRET)
    patch.setenv("ACCESS_BROKER_TABLE", "access-broker-no-such-table")
    bootstrap.reset()
    with Client(app.app, stage_name="local", project_dir=str(ROOT)) as client:
        yield client.http
    patch.undo()
    bootstrap.reset()


def now() -> int:
    return int(bootstrap.broker().clock().timestamp())


def test_the_trap_springs_for_a_genuine_request(trapped) -> None:
    response = trapped.post("/slack/commands", headers=signed_headers(SECRET, LIST, now()), body=LIST)
    assert response.status_code != 401
    assert b"went wrong" in response.body, "a signed `list` should have reached (the missing) storage"


headers = st.dictionaries(
    st.sampled_from(["X-Slack-Signature", "X-Slack-Request-Timestamp", "Content-Type", "X-Slack-Retry-Num",
                     "Authorization", "X-Local-Principal"]),
    st.one_of(st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80),
              st.from_regex(r"v0=[0-9a-f]{64}", fullmatch=True), st.integers(0, 2**40).map(str)))


@pytest.mark.parametrize("path", PATHS)
@given(body=st.binary(max_size=2000), sent=headers)
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_random_bodies_and_headers_get_401(trapped, path: str, body: bytes, sent: dict) -> None:
    response = trapped.post(path, headers={"Content-Type": "application/x-www-form-urlencoded", **sent}, body=body)
    assert response.status_code == 401, (sent, body[:80])
    assert response.body in (b"", ""), "a 401 says nothing"


signatures = st.one_of(st.from_regex(r"v0=[0-9a-f]{64}", fullmatch=True),
                       st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80))


@pytest.mark.parametrize("path", PATHS)
@given(body=st.one_of(st.binary(max_size=2000), st.just(LIST)), signature=signatures,
       offset=st.integers(-WINDOW_S + 5, WINDOW_S - 5))  # inside, whatever the clock does meanwhile
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_random_signatures_inside_the_window_get_401(trapped, path: str, body: bytes, signature: str,
                                                     offset: int) -> None:
    """A fresh timestamp gets past the window check: the signature itself is what refuses these."""
    sent = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": str(now() + offset),
            "X-Slack-Signature": signature}
    response = trapped.post(path, headers=sent, body=body)
    assert response.status_code == 401, (sent, body[:80])
    assert response.body in (b"", ""), "a 401 says nothing"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("tamper", ["wrong secret", "body changed", "too old", "too new", "no signature",
                                    "signature of another time", "v1 scheme"])
def test_almost_genuine_requests_get_401(trapped, path: str, tamper: str) -> None:
    stamp = now()
    headers = signed_headers(SECRET, LIST, stamp)
    body = LIST
    if tamper == "wrong secret":
        headers = signed_headers(SECRET + "x", LIST, stamp)
    elif tamper == "body changed":
        body = LIST.replace(b"list", b"help")
    elif tamper in ("too old", "too new"):
        moved = stamp - 301 if tamper == "too old" else stamp + 301
        headers = signed_headers(SECRET, LIST, moved)
    elif tamper == "no signature":
        del headers["X-Slack-Signature"]
    elif tamper == "signature of another time":
        headers["X-Slack-Signature"] = signed_headers(SECRET, LIST, stamp - 1)["X-Slack-Signature"]
    elif tamper == "v1 scheme":
        headers["X-Slack-Signature"] = headers["X-Slack-Signature"].replace("v0=", "v1=")
    response = trapped.post(path, headers=headers, body=body)
    assert response.status_code == 401, tamper


def test_the_clock_used_is_the_brokers(trapped) -> None:
    """Guards the tests above: they sign with the broker's clock, which is the wall clock here."""
    assert abs(now() - time.time()) < 5
