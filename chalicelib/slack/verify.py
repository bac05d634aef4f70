"""Slack's v0 request signature: HMAC-SHA256 over `v0:<timestamp>:<raw body>`, within a 5-minute window.

Stdlib only, on purpose: importing slack_sdk.signature pulls in the WebClient (~160 ms cold), and this
runs on every Slack request before anything else."""
from __future__ import annotations

import hashlib
import hmac
from typing import Mapping

WINDOW_S = 300  # Slack's documented replay window


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The `X-Slack-Signature` value Slack sends for `body` at `timestamp` (also used by tests and the CLI)."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def is_authentic(secret: str, headers: Mapping[str, str], body: bytes, now: float) -> bool:
    """True only for a correctly signed request whose timestamp is within WINDOW_S of `now` (epoch seconds)."""
    timestamp = headers.get("x-slack-request-timestamp") or ""
    sent = headers.get("x-slack-signature") or ""
    # A short run of ASCII digits before int(): int() refuses thousands of digits (a 500, not a 401)
    if not secret or not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    if abs(now - int(timestamp)) > WINDOW_S:
        return False
    expected = signature(secret, timestamp, body)
    return hmac.compare_digest(expected.encode(), sent.encode("utf-8", "replace"))
