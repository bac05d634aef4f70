"""Warm latency and AWS calls per flow (create; approve to active; revoke), in-process on the app's Broker."""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable

from bench.calls import AwsCalls, by_service
from chalicelib.store.models import EventItem, RequestItem

REQUESTER, APPROVER, PROFILE = "s3-access", "bob", "s3-prod"
FLOWS = ("create", "approve_to_active", "revoke")


def callers(broker: Any) -> tuple[Any, Any]:
    account = broker.catalog.source_account
    return (broker.caller_from_arn(f"arn:aws:iam::{account}:user/{REQUESTER}"),
            broker.caller_from_arn(f"arn:aws:iam::{account}:user/{APPROVER}"))


def one_of_each(broker: Any) -> dict[str, Callable[[], Any]]:
    """The three flows on one new request, in order; each returns what the Broker returned."""
    requester, approver = callers(broker)
    made: dict[str, str] = {}

    def create() -> Any:
        request = broker.request_access(requester, PROFILE, "1h", "benchmarking the broker")
        made["id"] = request.id
        return request

    return {"create": create,
            "approve_to_active": lambda: broker.approve(approver, made["id"], "ok"),
            "revoke": lambda: broker.revoke(requester, made["id"])}


def run(broker: Any, runs: int = 200, warmup: int = 5) -> dict[str, Any]:
    """Median and p95 wall time of each flow over `runs` requests, and the AWS calls of one run.

    Each run's items are deleted after it (untimed): moto copies the whole table on every transaction, so
    a table growing over the runs would time the emulator, not the broker."""
    times: dict[str, list[float]] = {name: [] for name in FLOWS}
    calls: dict[str, dict[str, int]] = {}
    seen: dict[str, set] = {name: set() for name in FLOWS}  # distinct call counts: should be one per flow
    with AwsCalls(broker) as counter:
        for i in range(warmup + runs):
            flows = one_of_each(broker)
            for name, flow in flows.items():
                counter.reset()
                started = time.perf_counter()
                result = flow()
                elapsed = time.perf_counter() - started
                if name == "approve_to_active" and result.state.value != "active":
                    raise RuntimeError(f"approve ended {result.state.value}, not active: {result.failure_reason}")
                if i >= warmup:
                    times[name].append(elapsed)
                    calls[name] = dict(sorted(counter.operations.items()))
                    seen[name].add(tuple(calls[name].items()))
            forget(result.id)
    return {name: {"runs": runs, "median_ms": _ms(statistics.median(times[name])),
                   "p95_ms": _ms(_percentile(times[name], 95)), "calls": calls[name],
                   "calls_by_service": by_service(calls[name]),
                   "calls_vary": len(seen[name]) > 1} for name in FLOWS}


def forget(request_id: str) -> None:
    pk = f"REQ#{request_id}"
    events = list(EventItem.query(pk, EventItem.sk.startswith("EVT#")))
    with RequestItem.batch_write() as batch:
        for item in [*events, RequestItem(pk, "REQ")]:
            batch.delete(item)


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)
