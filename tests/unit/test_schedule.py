"""When the sweeper must next look at a request (chalicelib/domain/schedule.py), and under which partition of the
`due` index it waits: pure arithmetic, and the in-memory store files requests exactly there."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import schedule
from chalicelib.domain.requests import AccessRequest, Event, Grant, State
from chalicelib.ports import StaleWrite
from tests import fakes

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


def test_a_pending_request_is_due_for_its_reminder_first() -> None:
    assert schedule.next_due(pending(), HOUR, QUARTER) == NOW + timedelta(minutes=15)


def test_once_reminded_it_is_due_at_its_timeout() -> None:
    assert schedule.next_due(pending(reminded_at=NOW), HOUR, QUARTER) == NOW + timedelta(hours=1)


def test_no_reminder_when_the_timeout_comes_first() -> None:
    assert schedule.reminder_at(pending(), QUARTER, HOUR) is None
    assert schedule.next_due(pending(), QUARTER, HOUR) == NOW + timedelta(minutes=15)


def test_a_half_applied_grant_is_retried_two_minutes_later() -> None:
    assert schedule.next_due(pending(state=State.APPROVED), HOUR, QUARTER) == NOW + timedelta(minutes=2)


@pytest.mark.parametrize("minutes, warned_after", [(120, 110), (20, 10), (10, 5), (2, 1)])
def test_the_expiry_warning_ten_minutes_before_or_half_way(minutes: int, warned_after: int) -> None:
    assert schedule.next_due(active(minutes), HOUR, QUARTER) == NOW + timedelta(minutes=warned_after)


def test_once_warned_a_grant_is_due_at_its_end() -> None:
    assert schedule.next_due(active(120, warned_at=NOW), HOUR, QUARTER) == NOW + timedelta(hours=2)


def test_a_pending_guard_is_retried_every_pass_whatever_the_state() -> None:
    assert schedule.next_due(active(120, guard_pending=True), HOUR, QUARTER) == NOW


def test_an_ended_grant_s_cut_stands_an_hour_and_the_margin_after_its_end() -> None:
    ended = active(120, state=State.REVOKED, ended_at=NOW + timedelta(minutes=30))
    assert schedule.next_due(ended, HOUR, QUARTER) == NOW + timedelta(minutes=30 + 60 + 5)


def test_an_ended_request_that_never_held_a_grant_is_never_due() -> None:
    assert schedule.next_due(pending(state=State.DENIED), HOUR, QUARTER) is None


@pytest.mark.parametrize("request_, partition", [
    (pending(due_at=NOW), "pending"),
    (active(due_at=NOW), "active"),
    (active(state=State.REVOKED, ended_at=NOW, due_at=NOW), schedule.CUT_STANDS),
    (active(state=State.REVOKED, ended_at=NOW, due_at=NOW, guard_pending=True), schedule.GUARD_DUE),
    (active(state=State.REVOKED, ended_at=NOW, due_at=NOW, cut_lapsed=True), None),
    (pending(state=State.DENIED, due_at=NOW), None),
    (pending(), None),
])
def test_the_due_index_partition_of_each_request(request_: AccessRequest, partition: str | None) -> None:
    entry = schedule.due_entry(request_)
    assert (entry[0] if entry else None) == partition


def test_the_memory_store_reads_only_what_is_due_in_a_partition() -> None:
    store = fakes.MemoryStore()
    early, late = pending(id="01" + "1" * 24, due_at=NOW), pending(id="01" + "2" * 24, due_at=NOW + timedelta(hours=1))
    for request in (early, late):
        store.create(request, Event(request.id, 1, "created", NOW, "alice", "api"))
    assert [r.id for r in store.due(State.PENDING, NOW)] == [early.id]
    assert list(store.due(State.ACTIVE, NOW + timedelta(days=1))) == []


def test_the_memory_store_writes_only_from_the_version_read() -> None:
    store = fakes.MemoryStore()
    stored = store.create(pending(), Event(pending().id, 1, "created", NOW, "alice", "api"))
    store.transition(stored, dataclasses.replace(stored, reason="x"), Event(stored.id, 2, "changed", NOW, "a", "api"))
    with pytest.raises(StaleWrite):
        store.transition(stored, dataclasses.replace(stored, reason="y"), Event(stored.id, 2, "other", NOW, "a", "api"))
    assert store.get(stored.id).reason == "x" and store.get(stored.id).version == 2


# -- edges: the moment a pending guard write is retried from, a reminder that would land exactly at the timeout


def test_a_pending_guard_write_is_due_from_the_moment_it_was_found_pending() -> None:
    revoked = active(state=State.REVOKED, ended_at=NOW + timedelta(minutes=10), guard_pending=True,
                     updated_at=NOW + timedelta(minutes=10))
    assert schedule.next_due(revoked, HOUR, QUARTER) == NOW + timedelta(minutes=10)


def test_a_reminder_that_would_land_at_the_timeout_is_not_sent() -> None:
    assert schedule.reminder_at(pending(), HOUR, HOUR) is None
    assert schedule.reminder_at(pending(), HOUR, HOUR - 1) == NOW + timedelta(seconds=HOUR - 1)
