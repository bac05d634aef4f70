"""Handing jobs to the worker (chalicelib/slack/deferred.py), as an operator and the sweeper see it: a job that cannot
be handed over is kept in the outbox under its request (or `alert`), retried after its backoff and logged, the caller
told; the local background thread runs jobs, drops them once the app is rewired, and `drain` waits for them, or says
after how long it stopped waiting."""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.slack.deferred import Background, DeferredNotifier
from chalicelib.slack.jobs import MAX_ATTEMPTS
from tests import fakes
from tests.fakes import MemoryOutbox, ask

DEFERRED = "chalicelib.slack.deferred"


class Throttled:
    """Lambda refusing every invocation; `jobs` keeps what got through once it stops."""

    def __init__(self) -> None:
        self.down, self.jobs = True, []

    def submit(self, job: Any) -> None:
        if self.down:
            raise RuntimeError("TooManyRequestsException")
        self.jobs.append(job)


def messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == DEFERRED and r.levelno == level]


def test_a_notification_not_handed_over_is_kept_under_its_request_and_the_service_told(
        caplog: pytest.LogCaptureFixture) -> None:
    wired, lambda_, outbox = fakes.broker(), Throttled(), MemoryOutbox()
    request = ask(wired)
    (created,) = wired.store.events(request.id)
    notifier = DeferredNotifier(lambda_, outbox)
    with caplog.at_level(logging.WARNING, DEFERRED), pytest.raises(RuntimeError):
        notifier.notify(request, created)
    assert messages(caplog, logging.WARNING) == [
        f"could not hand notify of {request.id} to the worker (RuntimeError); kept in the outbox, retried in 60 s"]
    lambda_.down = False
    assert notifier.resend_due(created.at + timedelta(seconds=59)) == []
    assert notifier.resend_due(created.at + timedelta(seconds=60)) == [request.id]
    assert [(j["request_id"], j["attempts"]) for j in lambda_.jobs] == [(request.id, 1)]


def test_an_alert_not_handed_over_is_kept_and_sent_after_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    lambda_, outbox = Throttled(), MemoryOutbox()
    notifier = DeferredNotifier(lambda_, outbox)
    with caplog.at_level(logging.WARNING, DEFERRED), pytest.raises(RuntimeError):
        notifier.alert("a policy that is no grant was removed")
    assert messages(caplog, logging.WARNING) == [
        "could not hand alert of alert to the worker (RuntimeError); kept in the outbox, retried in 60 s"]
    lambda_.down = False
    now = datetime.now(timezone.utc)
    assert notifier.resend_due(now) == []
    assert notifier.resend_due(now + timedelta(seconds=61)) == ["alert"]
    assert lambda_.jobs == [{"kind": "alert", "text": "a policy that is no grant was removed", "attempts": 1}]


def test_the_last_attempt_is_logged_and_not_kept(caplog: pytest.LogCaptureFixture) -> None:
    lambda_, outbox = Throttled(), MemoryOutbox()
    notifier = DeferredNotifier(lambda_, outbox)
    outbox.add("01x", {"kind": "notify", "request_id": "01x", "attempts": MAX_ATTEMPTS - 1}, fakes.Clock()())
    with caplog.at_level(logging.ERROR, DEFERRED):
        assert notifier.resend_due(fakes.Clock()()) == []
    assert messages(caplog, logging.ERROR) == [
        f"gave up handing notify of 01x to the worker after {MAX_ATTEMPTS} attempts: RuntimeError"]
    assert list(outbox.take_due(fakes.Clock()() + timedelta(days=1))) == []


# -- the local background thread


def test_jobs_run_in_order_on_a_daemon_thread_named_for_them() -> None:
    ran: list[tuple[Any, str, bool]] = []
    background = Background(lambda job: ran.append((job.get("text"), threading.current_thread().name,
                                                    threading.current_thread().daemon)))
    for n in ("1", "2", "3"):
        background.submit({"kind": "alert", "text": n})
    background.drain(timeout=5)
    assert ran == [("1", "deferred-work", True), ("2", "deferred-work", True), ("3", "deferred-work", True)]


def test_a_failing_job_is_logged_and_the_next_still_runs(caplog: pytest.LogCaptureFixture) -> None:
    ran = []

    def run(job: Any) -> None:
        if job["kind"] == "act":
            raise RuntimeError("boom")
        ran.append(job["kind"])

    background = Background(run)
    with caplog.at_level(logging.ERROR, DEFERRED):
        background.submit({"kind": "act"})
        background.submit({"kind": "alert"})
        background.drain(timeout=5)
    assert ran == ["alert"]
    (record,) = [r for r in caplog.records if r.name == DEFERRED]
    assert record.getMessage() == "deferred job act failed" and record.exc_info


def test_after_close_jobs_are_dropped_and_logged_and_drain_returns(caplog: pytest.LogCaptureFixture) -> None:
    ran = []
    background = Background(lambda job: ran.append(job["kind"]))
    background.submit({"kind": "notify"})
    background.drain(timeout=5)
    background.close()
    with caplog.at_level(logging.INFO, DEFERRED):
        background.submit({"kind": "alert"})
        background.submit({"kind": "act"})
        background.drain(timeout=1)
    assert ran == ["notify"]
    assert messages(caplog, logging.INFO) == ["deferred alert dropped: the app was rewired (bootstrap.reset)",
                                              "deferred act dropped: the app was rewired (bootstrap.reset)"]


def test_drain_waits_for_a_job_that_finishes_in_time() -> None:
    done = threading.Event()
    background = Background(lambda job: done.wait(0.05))
    background.submit({"kind": "alert"})
    background.drain(timeout=0.9)


def test_drain_gives_up_after_its_timeout_and_says_after_how_long() -> None:
    release = threading.Event()
    background = Background(lambda job: release.wait(2))
    background.submit({"kind": "alert"})
    timer = threading.Timer(0.3, release.set)
    timer.start()
    try:
        with pytest.raises(TimeoutError, match=r"^deferred work still running after 0.1s$"):
            background.drain(timeout=0.1)
    finally:
        release.set()
        timer.cancel()
