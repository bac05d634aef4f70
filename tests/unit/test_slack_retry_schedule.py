"""When a Slack notification that failed is tried again (the outbox's due time): a minute after the first failure,
doubling, never more than an hour apart, and never sooner than Slack's Retry-After."""
from __future__ import annotations

from chalicelib.slack.jobs import MAX_ATTEMPTS, retry_wait


def test_the_backoff_doubles_from_a_minute_up_to_an_hour() -> None:
    assert [retry_wait(a).total_seconds() for a in range(1, MAX_ATTEMPTS + 1)] == [
        60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_slacks_retry_after_wins_when_longer() -> None:
    assert retry_wait(1, 600).total_seconds() == 600
    assert retry_wait(3, 30).total_seconds() == 240
