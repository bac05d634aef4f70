"""Request ids: time-ordered and unguessable (a ULID in lowercase Crockford base32)."""
from __future__ import annotations

import secrets
from datetime import datetime

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"


def new_request_id(now: datetime) -> str:
    value = (int(now.timestamp() * 1000) << 80) | secrets.randbits(80)
    return "".join(_ALPHABET[(value >> shift) & 31] for shift in range(125, -1, -5))


def is_request_id(text: object) -> bool:
    """Shaped like an id new_request_id makes. Checked before any lookup: nothing else can exist, and a key
    DynamoDB refuses (over 2048 bytes) never reaches it."""
    return isinstance(text, str) and len(text) == 26 and all(c in _ALPHABET for c in text)
