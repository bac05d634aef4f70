"""Sweep cost as the table grows: items read and time per pass with a fixed number of requests due.

One table per size. Seeding writes request items straight through the pynamodb models in batches (25 per
BatchWriteItem), shaped by the repository's own mapping: DUE requests due now (half active past their
expiry, half pending), WAITING live but not due yet (half active grants, half pending: they sit in the due
index outside the key condition, and drift repair reads the active ones), the rest ended (out of the due
index): tables that differ in history only. The WAITING requests have the same ids in every table, so
drift repair in one table never takes another table's grant policies for orphans.

Passes go round the tables in turn, so the emulator's warm-up and the machine's load fall on every size
alike rather than on whichever size came first."""
from __future__ import annotations

import dataclasses
import statistics
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from bench.calls import AwsCalls
from chalicelib import bootstrap
from chalicelib.domain.requests import AccessRequest, Grant, State
from chalicelib.store import models
from chalicelib.store.models import RequestItem
from chalicelib.store.repository import _to_item  # the repository's own item shape, so seeded items are real
from chalicelib.store.schema import create_table

DUE = 20
WAITING = 20
ENDED = (State.EXPIRED, State.REVOKED, State.DENIED, State.TIMED_OUT, State.CANCELLED)


def seed(broker: Any, stored: int, now: datetime) -> float:
    """Fills the empty bound table with `stored` requests; returns the seconds it took."""
    started = time.perf_counter()
    with RequestItem.batch_write() as batch:
        for k in range(stored):
            if k < DUE + WAITING:
                live, count = (k, DUE) if k < DUE else (k - DUE, WAITING)
                state = State.ACTIVE if live < count // 2 else State.PENDING
            else:
                state = ENDED[k % len(ENDED)]
            due_at = now - timedelta(minutes=1) if k < DUE else now + timedelta(hours=1)
            batch.save(_to_item(_request(broker, k, state, now, due_at)))
    return time.perf_counter() - started


def reseed_due(broker: Any, now: datetime, start: int) -> None:
    """Puts DUE fresh due requests back after a pass ended the previous ones."""
    with RequestItem.batch_write() as batch:
        for k in range(DUE):
            state = State.ACTIVE if k < DUE // 2 else State.PENDING
            batch.save(_to_item(_request(broker, start + k, state, now, now - timedelta(minutes=1))))


def measure(broker: Any, sizes: tuple[int, ...], table_prefix: str, passes: int = 3,
            warmup: int = 2) -> list[dict[str, Any]]:
    """Seeds one table per size, then runs `warmup` unmeasured and `passes` measured rounds of one sweep
    pass per table; reports the median pass of each size."""
    now = datetime.now(timezone.utc)
    broker = bootstrap.broker(clock=lambda: now)  # the app's Broker on a clock that stands still
    tables = {size: f"{table_prefix}-{size}" for size in sizes}
    seeded, next_id = {}, {}
    for size, table in tables.items():
        create_table(table)
        models.bind(table)
        seeded[size], next_id[size] = seed(broker, size, now), size
    samples: dict[int, list[tuple[float, int, int, dict]]] = {size: [] for size in sizes}
    for p in range(warmup + passes):
        for size, table in tables.items():
            models.bind(table)  # the broker's repository reads and writes through the models
            if p:  # the pass before ended this table's due requests: put as many due ones back
                reseed_due(broker, now, start=next_id[size])
                next_id[size] += DUE
            with AwsCalls(broker) as calls:
                started = time.perf_counter()
                report = broker.sweep()
                elapsed = time.perf_counter() - started
            if p >= warmup:
                samples[size].append((elapsed, calls.items_read, sum(report.done.values()), dict(calls.operations)))
    return [{"stored": size, "due": DUE, "seed_s": round(seeded[size], 1),
             "items_read": max(s[1] for s in found), "done_per_pass": min(s[2] for s in found),
             "pass_ms": round(statistics.median(s[0] for s in found) * 1000, 1), "passes": passes,
             "calls_per_pass": dict(sorted(found[-1][3].items()))}
            for size, found in samples.items()]


def _request(broker: Any, i: int, state: State, now: datetime, due_at: datetime) -> AccessRequest:
    profile = broker.catalog.profiles["s3-prod"]
    person = broker.catalog.people["s3-access"]
    created = now - timedelta(hours=2) if state == State.ACTIVE else now - timedelta(minutes=30)
    request = AccessRequest(
        id=f"bench{i:08d}", profile=profile.name, requester=person.id, requester_iam_user=person.iam_user,
        account=profile.account, role_arn=profile.role_arn, reason="sweep benchmark",
        duration_seconds=3600, approvals_required=1, created_at=created, updated_at=created, state=state,
        due_at=due_at)
    if state == State.ACTIVE:
        request = dataclasses.replace(request, grant=Grant(profile.role_arn, broker.grants.policy_arn(request.id),
                                                           created, due_at))
    return request
