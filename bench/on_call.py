"""On-call auto-approval (issue 22, point 7): request to active for a requester on call, in-process on the app's
Broker with the demo catalog as shipped (s3-prod auto-approves schedule P0SCHED1) against the PagerDuty stand-in
(tools/pagerduty_stub.py), warm: median and worst of `runs` HTTP creates (the create returns the request active),
with the AWS calls and PagerDuty calls of one. Each grant is revoked and its items deleted afterwards (untimed), so
that the next request is not refused as a second live auto-approved grant and moto's table stays small.

Also the watch on the cold start's on-call case: the slash command's answer must not wait for PagerDuty (it asks
after the answer, in the worker), so a lookup made while a cold start was answering is counted as on its path."""
from __future__ import annotations

import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator

from bench.calls import AwsCalls, by_service
from bench.flows import PROFILE, REQUESTER, callers, forget
from bench.world import environment, fresh_broker
from tools.pagerduty_stub import DEFAULT_SCHEDULE, STUB_TOKEN, PagerDutyStub

REQUESTER_EMAIL = f"{REQUESTER}@example.com"  # chalicelib/catalog/demo.yaml


def stand_in(on_call: str | None) -> PagerDutyStub:
    """A started stand-in with `on_call` (an email, or None: nobody) on call now in the demo's schedule."""
    stub = PagerDutyStub().start()
    stub.set_on_call(DEFAULT_SCHEDULE, *([on_call] if on_call else []))
    return stub


def settings(stub: PagerDutyStub) -> dict[str, str]:
    """What the app reads to reach the stand-in (as `make run` sets it)."""
    return {"PAGERDUTY_API_URL": stub.url, "PAGERDUTY_TOKEN": STUB_TOKEN}


def run(runs: int = 20, warmup: int = 3) -> dict[str, Any]:
    stub = stand_in(REQUESTER_EMAIL)
    times: list[float] = []
    calls: dict[str, int] = {}
    lookups: Counter[int] = Counter()  # PagerDuty calls per request -> how many requests made that many
    try:
        with environment(ACCESS_BROKER_CATALOG=None, **settings(stub)):  # the demo catalog as shipped
            broker = fresh_broker()
            requester, _ = callers(broker)
            with AwsCalls(broker) as counter:
                for i in range(warmup + runs):
                    counter.reset()
                    asked = len(stub.requests)
                    started = time.perf_counter()
                    request = broker.request_access(requester, PROFILE, "1h", "on call, benchmarking")
                    elapsed = time.perf_counter() - started
                    if request.state.value != "active":
                        raise RuntimeError(f"the on-call request ended {request.state.value}, not active: "
                                           f"{request.failure_reason}")
                    if i >= warmup:
                        times.append(elapsed)
                        calls = dict(sorted(counter.operations.items()))
                        lookups[len(stub.requests) - asked] += 1
                    broker.revoke(requester, request.id)
                    forget(request.id)
    finally:
        stub.stop()
    return {"runs": runs, "median_ms": round(statistics.median(times) * 1000, 1),
            "worst_ms": round(max(times) * 1000, 1), "calls": calls, "calls_by_service": by_service(calls),
            "pagerduty_calls": dict(lookups)}


@dataclass
class AnswerPathWatch:
    """Counts the stand-in's lookups made while a cold start was answering (on the answer path) and after it."""
    stub: PagerDutyStub
    during_answer: int = 0
    after_answer: int = 0
    starts: int = 0
    _seen: int = field(default=0, repr=False)

    def __call__(self, result: dict[str, Any]) -> None:
        """After each cold start: `result` is coldstart.once's, whose `at` is when the answer was ready."""
        self.starts += 1
        for request in self._new():
            if request["at"] <= result["at"]:
                self.during_answer += 1
            else:
                self.after_answer += 1

    def _new(self) -> Iterator[dict[str, Any]]:
        found = self.stub.requests[self._seen:]
        self._seen += len(found)
        return iter(found)

    def summary(self) -> dict[str, int]:
        return {"starts": self.starts, "pagerduty_during_answer": self.during_answer,
                "pagerduty_after_answer": self.after_answer}


def render(result: dict[str, Any], cold: dict[str, Any]) -> list[str]:
    from bench.directory_scale import cold_rows

    calls = ", ".join(f"{op} {n}" for op, n in result["calls"].items())
    pd = ", ".join(f"{n} call{'s' if n != 1 else ''} x{times}"
                   for n, times in sorted(result["pagerduty_calls"].items()))
    rows: list[tuple[Any, ...]] = [
        ("ON-CALL AUTO-APPROVAL (warm, moto)", "median ms", "worst ms", "runs", ""),
        ("  request to active (HTTP create)", result["median_ms"], result["worst_ms"], result["runs"],
         f"PagerDuty: {pd} per request"),
        (f"  AWS calls: {calls}",)]
    rows += cold_rows(cold, "app_on_call", "cold slash command, on-call catalog")
    watch = cold.get("app_on_call", {}).get("watch")
    if watch:
        rows.append((f"  PagerDuty on the slash command's answer path: {watch['pagerduty_during_answer']} calls in "
                     f"{watch['starts']} cold starts ({watch['pagerduty_after_answer']} after the answer)",))
    return ["  ".join(str(c).ljust(w) for c, w in zip(row, (34, 14, 14, 14, 40))).rstrip() for row in rows]

