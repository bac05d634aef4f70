"""The worker runs each sealed envelope once (issue 24, point 3): one captured inside its 15-minute window and sent
again does nothing, while every other job the broker seals still runs. On the in-memory adapters (tests/fakes.py);
tests/slack/test_replayed_jobs.py replays a real click end to end, tests/storage the table's record."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.requests import State
from chalicelib.slack import sealed
from chalicelib.slack.worker import Worker
from tests import fakes
from tests.fakes import MemoryOutbox, MemorySpentEnvelopes

KEY = b"unit-worker-job-key-0123456789abcdef"


class QuietSlack:
    def call(self, method: str, **arguments: Any) -> dict[str, Any]:
        return {"ok": True, "channel": str(arguments.get("channel", "")), "ts": "1.0"}

    def respond(self, response_url: str, message: dict[str, Any]) -> None:
        return None


def worker(wired: fakes.Fakes, spent: MemorySpentEnvelopes) -> Worker:
    return Worker(lambda: wired.broker, QuietSlack, wired.store, MemoryOutbox(), lambda: KEY, (), spent)


def approval(request_id: str) -> dict[str, Any]:
    return {"kind": "act", "action": "approve", "request_id": request_id, "user_id": "U01BOB", "round": "request"}


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker()


def test_an_envelope_runs_once_and_its_replay_is_refused(wired: fakes.Fakes, caplog: pytest.LogCaptureFixture) -> None:
    spent = MemorySpentEnvelopes()
    request = fakes.ask(wired)
    envelope = sealed.seal(approval(request.id), KEY, wired.clock())
    assert worker(wired, spent).run_sealed(envelope) is True
    assert wired.store.get(request.id).state == State.ACTIVE
    wired.broker.revoke(fakes.as_(wired, "s3-access"), request.id)

    wired.clock.advance(minutes=5)
    with caplog.at_level(logging.ERROR, logger="chalicelib.slack.worker"):
        assert worker(wired, spent).run_sealed(envelope) is False, "the same envelope, sent again in its window"
    assert "worker refused a job (kind 'act'): this sealed job already ran; nothing done" in caplog.text
    assert spent.spent == {sealed.envelope_id(envelope): sealed.accepted_until(envelope)}
    assert sealed.accepted_until(envelope) == wired.clock() - timedelta(minutes=5) + sealed.WINDOW


def test_every_other_envelope_still_runs(wired: fakes.Fakes) -> None:
    """The same job sealed again (a later moment) is another envelope, and so is another job sealed at once."""
    spent = MemorySpentEnvelopes()
    first, second = fakes.ask(wired), fakes.ask(wired)
    assert worker(wired, spent).run_sealed(sealed.seal(approval(first.id), KEY, wired.clock()))
    assert worker(wired, spent).run_sealed(sealed.seal(approval(second.id), KEY, wired.clock()))
    assert wired.store.get(second.id).state == State.ACTIVE
    wired.clock.advance(seconds=1)
    job = {"kind": "respond", "response_url": "https://hooks.slack.com/x", "message": {"text": "hi"}}
    assert worker(wired, spent).run_sealed(sealed.seal(job, KEY, wired.clock()))
    assert worker(wired, spent).run_sealed(sealed.seal(job, KEY, wired.clock() + timedelta(seconds=1)))
    assert len(spent.spent) == 4


def test_a_refused_seal_records_nothing(wired: fakes.Fakes) -> None:
    spent = MemorySpentEnvelopes()
    request = fakes.ask(wired)
    forged = sealed.seal(approval(request.id), b"another-key-0123456789abcdef-0123", wired.clock())
    assert not worker(wired, spent).run_sealed(forged)
    assert spent.spent == {} and wired.store.get(request.id).state == State.PENDING
