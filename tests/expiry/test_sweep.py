"""The sweeper ends grants on time, times out stale requests, and nudges people once each."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.errors import Conflict
from chalicelib.domain.requests import State


def test_a_grant_past_its_expiry_is_ended_and_its_policy_removed(broker, people, iam, clock, recorder):
    grant = people.grant(duration="1h")
    assert iam.attached() == [grant.grant.policy_arn]

    clock.advance(minutes=59)
    broker.sweep()
    assert broker.repo.get(grant.id).state == State.ACTIVE, "a grant must not end before its expiry"

    clock.advance(minutes=2)
    report = broker.sweep()
    ended = broker.repo.get(grant.id)
    assert ended.state == State.EXPIRED and report.done["expired"] == 1
    assert iam.attached() == [] and iam.policies() == [], "the grant policy must be detached and deleted"
    assert people.kinds(grant.id).count("expired") == 1
    assert ("expired", grant.id) in recorder.sent, "the requester and channel are told"
    assert list(broker.repo.due(State.ACTIVE, clock() + timedelta(days=1))) == []
    # Still looked at once more, when its session cut lapses (an hour and the margin after the end)
    assert ended.due_at == ended.grant.expires_at + timedelta(minutes=65)


def test_a_pending_request_times_out_after_the_approval_timeout(broker, people, clock):
    pending = people.ask()
    clock.advance(minutes=59)
    broker.sweep()
    assert broker.repo.get(pending.id).state == State.PENDING

    clock.advance(minutes=2)
    broker.sweep()
    assert broker.repo.get(pending.id).state == State.TIMED_OUT
    assert people.kinds(pending.id).count("timed_out") == 1


def test_approvers_are_reminded_once_after_reminder_after(broker, people, clock, recorder):
    pending = people.ask()
    assert broker.repo.get(pending.id).due_at == pending.created_at + timedelta(minutes=15)

    clock.advance(minutes=14)
    broker.sweep()
    assert "reminder_sent" not in recorder.kinds(pending.id), "no reminder before reminder_after"

    clock.advance(minutes=2)
    broker.sweep()
    clock.advance(minutes=5)
    broker.sweep()
    assert recorder.kinds(pending.id).count("reminder_sent") == 1, recorder.sent
    assert people.kinds(pending.id).count("reminder_sent") == 1
    stored = broker.repo.get(pending.id)
    assert stored.reminded_at is not None
    assert stored.due_at == pending.created_at + timedelta(hours=1), "next due moment: the timeout"


def test_the_requester_is_warned_once_ten_minutes_before_expiry(broker, people, clock, recorder):
    grant = people.grant(duration="1h")
    expires = grant.grant.expires_at
    assert grant.due_at == expires - timedelta(minutes=10)

    clock.advance(minutes=49)
    broker.sweep()
    assert "expiry_warning" not in recorder.kinds(grant.id)

    clock.advance(minutes=2)
    broker.sweep()
    broker.sweep()
    clock.advance(minutes=3)
    broker.sweep()
    assert recorder.kinds(grant.id).count("expiry_warning") == 1, recorder.sent
    warning = [e for e in broker.repo.events(grant.id) if e.kind == "expiry_warning"]
    assert warning[0].details["extendable"] is True, "the warning offers an Extend button"
    assert broker.repo.get(grant.id).due_at == expires, "next due moment: the expiry"

    clock.advance(minutes=6)
    broker.sweep()
    assert broker.repo.get(grant.id).state == State.EXPIRED
    assert recorder.kinds(grant.id).count("expiry_warning") == 1


def test_a_short_grant_is_warned_half_way(broker, people, clock, recorder):
    grant = people.grant(profile="s3-prod-short", duration="2m")
    clock.advance(seconds=61)
    broker.sweep()
    assert recorder.kinds(grant.id).count("expiry_warning") == 1, "a 2-minute grant is warned after 1 minute"
    clock.advance(seconds=60)
    broker.sweep()
    assert broker.repo.get(grant.id).state == State.EXPIRED


def test_a_stale_due_entry_changes_nothing(broker, people, clock, recorder):
    """The sweeper acts on the stored request, not on what the index said when it was read."""
    grant = people.grant(duration="1h")
    clock.advance(minutes=51)
    stale = next(iter(broker.repo.due(State.ACTIVE, clock())))
    broker.sweep()  # warns
    before = people.kinds(grant.id)
    assert before.count("expiry_warning") == 1
    with pytest.raises(Conflict):
        broker.sweep_due(stale)
    assert people.kinds(grant.id) == before
