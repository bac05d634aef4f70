"""What the audit trail and the log say of the sweeper's session-guard retries (chalicelib/service/cuts.py through a
sweep, on tests/fakes.py): each refusal's role, reason and wait before the next try, the cut given up once it can
match no session, and a guard that cannot be pruned when a cut lapses."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from chalicelib.domain.requests import Event
from tests import fakes
from tests.fakes import as_, granted

ROLE = "arn:aws:iam::222222222222:role/switch-role-for-S3"
REFUSED = "the guard role of account 222222222222 cannot be assumed"
START = fakes.Clock().now


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker()


def events(wired: fakes.Fakes, request_id: str, kind: str) -> list[Event]:
    return [e for e in wired.store.events(request_id) if e.kind == kind]


def pass_at(wired: fakes.Fakes, minutes: float) -> None:
    wired.clock.now = START + timedelta(minutes=minutes)
    wired.broker.sweep(repair=False)


def test_each_refused_retry_records_the_role_the_reason_and_the_doubling_wait(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.guards.unreachable = True
    wired.clock.now = START + timedelta(minutes=10)
    wired.broker.revoke(as_(wired, "s3-access"), grant.id)
    for minute in (11, 12, 14):
        pass_at(wired, minute)
    assert [e.details for e in events(wired, grant.id, "session_guard_pending")] == [
        {"role_arn": ROLE, "reason": REFUSED, "retry_in_seconds": seconds} for seconds in (60, 120, 240)]


def test_a_cut_never_taken_is_given_up_with_the_role_and_why(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.guards.unreachable = True
    wired.clock.now = START + timedelta(minutes=10)
    wired.broker.revoke(as_(wired, "s3-access"), grant.id)
    for minute in (11, 12, 14, 18, 26, 42, 74, 134):
        pass_at(wired, minute)
    (lapsed,) = events(wired, grant.id, "session_cut_lapsed")
    assert lapsed.details == {"role_arn": ROLE, "reason": "the target account never took the cut; every session it "
                                                          "would have cut has ended"}


def test_a_guard_that_cannot_be_pruned_when_a_cut_lapses_is_logged_and_pruned_later(
        wired: fakes.Fakes, caplog: pytest.LogCaptureFixture) -> None:
    grant = granted(wired)
    wired.clock.now = START + timedelta(minutes=10)
    wired.broker.revoke(as_(wired, "s3-access"), grant.id)
    wired.guards.unreachable = True
    with caplog.at_level(logging.WARNING, logger="chalicelib.service.cuts"):
        pass_at(wired, 75)
    assert wired.store.get(grant.id).cut_lapsed
    assert [r.getMessage() for r in caplog.records if r.name == "chalicelib.service.cuts"] == [
        f"session guard of {ROLE} not pruned yet: {REFUSED}"]


def test_a_retry_with_no_session_guard_wired_records_no_reason(wired: fakes.Fakes) -> None:
    wired.guards.unreachable = True
    grant = granted(wired)
    wired = wired.rewired(sessions=None)  # the stage's session guard switched off since
    pass_at(wired, 1)
    (pending,) = events(wired, grant.id, "session_guard_pending")
    assert pending.details == {"role_arn": ROLE, "reason": "", "retry_in_seconds": 60}
