"""Paging cursors leave the API sealed (issue 24, point 11): what the store's cursor holds (request ids, event times
and kinds) cannot be read from it, and a cursor the API did not seal, or one altered, is refused."""
from __future__ import annotations

import base64
import json

import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.routes.cursors import opened, seal

KEY = b"test-console-link-key-0123456789abcdef"
STORE_CURSOR = base64.urlsafe_b64encode(json.dumps({"day": "2026-12-04", "key": {
    "pk": {"S": "REQ#01secretrequest000000000"}, "audit_key": {"S": "2026-12-04T10:00:00.000000Z#denied"}}}).encode()
                                        ).decode()


def test_a_sealed_cursor_opens_to_the_store_s_and_shows_nothing_of_it() -> None:
    token = seal(STORE_CURSOR, KEY)
    assert token is not None and opened(token, KEY) == STORE_CURSOR
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for secret in (b"REQ#", b"01secretrequest", b"2026-12-04", b"denied", STORE_CURSOR.encode()[:12]):
        assert secret not in raw
    assert seal(STORE_CURSOR, KEY) != token, "a fresh nonce each time: equal cursors do not look equal"


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2] + ("AA" if t[-2:] != "AA" else "BB"),  # the tag
    lambda t: t[:10] + ("A" if t[10] != "A" else "B") + t[11:],  # the nonce
    lambda t: STORE_CURSOR,  # a store cursor the API never sealed
    lambda t: "not base64 at all!",
    lambda t: t[:20],
])
def test_a_cursor_the_api_did_not_seal_is_refused(tamper) -> None:
    token = seal(STORE_CURSOR, KEY)
    with pytest.raises(InvalidInput, match="not one this API returned"):
        opened(tamper(token), KEY)


def test_another_key_opens_nothing() -> None:
    with pytest.raises(InvalidInput):
        opened(seal(STORE_CURSOR, KEY), b"another-console-key-0123456789abcdef")


def test_no_cursor_is_no_cursor() -> None:
    assert seal(None, KEY) is None and opened(None, KEY) is None


@pytest.mark.parametrize("size", [1, 31, 32, 33, 64, 65, 97, 130, 400])
def test_a_cursor_of_any_length_opens_whole(size: int) -> None:
    cursor = (STORE_CURSOR * 3)[:size]
    assert opened(seal(cursor, KEY), KEY) == cursor


def test_every_cursor_sealed_opens() -> None:
    """Thousands of fresh nonces: none gives a token that loses a character on the way."""
    for n in range(2000):
        cursor = f"{STORE_CURSOR}{n}"
        assert opened(seal(cursor, KEY), KEY) == cursor


def test_two_sealings_of_one_cursor_share_no_run_of_its_bytes() -> None:
    """Each token's keystream is its own (its nonce's): no stretch of the cursor is hidden the same way twice, which
    would let one who knows one cursor read that stretch of another."""
    cursor = STORE_CURSOR * 2
    first, second = (base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)) for t in (seal(cursor, KEY), seal(cursor, KEY)))
    body = slice(16, -32)
    same = [a == b for a, b in zip(first[body], second[body])]
    assert not any(all(same[i:i + 4]) for i in range(len(same) - 3))
