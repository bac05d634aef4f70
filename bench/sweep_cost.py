"""Sweep cost as the table grows: items read and time per pass with a fixed number of requests due.

Seeding writes request items straight through the pynamodb models in batches (25 per BatchWriteItem),
shaped by the repository's own mapping. At each size DUE requests are due now (half active past their
expiry, half pending), WAITING are live but not due yet (half active grants, half pending: they sit in
the due index outside the key condition, and drift repair reads the active ones), and the rest have ended
(out of the due index): a table that grows with history while the live set stays the same."""
from __future__ import annotations

import dataclasses
import statistics
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from bench.calls import AwsCalls
from chalicelib.domain.requests import AccessRequest, Grant, State
from chalicelib.store.models import RequestItem
from chalicelib.store.repository import _to_item  # the repository's own item shape, so seeded items are real
from chalicelib.sweeper import sweep

DUE = 20
WAITING = 20
ENDED = (State.EXPIRED, State.REVOKED, State.DENIED, State.TIMED_OUT, State.CANCELLED)


def seed(broker: Any, stored: int, now: datetime, start: int = 0) -> float:
    """Adds `stored` requests: DUE due at `now`, WAITING more if the table is empty, the rest ended.
    Returns the seconds it took."""
    waiting = WAITING if start == 0 else 0
    started = time.perf_counter()
    with RequestItem.batch_write() as batch:
        for i in range(start, start + stored):
            k = i - start
            if k < DUE + waiting:
                live = k if k < DUE else k - DUE
                state = State.ACTIVE if live < (DUE if k < DUE else waiting) // 2 else State.PENDING
            else:
                state = ENDED[k % len(ENDED)]
            due_at = now - timedelta(minutes=1) if k < DUE else now + timedelta(hours=1)
            batch.save(_to_item(_request(broker, i, state, now, due_at)))
    return time.perf_counter() - started


def reseed_due(broker: Any, now: datetime, start: int) -> None:
    """Puts DUE fresh due requests back after a pass ended the previous ones."""
    with RequestItem.batch_write() as batch:
        for k in range(DUE):
            state = State.ACTIVE if k < DUE // 2 else State.PENDING
            batch.save(_to_item(_request(broker, start + k, state, now, now - timedelta(minutes=1))))


def measure(broker: Any, sizes: tuple[int, ...], passes: int = 3, warmup: int = 1) -> list[dict[str, Any]]:
    """Grows one table through `sizes` (seeding only the difference each time) and times sweep passes at
    each size: the median of `passes` after `warmup` unmeasured ones, each with DUE requests due."""
    now = datetime.now(timezone.utc)
    broker.clock = lambda: now
    rows, next_id = [], 0
    with AwsCalls(broker) as calls:
        for size in sizes:
            seeded = seed(broker, size - next_id, now, start=next_id)
            next_id = size
            times, reads, done = [], [], []  # done: what a pass did (expired, timed out, reminded)
            warmups = warmup * 3 if size == sizes[0] else warmup  # the first size also warms the emulator up
            for p in range(warmups + passes):
                if p:  # the pass before ended the due requests: put as many due ones back
                    reseed_due(broker, now, start=next_id)
                    next_id += DUE
                calls.reset()
                started = time.perf_counter()
                report = sweep(broker)
                elapsed = time.perf_counter() - started
                if p >= warmups:
                    times.append(elapsed)
                    reads.append(calls.items_read)
                    done.append(sum(report.done.values()))
            rows.append({"stored": size, "due": DUE, "seed_s": round(seeded, 1), "items_read": max(reads),
                         "done_per_pass": min(done), "pass_ms": round(statistics.median(times) * 1000, 1),
                         "passes": passes, "calls_per_pass": dict(sorted(calls.operations.items()))})
    return rows


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
