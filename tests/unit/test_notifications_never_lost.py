"""A notification that cannot be handed to the worker waits in the outbox and is sent by a later sweep (issue 24,
point 14): Lambda throttling the invocation, or the job key unreadable, lost it before. The other side: one handed
over is not kept, and one the worker still cannot take is kept again, with backoff, until MAX_ATTEMPTS."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.service import funnel
from chalicelib.slack.deferred import DeferredNotifier
from chalicelib.slack.jobs import MAX_ATTEMPTS, Job
from tests import fakes
from tests.fakes import MemoryOutbox


class Worker:
    """Where jobs go: refuses them while `refusing` says why (a throttled invoke, an unreadable key)."""

    def __init__(self) -> None:
        self.refusing: Exception | None = None
        self.took: list[Job] = []

    def submit(self, job: Job) -> None:
        if self.refusing:
            raise self.refusing
        self.took.append(job)


class TooManyRequests(Exception):
    """What boto3 raises when Lambda throttles an invocation (TooManyRequestsException)."""


@pytest.fixture
def wired() -> tuple[fakes.Fakes, Worker, MemoryOutbox]:
    worker, outbox = Worker(), MemoryOutbox()
    plain = fakes.broker()
    return plain.rewired(notifier=DeferredNotifier(worker, outbox)), worker, outbox


def notified(took: list[Any]) -> list[tuple[str, str]]:
    return [(job["request_id"], job["event"]["kind"]) for job in took if job["kind"] == "notify"]


def test_a_notification_the_worker_cannot_take_is_sent_by_a_later_sweep(wired: Any) -> None:
    broker, worker, outbox = wired
    worker.refusing = TooManyRequests("Rate Exceeded.")
    request = fakes.ask(broker)
    assert worker.took == [] and len(outbox.kept) == 1, "kept, not lost"

    worker.refusing = None
    broker.clock.advance(seconds=59)
    assert broker.broker.sweep().done.get("notification_resent", 0) == 0, "its retry is not due yet"
    broker.clock.advance(seconds=1)
    assert broker.broker.sweep().done["notification_resent"] == 1
    assert notified(worker.took) == [(request.id, "created")] and outbox.kept == []
    assert worker.took[0]["attempts"] == 1


def test_a_notification_handed_over_is_not_kept(wired: Any) -> None:
    broker, worker, outbox = wired
    request = fakes.ask(broker)
    assert notified(worker.took) == [(request.id, "created")] and outbox.kept == []


def test_it_is_kept_again_with_backoff_until_the_last_attempt(wired: Any) -> None:
    broker, worker, outbox = wired
    worker.refusing = KeyError("ACCESS_BROKER_JOB_KEY")
    fakes.ask(broker)
    waits = []
    for attempt in range(1, MAX_ATTEMPTS):
        [(due, _, job)] = outbox.kept
        assert job["attempts"] == attempt
        waits.append(due - broker.clock())
        broker.clock.advance(seconds=(due - broker.clock()).total_seconds())
        assert broker.broker.notifier.resend_due(broker.clock()) == []
    assert waits[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert outbox.kept == [], f"given up after {MAX_ATTEMPTS} attempts (and logged)"


def test_an_alert_the_worker_cannot_take_is_kept_too(wired: Any) -> None:
    broker, worker, outbox = wired
    worker.refusing = TooManyRequests("Rate Exceeded.")
    funnel.alert(broker.broker.deps, "removed a policy no request made")
    [(_, filed_under, job)] = outbox.kept
    assert (filed_under, job["kind"], job["text"]) == ("alert", "alert", "removed a policy no request made")
