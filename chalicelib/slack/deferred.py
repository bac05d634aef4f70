"""Deferred work: what may be slow (IAM, the Slack Web API) runs after Slack has its answer.

A job is a small JSON object run by the worker (chalicelib/slack/worker.py), which bootstrap builds and hands to
the runner here as `run`: this module never imports the worker (it pulls in slack_sdk) nor bootstrap. On Lambda
it goes to the worker function through an asynchronous invocation (InvocationType=Event), sealed with the job key
(chalicelib/slack/sealed.py) so the worker can tell the broker's jobs from anyone else's; inside the worker,
jobs it spawns run inline; on a developer's machine (make run, tests) one background thread runs them in order."""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Protocol

from chalicelib.domain.requests import AccessRequest, Event
from chalicelib.ports import Outbox
from chalicelib.settings import Settings
from chalicelib.slack import sealed
from chalicelib.slack.jobs import MAX_ATTEMPTS, AlertJob, Job, NotifyJob, retry_wait

log = logging.getLogger(__name__)


class Deferred(Protocol):
    def submit(self, job: Job) -> None: ...


Run = Callable[[Job], None]


class Inline:
    """Runs the job now: inside the worker function, which is already off Slack's clock."""

    def __init__(self, run: Run) -> None:
        self._run = run

    def submit(self, job: Job) -> None:
        self._run(job)


class Background:
    """One daemon thread running jobs in submission order, so a request's messages change in order."""

    def __init__(self, run: Run) -> None:
        self._run, self._jobs = run, queue.Queue[Job]()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, job: Job) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="deferred-work", daemon=True)
                self._thread.start()
        self._jobs.put(job)

    def drain(self, timeout: float = 30.0) -> None:
        """Waits until every submitted job (and the jobs they submitted) has run: for tests and the CLI."""
        deadline = time.monotonic() + timeout
        with self._jobs.all_tasks_done:  # Queue.join(), with a deadline
            while self._jobs.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"deferred work still running after {timeout}s")
                self._jobs.all_tasks_done.wait(left)

    def close(self) -> None:
        """Drops jobs not started yet: after bootstrap.reset() they would run against another wiring."""
        self._closed = True

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if self._closed:
                    log.info("deferred %s dropped: the app was rewired (bootstrap.reset)", job.get("kind"))
                    continue
                self._run(job)
            except Exception:  # the worker logs its own failures; this keeps the thread alive
                log.exception("deferred job %s failed", job.get("kind"))
            finally:
                self._jobs.task_done()


class LambdaInvoke:
    """Sends the job, sealed, to the worker function and returns at once (the invocation is queued by Lambda)."""

    def __init__(self, function_name: str, key: Callable[[], bytes],
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.function_name, self._key, self._clock = function_name, key, clock
        self._client: Any = None

    def submit(self, job: Job) -> None:
        envelope = sealed.seal(dict(job), self._key(), self._clock())
        if self._client is None:
            from chalicelib.aws import clients

            self._client = clients.client("lambda")
        self._client.invoke(FunctionName=self.function_name, InvocationType="Event",
                            Payload=json.dumps(envelope).encode())


def for_settings(settings: Settings, run: Run, key: Callable[[], bytes]) -> Deferred:
    """Where jobs go in this process: `run` runs one (the worker), `key` seals those sent to the worker function."""
    if not settings.in_lambda:
        return Background(run)
    if settings.function_name == settings.worker_function:
        return Inline(run)
    return LambdaInvoke(settings.worker_function, key)


class DeferredNotifier:
    """The Broker's notifier when Slack is configured: queues a `notify` job instead of calling Slack, and re-queues
    notifications that failed once their retry is due (the sweeper calls `resend_due`). A job that cannot be handed
    to the worker (Lambda throttled the invocation, the job key unreadable) waits in the outbox too: never lost."""

    def __init__(self, deferred: Deferred, outbox: Outbox) -> None:
        self.deferred, self.outbox = deferred, outbox

    def notify(self, request: AccessRequest, event: Event) -> None:
        """Raises what kept the job from the worker once it is kept (the service records the failure)."""
        self._hand_over(notify_job(request.id, event), event.at, raising=True)

    def alert(self, text: str) -> None:
        """Something the security channel must hear that belongs to no one request (a foreign policy removed)."""
        self._hand_over(AlertJob(kind="alert", text=text), datetime.now(timezone.utc), raising=True)

    def resend_due(self, now: datetime) -> list[str]:
        sent = []
        for job in self.outbox.take_due(now):
            if self._hand_over(job, now):
                sent.append(_outbox_id(job))
        return sent

    def _hand_over(self, job: NotifyJob | AlertJob, now: datetime, raising: bool = False) -> bool:
        """Submits the job; if it cannot be handed over, keeps it in the outbox for a later sweep (with backoff), then
        raises that failure if `raising`."""
        try:
            self.deferred.submit(job)
            return True
        except Exception as exc:  # throttled, the key unreadable or too short, Lambda unreachable: retried later
            self._keep(job, now, exc)
            if raising:
                raise
            return False

    def _keep(self, job: NotifyJob | AlertJob, now: datetime, exc: Exception) -> None:
        attempt = int(job.get("attempts", 0)) + 1
        if attempt >= MAX_ATTEMPTS:
            log.error("gave up handing %s of %s to the worker after %d attempts: %s", job["kind"],
                      _outbox_id(job), attempt, type(exc).__name__)
            return
        wait = retry_wait(attempt)
        log.warning("could not hand %s of %s to the worker (%s); kept in the outbox, retried in %d s",
                    job["kind"], _outbox_id(job), type(exc).__name__, wait.total_seconds())
        self.outbox.add(_outbox_id(job), {**job, "attempts": attempt}, now + wait)


def _outbox_id(job: Any) -> str:
    """What an outbox entry is filed under: its request, or `alert` for the security channel's alerts."""
    return str(job.get("request_id") or "alert")


def notify_job(request_id: str, event: Event, attempts: int = 0) -> NotifyJob:
    return {"kind": "notify", "request_id": request_id, "attempts": attempts,
            "event": {"kind": event.kind, "version": event.version, "at": event.at.isoformat(),
                      "actor": event.actor, "channel": event.channel, "details": event.details}}


