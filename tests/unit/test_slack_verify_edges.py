"""Slack's v0 signature at its edges, both sides: the window's last second, and a signature header no encoding can
carry. Written against the mutants of chalicelib/slack/verify.py that `make mutate` found surviving."""
from __future__ import annotations

import pytest

from chalicelib.slack.verify import WINDOW_S, is_authentic, signature

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = b"token=x&team_id=T1&user_id=U01BOB&command=%2Frequest-access&text=s3-prod+1h+test"
NOW = 1_764_000_000


def signed(stamp: int = NOW) -> dict[str, str]:
    return {"x-slack-request-timestamp": str(stamp), "x-slack-signature": signature(SECRET, str(stamp), BODY)}


@pytest.mark.parametrize("age, accepted", [(WINDOW_S, True), (WINDOW_S + 1, False), (-WINDOW_S, True),
                                           (-WINDOW_S - 1, False)])
def test_a_request_exactly_five_minutes_old_is_still_accepted(age: int, accepted: bool) -> None:
    """Slack's window is "more than five minutes" to refuse: 300 s either way is in, 301 s is out."""
    assert is_authentic(SECRET, signed(), BODY, NOW + age) is accepted


@pytest.mark.parametrize("sent", ["v0=\ud800", "\udcff" * 64, "v0=" + "\ud83d" * 64])
def test_a_signature_with_lone_surrogates_is_refused_not_an_error(sent: str) -> None:
    """A Lambda event's headers are JSON: a lone surrogate arrives as a str that UTF-8 cannot encode."""
    assert is_authentic(SECRET, {**signed(), "x-slack-signature": sent}, BODY, NOW) is False


def test_the_genuine_signature_beside_them_is_accepted() -> None:
    assert is_authentic(SECRET, signed(), BODY, NOW) is True
