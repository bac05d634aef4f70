"""The edges of the sweeper's due-time arithmetic (chalicelib/domain/schedule.py) that tests/unit/test_schedule.py does
not pin: the moment a pending guard write is retried from, a reminder that would land exactly at the timeout, and the
due index partitions of an ended request."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

from chalicelib.domain import schedule
from chalicelib.domain.requests import AccessRequest, Grant, State

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
HOUR, QUARTER = 3600, 900


def pending(**changes: object) -> AccessRequest:
    request = AccessRequest(id="01" + "0" * 24, profile="s3-prod", requester="alice", requester_iam_user="alice",
                            account="222222222222", role_arn="arn:aws:iam::222222222222:role/switch-role-for-S3",
                            reason="export job", duration_seconds=7200, approvals_required=1, created_at=NOW,
                            updated_at=NOW)
    return dataclasses.replace(request, **changes)


def active(minutes: int = 120, **changes: object) -> AccessRequest:
    grant = Grant("role", "arn:aws:iam::111111111111:policy/access-broker/p", NOW, NOW + timedelta(minutes=minutes))
    return pending(**{"state": State.ACTIVE, "grant": grant, **changes})


def test_a_pending_guard_write_is_due_from_the_moment_it_was_found_pending() -> None:
    revoked = active(state=State.REVOKED, ended_at=NOW + timedelta(minutes=10), guard_pending=True,
                     updated_at=NOW + timedelta(minutes=10))
    assert schedule.next_due(revoked, HOUR, QUARTER) == NOW + timedelta(minutes=10)


def test_a_reminder_that_would_land_at_the_timeout_is_not_sent() -> None:
    assert schedule.reminder_at(pending(), HOUR, HOUR) is None
    assert schedule.reminder_at(pending(), HOUR, HOUR - 1) == NOW + timedelta(seconds=HOUR - 1)
