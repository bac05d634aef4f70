"""Signed console links at their edges (aws/links.py): the key's minimum length, fetched only when a link is signed or
checked, the words a person reads on an expired or invalid link, and tokens for any request id. Pure: no AWS.
Written against the mutants of the module that `make mutate` found surviving."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.aws.links import ConsoleTokens
from chalicelib.domain.errors import Forbidden, Gone

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
KEY = b"k" * 32


def test_a_key_of_16_bytes_signs_and_one_byte_less_is_refused_saying_the_minimum() -> None:
    token = ConsoleTokens(b"k" * 16).sign("r1", NOW + timedelta(hours=1))
    assert ConsoleTokens(b"k" * 16).verify(token, NOW) == "r1"

    with pytest.raises(ValueError, match="^the console-link key must be at least 16 bytes$"):
        ConsoleTokens(b"k" * 15).sign("r1", NOW + timedelta(hours=1))


def test_a_key_from_a_function_is_fetched_once_on_first_use_and_checked() -> None:
    fetched: list[int] = []

    def key() -> bytes:
        fetched.append(1)
        return KEY

    tokens = ConsoleTokens(key)
    assert fetched == []  # a slash command that signs no link never waits for the key

    token = tokens.sign("r1", NOW + timedelta(hours=1))
    assert tokens.verify(token, NOW) == "r1" and fetched == [1]
    with pytest.raises(ValueError, match="at least 16 bytes"):
        ConsoleTokens(lambda: b"short").verify(token, NOW)


def test_an_expired_link_says_so_and_what_to_do() -> None:
    tokens = ConsoleTokens(KEY)
    token = tokens.sign("r1", NOW)

    with pytest.raises(Gone) as gone:
        tokens.verify(token, NOW)

    assert str(gone.value) == "this console link has expired; request access again"
    assert tokens.signed(token) == ("r1", NOW)  # the page saying why may still name the request and the end


def test_an_invalid_link_says_so_and_which_link_to_use() -> None:
    tokens = ConsoleTokens(KEY)
    token = tokens.sign("r1", NOW + timedelta(hours=1))

    with pytest.raises(Forbidden) as forbidden:
        tokens.verify(token[:-1], NOW)

    assert str(forbidden.value) == "this console link is not valid; use the link access-broker sent you"


@pytest.mark.parametrize("request_id", ["r", "r1", "r12", "01KB0000000000000000000042", "req-é", "a" * 200])
def test_a_link_for_any_request_id_names_it_back(request_id: str) -> None:
    """Ids of every length modulo 3: the payload's base64 comes with 0, 1 or 2 padding characters to drop."""
    tokens = ConsoleTokens(KEY)
    end = NOW + timedelta(hours=1)
    token = tokens.sign(request_id, end)

    assert "=" not in token and "/" not in token and "+" not in token  # a URL path segment as is
    assert tokens.verify(token, NOW) == request_id and tokens.signed(token) == (request_id, end)
