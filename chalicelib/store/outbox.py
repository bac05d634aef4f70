"""Notifications that failed, kept until their retry is due. One partition (`OUTBOX`) sorted by due time,
so the sweeper reads only what is due; taking an entry is a conditional delete, so two sweepers never
send the same retry twice."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any, Iterator

from pynamodb.exceptions import DeleteError

from chalicelib.store.models import OutboxItem
from chalicelib.store.repository import _ts

_PK = "OUTBOX"


class Outbox:
    def add(self, request_id: str, job: dict[str, Any], due: datetime) -> None:
        OutboxItem(_PK, f"{_ts(due)}#{request_id}#{secrets.token_hex(4)}", request_id=request_id, job=job).save(
            condition=OutboxItem.pk.does_not_exist())

    def take_due(self, now: datetime, limit: int = 25) -> Iterator[dict[str, Any]]:
        """Yields the jobs due by `now`, each removed first: whoever removes it sends it."""
        for item in OutboxItem.query(_PK, OutboxItem.sk <= f"{_ts(now)}~", limit=limit, consistent_read=True):
            try:
                item.delete(condition=OutboxItem.pk.exists())
            except DeleteError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
                continue  # another sweeper took it
            yield item.job
