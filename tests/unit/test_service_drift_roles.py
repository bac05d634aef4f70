"""Drift repair's look at each switch role beyond its cuts (chalicelib/service/drift.py on tests/fakes.py): an inline
policy the broker did not write, and a role allowing sessions longer than the broker counts on, are said to the
security channel, once a day while they last; a role carrying only the guard says nothing."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests import fakes

ROLE = ("222222222222", "arn:aws:iam::222222222222:role/switch-role-for-S3")


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker()


def test_a_role_carrying_only_the_guard_is_not_alerted(wired) -> None:
    wired.broker.repair_drift()

    assert wired.notes.alerts == []


def test_an_inline_policy_the_broker_did_not_write_is_said_with_its_name(wired) -> None:
    wired.guards.foreign[ROLE] = ("backdoor",)

    wired.broker.repair_drift()

    (alert,) = wired.notes.alerts
    assert "backdoor" in alert and ROLE[1] in alert and "PutRolePolicy" in alert, alert


def test_a_finding_that_lasts_is_said_once_a_day_not_on_every_pass(wired) -> None:
    wired.guards.foreign[ROLE] = ("backdoor",)
    wired.broker.repair_drift()
    wired.clock.advance(hours=23)
    wired.broker.repair_drift()
    assert len(wired.notes.alerts) == 1, wired.notes.alerts

    wired.clock.advance(hours=2)
    wired.broker.repair_drift()
    assert len(wired.notes.alerts) == 2, "said again the next day"


def test_a_role_allowing_longer_sessions_than_the_broker_counts_on_is_said(wired) -> None:
    wired.guards.max_session = timedelta(hours=2)

    wired.broker.repair_drift()

    (alert,) = wired.notes.alerts
    assert "7200 s" in alert and "MaxSessionDuration" in alert and ROLE[1] in alert, alert
