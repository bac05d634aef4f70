"""Opaque paging cursors for the API's lists and the audit export. The store's cursor (where the next Query starts: a
request id, an event's time and kind) is sealed before it leaves: encrypted and authenticated under a key derived from
the broker's console-link key, so a caller scoped to some profiles learns nothing of events or requests they may not
see, and a forged or altered cursor is a 400 (never a read from another place).

The construction is stdlib only: a fresh 16-byte nonce, a keystream of HMAC-SHA256(key_enc, nonce || counter) blocks
XORed with the cursor (a PRF in counter mode), then HMAC-SHA256(key_mac, nonce || ciphertext) over it all."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from chalicelib.domain.errors import InvalidInput

BAD_CURSOR = "the `next` cursor is not one this API returned for this query; start again without it"
_NONCE, _TAG = 16, 32


def seal(cursor: str | None, key: bytes) -> str | None:
    if cursor is None:
        return None
    enc, mac = _keys(key)
    nonce = os.urandom(_NONCE)
    plain = cursor.encode()
    sealed = nonce + _xor(plain, _stream(enc, nonce, len(plain)))
    return base64.urlsafe_b64encode(sealed + hmac.new(mac, sealed, hashlib.sha256).digest()).decode().rstrip("=")


def opened(token: str | None, key: bytes) -> str | None:
    """The store's cursor inside `token`; InvalidInput for anything this API did not seal."""
    if token is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError):
        raise InvalidInput(BAD_CURSOR) from None
    enc, mac = _keys(key)
    sealed, tag = raw[:-_TAG], raw[-_TAG:]
    if len(raw) <= _NONCE + _TAG or not hmac.compare_digest(tag, hmac.new(mac, sealed, hashlib.sha256).digest()):
        raise InvalidInput(BAD_CURSOR)
    nonce, body = sealed[:_NONCE], sealed[_NONCE:]
    try:
        return _xor(body, _stream(enc, nonce, len(body))).decode()
    except UnicodeDecodeError:
        raise InvalidInput(BAD_CURSOR) from None


def _keys(key: bytes) -> tuple[bytes, bytes]:
    """Two keys from one: for the keystream and for the tag (never the console key itself)."""
    return (hmac.new(key, b"access-broker cursor encryption", hashlib.sha256).digest(),
            hmac.new(key, b"access-broker cursor authentication", hashlib.sha256).digest())


def _stream(key: bytes, nonce: bytes, size: int) -> bytes:
    blocks = (hmac.new(key, nonce + n.to_bytes(8, "big"), hashlib.sha256).digest() for n in range(size // 32 + 1))
    return b"".join(blocks)[:size]


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream))
