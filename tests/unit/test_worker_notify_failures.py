"""A notification the worker cannot send for a reason that is not Slack's (the bot token unreadable, a bug in a
message) is recorded on the request and kept in the outbox for the sweeper, as a Slack refusal is (issue 25: such a
failure was neither recorded nor retried)."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.slack.deferred import notify_job
from chalicelib.slack.worker import Worker
from tests import fakes
from tests.fakes import ask


def unreadable_token():
    raise RuntimeError("SLACK_BOT_TOKEN could not be read: ParameterNotFound")


def test_a_notification_that_fails_outside_slack_is_recorded_and_retried_later() -> None:
    wired = fakes.broker()
    outbox = fakes.MemoryOutbox()
    worker = Worker(lambda: wired.broker, unreadable_token, wired.store, outbox, lambda: b"k" * 32,
                    ("https://hooks.slack.com/",), fakes.MemorySpentEnvelopes())
    request = ask(wired)
    (created,) = wired.store.events(request.id)
    worker.run(notify_job(request.id, created))
    failed = [e for e in wired.store.events(request.id) if e.kind == "notify_failed"]
    assert [e.details for e in failed] == [{"event": "created", "method": "notify", "error": "RuntimeError",
                                            "attempt": 1, "retry_in_seconds": 60}]
    assert list(outbox.take_due(wired.clock() + timedelta(seconds=59))) == [], "not before its backoff"
    (again,) = list(outbox.take_due(wired.clock() + timedelta(seconds=60)))
    assert again["request_id"] == request.id and again["attempts"] == 1
