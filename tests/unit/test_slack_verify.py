"""Slack's v0 signature: only Slack, only recently, only this exact body."""
from __future__ import annotations

from chalicelib.slack.verify import is_authentic, signature

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = b"token=x&team_id=T1&user_id=U01BOB&command=%2Frequest-access&text=s3-prod+1h+test"
NOW = 1_764_000_000


def headers(body: bytes = BODY, stamp: int = NOW, secret: str = SECRET) -> dict[str, str]:
    return {"x-slack-request-timestamp": str(stamp), "x-slack-signature": signature(secret, str(stamp), body)}


def test_slacks_documented_example_signature() -> None:
    # The worked example in Slack's "Verifying requests from Slack" guide.
    body = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
            b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
            b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    assert signature(SECRET, "1531420618", body) == \
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_a_correctly_signed_recent_request_is_accepted() -> None:
    assert is_authentic(SECRET, headers(), BODY, NOW + 10)


def test_the_window_is_five_minutes_either_way() -> None:
    assert is_authentic(SECRET, headers(), BODY, NOW + 299)
    assert not is_authentic(SECRET, headers(), BODY, NOW + 301)
    assert not is_authentic(SECRET, headers(), BODY, NOW - 301)


def test_tampered_body_wrong_secret_or_missing_headers_are_refused() -> None:
    assert not is_authentic(SECRET, headers(), BODY.replace(b"1h", b"4h"), NOW)
    assert not is_authentic(SECRET, headers(secret="another-secret"), BODY, NOW)
    assert not is_authentic(SECRET, {}, BODY, NOW)
    assert not is_authentic(SECRET, {"x-slack-request-timestamp": str(NOW)}, BODY, NOW)
    assert not is_authentic(SECRET, {**headers(), "x-slack-request-timestamp": "12e3"}, BODY, NOW)
    assert not is_authentic(SECRET, {**headers(), "x-slack-signature": "v0=é"}, BODY, NOW)
    assert not is_authentic("", headers(secret=""), BODY, NOW)
