"""Times as the store writes them: UTC whatever the machine's zone. (A mutant of chalicelib/store/repository.py the
world's tests, all in UTC, could not notice.)"""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from chalicelib.store.repository import _time, _ts

pytestmark = pytest.mark.unit


def test_stored_times_are_utc_whatever_the_machines_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` on a laptop set to another zone stores the same times as Lambda (which runs in UTC)."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        noon = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
        assert _ts(noon) == "2026-11-28T12:00:00.000000Z"
        assert _time(_ts(noon)) == noon
    finally:
        monkeypatch.undo()
        time.tzset()
