"""What an operator reads of one sweep pass (chalicelib/service/sweeping.py on tests/fakes.py): the report's counts,
its one-line summary, whether it says anything at all, and the log lines that name what failed; a request another
caller changed first, or one that failed, never stops the rest of the pass."""
from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Callable, Iterator

import pytest

from chalicelib.domain.requests import AccessRequest, Event, State
from chalicelib.service import sweeping
from chalicelib.service.directory import Refreshed
from chalicelib.service.sweeping import SweepReport
from tests import fakes
from tests.fakes import as_, ask, granted, kinds

START = fakes.Clock().now
LOGGER = "chalicelib.service.sweeping"


class ChangedAfterIndexRead(fakes.MemoryStore):
    """A store whose `due` index is read, then someone else acts (`meanwhile`) before the sweeper gets to the items."""

    def __init__(self) -> None:
        super().__init__()
        self.meanwhile: Callable[[], None] | None = None

    def due(self, state: State | str, now: datetime, limit: int = 100) -> Iterator[AccessRequest]:
        found = list(super().due(state, now, limit))
        if found and self.meanwhile:
            act, self.meanwhile = self.meanwhile, None
            act()
        return iter(found)


class FailingFor(fakes.MemoryStore):
    """A store that fails every write to the requests named in `failing` (a bug, an unexpected error)."""

    def __init__(self) -> None:
        super().__init__()
        self.failing: set[str] = set()

    def transition(self, before: AccessRequest, after: AccessRequest, event: Event) -> AccessRequest:
        if before.id in self.failing:
            raise RuntimeError(f"boom on {before.id}")
        return super().transition(before, after, event)


class UnlistableGrants(fakes.MemoryGrants):
    """IAM unreachable past its retries for the drift repair's listing."""

    def listed(self) -> list[dict[str, Any]]:
        raise RuntimeError("IAM ListPolicies throttled")


class Resending(fakes.Recorder):
    """A notifier with failed notifications that are due to be sent again."""

    def resend_due(self, now: datetime) -> list[str]:
        return ["01A", "01B", "01C"]


def wired_with(store: fakes.MemoryStore) -> fakes.Fakes:
    return fakes.broker().rewired(store=store)


def foreign_policy(wired: fakes.Fakes) -> str:
    """A grant-shaped policy no request of this stage made: drift repair removes it."""
    return wired.grants.apply("01" + "7" * 24, "alice", wired.broker.catalog.profiles["s3-prod"].role_arn,
                              wired.clock() + timedelta(hours=1))


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == level]


# -- the report's summary, as the sweeper logs it


def test_an_empty_report_says_nothing_due_and_is_false() -> None:
    report = SweepReport()
    assert str(report) == "nothing due"
    assert not report


def test_the_summary_lists_what_was_done_sorted_then_drift_then_errors() -> None:
    report = SweepReport()
    report.done.update({"timed_out": 2, "expired": 1, "reminder_sent": 3})
    report.repaired = ["a: removed", "b: re-applied"]
    report.errors = 4
    assert str(report) == ("1 expired, 3 reminder_sent, 2 timed_out, 2 drift repaired, "
                           "4 errors (retried next pass)")


def test_the_summary_of_drift_repairs_alone() -> None:
    assert str(SweepReport(repaired=["x"])) == "1 drift repaired"


def test_the_summary_of_errors_alone() -> None:
    assert str(SweepReport(errors=2)) == "2 errors (retried next pass)"


def test_the_summary_of_work_alone_names_no_drift_and_no_errors() -> None:
    assert str(SweepReport(done=Counter(expired=1))) == "1 expired"


@pytest.mark.parametrize("report", [SweepReport(repaired=["x"]), SweepReport(errors=1),
                                    SweepReport(done=Counter(expired=1))],
                         ids=["drift repaired", "errors", "work done"])
def test_a_report_with_anything_in_it_is_true(report: SweepReport) -> None:
    assert report


def test_each_directory_refresh_counted_adds_to_the_report() -> None:
    report = SweepReport()
    report.count_refresh(Refreshed(2, ""))
    report.count_refresh(Refreshed(3, ""))
    report.count_refresh(Refreshed(0, "IAM throttled"))
    report.count_refresh(Refreshed(1, "IAM throttled"))
    assert report.done == {"directory_refreshed": 2, "directory_refresh_failed": 2, "directory_notices": 6}
    assert report.errors == 2


# -- the pass


def test_every_due_request_of_a_kind_is_counted() -> None:
    wired = fakes.broker()
    ask(wired), ask(wired, reason="second"), ask(wired, reason="third")
    wired.clock.now = START + timedelta(minutes=15)
    report = wired.broker.sweep(repair=False)
    assert report.done == {"reminder_sent": 3} and str(report) == "3 reminder_sent"


def test_each_session_guard_still_refused_is_one_error_logged_by_request(caplog: pytest.LogCaptureFixture) -> None:
    wired = fakes.broker()
    wired.guards.unreachable = True
    first, second = granted(wired), granted(wired)
    wired.clock.advance(minutes=1)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        report = wired.broker.sweep(repair=False)
    assert report.done == {"session_guard_pending": 2} and report.errors == 2
    assert str(report) == "2 session_guard_pending, 2 errors (retried next pass)"
    assert sorted(messages(caplog, logging.ERROR)) == sorted(
        f"sweep: session guard of request {r.id} still pending; retrying next pass" for r in (first, second))


def test_a_request_someone_else_changed_first_is_skipped_and_the_rest_still_swept() -> None:
    store = ChangedAfterIndexRead()
    wired = wired_with(store)
    cancelled, kept = ask(wired), ask(wired, reason="second")
    store.meanwhile = lambda: wired.broker.cancel(as_(wired, "s3-access"), cancelled.id)
    wired.clock.now = START + timedelta(minutes=15)
    report = wired.broker.sweep(repair=False)
    assert report.done == {"reminder_sent": 1} and report.errors == 0, "theirs, not an error"
    assert kinds(wired, cancelled.id) == ["created", "cancelled"]
    assert kinds(wired, kept.id) == ["created", "reminder_sent"]


def test_each_request_that_fails_is_one_error_logged_with_its_state_and_the_rest_still_swept(
        caplog: pytest.LogCaptureFixture) -> None:
    store = FailingFor()
    wired = wired_with(store)
    bad1, bad2, good = ask(wired), ask(wired, reason="second"), ask(wired, reason="third")
    store.failing = {bad1.id, bad2.id}
    wired.clock.now = START + timedelta(minutes=15)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        report = wired.broker.sweep(repair=False)
    assert report.done == {"reminder_sent": 1} and report.errors == 2
    assert kinds(wired, good.id) == ["created", "reminder_sent"]
    assert sorted(messages(caplog, logging.ERROR)) == sorted(
        f"sweep: request {r.id} (pending) not handled; retrying next pass" for r in (bad1, bad2))


def test_a_drift_repair_that_fails_is_one_error_logged_and_the_due_work_stands(
        caplog: pytest.LogCaptureFixture) -> None:
    wired = fakes.broker()
    request = ask(wired)
    wired = wired.rewired(grants=UnlistableGrants())
    wired.clock.now = START + timedelta(minutes=15)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        report = wired.broker.sweep()
    assert report.done == {"reminder_sent": 1} and report.errors == 1 and report.repaired == []
    assert str(report) == "1 reminder_sent, 1 errors (retried next pass)"
    assert kinds(wired, request.id) == ["created", "reminder_sent"]
    assert messages(caplog, logging.ERROR) == ["sweep: drift repair failed; trying again next pass"]


def test_a_failed_drift_repair_adds_to_the_errors_of_the_due_work() -> None:
    wired = fakes.broker()
    wired.guards.unreachable = True
    granted(wired)
    wired = wired.rewired(grants=UnlistableGrants())
    wired.clock.advance(minutes=1)
    report = wired.broker.sweep()
    assert report.done == {"session_guard_pending": 1} and report.errors == 2


def test_a_pass_repairs_drift_unless_told_not_to() -> None:
    wired = fakes.broker()
    arn = foreign_policy(wired)
    assert wired.broker.sweep(repair=False).repaired == [] and arn in wired.grants.policies
    report = wired.broker.sweep()
    assert report.repaired == [f"{arn}: removed (request unknown request)"]
    assert str(report) == "1 drift repaired"


def test_the_sweep_function_repairs_drift_by_default() -> None:
    wired = fakes.broker()
    arn = foreign_policy(wired)
    assert sweeping.sweep(wired.broker.deps).repaired == [f"{arn}: removed (request unknown request)"]


def test_failed_notifications_sent_again_are_counted() -> None:
    wired = fakes.broker().rewired(notifier=Resending())
    report = wired.broker.sweep(repair=False)
    assert report.done == {"notification_resent": 3} and str(report) == "3 notification_resent"
