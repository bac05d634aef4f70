"""The job key is at least 32 bytes (issue 24, point 15): a shorter one in the environment stops the app at start, one
read from SSM is refused on first use (nothing is sealed, and the worker opens nothing), and 32 bytes are enough."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib.settings import Settings
from chalicelib.slack import sealed

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
JOB = {"kind": "alert", "text": "hi"}


def test_a_short_job_key_in_the_environment_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match=r"^ACCESS_BROKER_JOB_KEY is 31 bytes; it must be at least 32: make one with"):
        Settings.from_env({"ACCESS_BROKER_JOB_KEY": "k" * 31})


def test_a_job_key_of_32_bytes_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env({"ACCESS_BROKER_JOB_KEY": "k" * 32}).secrets["ACCESS_BROKER_JOB_KEY"] == "k" * 32
    assert "ACCESS_BROKER_JOB_KEY" not in Settings.from_env({}).secrets, "none at all: its SSM parameter, or refused"


def test_a_short_key_read_later_seals_nothing_and_opens_nothing() -> None:
    with pytest.raises(sealed.WeakKey, match="is 31 bytes; it must be at least 32"):
        sealed.seal(JOB, b"k" * 31, NOW)
    envelope = sealed.seal(JOB, b"k" * 32, NOW)
    with pytest.raises(sealed.Refused, match="is 31 bytes; it must be at least 32"):
        sealed.open_sealed(envelope, b"k" * 31, NOW)
    assert sealed.open_sealed(envelope, b"k" * 32, NOW) == JOB
