"""Sealed jobs the worker has run, kept for as long as their seal is accepted: recording one is a conditional put
(nobody recorded it yet), so the same envelope never runs twice, however often it is sent again within its window.
DynamoDB removes each record once it can no longer matter (its TTL, `expires`)."""
from __future__ import annotations

from datetime import datetime

from pynamodb.exceptions import PutError

from chalicelib.store.models import EnvelopeItem


class SpentEnvelopes:
    def spend(self, envelope_id: str, until: datetime) -> bool:
        """Records the envelope as run: True the first time, False if it was recorded already."""
        try:
            EnvelopeItem(f"SEALED#{envelope_id}", "SEALED", expires=int(until.timestamp()) + 1).save(
                condition=EnvelopeItem.pk.does_not_exist())
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            return False
        return True
