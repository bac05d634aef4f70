"""A sweep pass reads only what is due: a key condition on the `due` index, never a Scan."""
from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import timedelta
from typing import Any

from chalicelib.domain.requests import AccessRequest, State
from chalicelib.store import models, repository
from chalicelib.sweeper import sweep

ENDED = 10_000


class ItemsRead:
    """Counts the items DynamoDB reads for us, from the responses themselves (ScannedCount for a Query or
    Scan, one per item returned by GetItem/BatchGetItem/TransactGetItems), by hooking every model's client."""

    def __init__(self) -> None:
        self.items = 0
        self.calls: Counter = Counter()
        for model in models.MODELS:
            model._get_connection().connection.client.meta.events.register("after-call.dynamodb", self._count)

    def _count(self, parsed: dict, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1
        if model.name in ("Query", "Scan"):
            self.items += parsed.get("ScannedCount", parsed.get("Count", 0))
        elif model.name == "GetItem":
            self.items += 1 if parsed.get("Item") else 0
        elif model.name in ("BatchGetItem", "TransactGetItems"):
            found = parsed.get("Responses", [])
            self.items += sum(len(v) for v in found.values()) if isinstance(found, dict) else len(found)

    def stop(self) -> None:
        for model in models.MODELS:
            model._get_connection().connection.client.meta.events.unregister("after-call.dynamodb", self._count)


def _seed_ended(template: AccessRequest, count: int) -> None:
    """Ended requests written straight through the model in batches: they are out of the sparse due index."""
    ends = [State.EXPIRED, State.REVOKED, State.DENIED, State.TIMED_OUT, State.CANCELLED]
    with models.RequestItem.batch_write() as batch:
        for n in range(count):
            ended = dataclasses.replace(template, id=f"{template.id[:20]}{n:06d}", state=ends[n % len(ends)],
                                        created_at=template.created_at - timedelta(days=1 + n % 300), version=0)
            batch.save(repository._to_item(ended))


def test_one_pass_reads_only_the_due_requests(broker, people, clock):
    due = [people.grant(duration="1h") for _ in range(5)]
    later = [people.grant(duration="4h") for _ in range(3)]
    _seed_ended(due[0], ENDED)
    assert models.RequestItem.count() >= ENDED + 8  # a Scan, outside the measured pass

    clock.advance(minutes=61)
    reads = ItemsRead()
    try:
        report = sweep(broker)
    finally:
        reads.stop()

    assert report.done["expired"] == 5 and all(broker.repo.get(r.id).state == State.EXPIRED for r in due)
    assert all(broker.repo.get(r.id).state == State.ACTIVE for r in later)
    assert "Scan" not in reads.calls, f"the sweeper must never scan the table: {reads.calls}"
    assert reads.items <= 50, f"one pass read {reads.items} items ({dict(reads.calls)}) with 5 due and {ENDED} ended"
