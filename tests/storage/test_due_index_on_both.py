"""A sweep pass reads only what is due, on each DynamoDB backend: a key condition on the `due` index, never a
Scan. Items read are what DynamoDB itself reports (ScannedCount, GetItem hits), counted by bench.calls."""
from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import boto3

from bench.calls import AwsCalls
from chalicelib.domain.requests import AccessRequest, State
from chalicelib.store import models, repository
from tests.storage.helpers import as_person

ENDED = 10_000


def _granted(broker: Any, duration: str) -> AccessRequest:
    created = broker.request_access(as_person(broker, "s3-access"), "s3-prod", duration, "fixing the export job")
    return broker.approve(as_person(broker, "bob"), created.id)


def _seed_ended(template: AccessRequest, count: int) -> None:
    """Ended requests written straight through the model in batches: they are out of the sparse due index."""
    ends = [State.EXPIRED, State.REVOKED, State.DENIED, State.TIMED_OUT, State.CANCELLED]
    with models.RequestItem.batch_write() as batch:
        for n in range(count):
            ended = dataclasses.replace(template, id=f"{template.id[:20]}{n:06d}", state=ends[n % len(ends)],
                                        created_at=template.created_at - timedelta(days=1 + n % 300), version=0)
            batch.save(repository._to_item(ended))


def _stored_items() -> int:
    client = boto3.client("dynamodb")  # the app's own clients load only the operations the app calls
    pages = client.get_paginator("scan").paginate(TableName=models.RequestItem.Meta.table_name, Select="COUNT")
    return sum(page["Count"] for page in pages)


def test_one_pass_reads_only_the_due_requests(broker: Any, clock: Any) -> None:
    due = [_granted(broker, "1h") for _ in range(5)]
    later = [_granted(broker, "4h") for _ in range(3)]
    _seed_ended(due[0], ENDED)
    assert _stored_items() >= ENDED + 8  # a Scan, outside the measured pass

    clock.advance(minutes=61)
    with AwsCalls(broker) as calls:
        report = broker.sweep()

    assert report.done["expired"] == 5 and all(broker.repo.get(r.id).state == State.EXPIRED for r in due)
    assert all(broker.repo.get(r.id).state == State.ACTIVE for r in later)
    assert "dynamodb:Scan" not in calls.operations, f"the sweeper must never scan the table: {calls.operations}"
    # Exactly what the pass must read, on both backends: the 5 due (the due index's `active` partition), the 3
    # still active (drift repair's by-state read), and the 5 it has just expired, now ended within the hour (drift
    # repair's read of the `cut_stands` partition, whose session cuts must still stand). None of the ended items.
    must_read = len(due) + len(later) + len(due)
    assert calls.items_read == must_read, f"one pass read {calls.items_read} items with 5 due and {ENDED} ended, " \
        f"where {must_read} are needed"
