"""Console links: our own signed, expiring `/v1/console/{token}` tokens."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timezone
from typing import Callable

from chalicelib.domain.errors import Forbidden, Gone
from chalicelib.domain.switch_role import switch_role_url

__all__ = ["ConsoleTokens", "switch_role_url"]


class ConsoleTokens:
    """HMAC-SHA256 tokens naming a request and the moment the link stops working."""

    def __init__(self, key: bytes | Callable[[], bytes]) -> None:
        """`key`, or a function returning it, called on first use: a deployed stage reads it from SSM, and a
        slash command, which signs no link, should not wait for that on a cold start."""
        self._key = key

    def _checked(self) -> bytes:
        if callable(self._key):
            self._key = self._key()
        if len(self._key) < 16:
            raise ValueError("the console-link key must be at least 16 bytes")
        return self._key

    def sign(self, request_id: str, expires_at: datetime) -> str:
        payload = _b64(json.dumps({"r": request_id, "e": int(expires_at.timestamp())}, separators=(",", ":")).encode())
        return f"{payload}.{self._mac(payload)}"

    def verify(self, token: str, now: datetime) -> str:
        """The request id in a valid token. 403 on a bad signature, 410 once the link has expired."""
        request_id, expires_at = self.signed(token)
        if now >= expires_at:
            raise Gone("this console link has expired; request access again")
        return request_id

    def signed(self, token: str) -> tuple[str, datetime]:
        """The request id and the link's end in a token we signed, expired or not (403 on a bad signature): what a
        page saying why the link no longer works may name."""
        payload, _, signature = token.partition(".")
        if not payload or not hmac.compare_digest(signature.encode(), self._mac(payload).encode()):
            raise Forbidden("this console link is not valid; use the link access-broker sent you")
        claims = json.loads(_unb64(payload))
        return claims["r"], datetime.fromtimestamp(claims["e"], tz=timezone.utc)

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._checked(), payload.encode(), hashlib.sha256).digest())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
