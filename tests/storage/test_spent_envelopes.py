"""The record of sealed jobs the worker ran (issue 24, point 3), on both backends: the first record wins, a second of
the same envelope is refused by the table's condition, and the record carries the TTL that removes it once the
envelope's window has closed."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from chalicelib.store.envelopes import SpentEnvelopes

UNTIL = datetime(2026, 11, 28, 12, 15, tzinfo=timezone.utc)


def test_an_envelope_is_recorded_once(broker: Any, dynamodb: Any) -> None:
    spent = SpentEnvelopes()
    assert spent.spend("a" * 64, UNTIL) is True
    assert spent.spend("a" * 64, UNTIL) is False, "the same envelope again"
    assert SpentEnvelopes().spend("a" * 64, UNTIL) is False, "another worker sees the record too"
    assert spent.spend("b" * 64, UNTIL) is True, "another envelope is its own record"
    item = dynamodb.get_item(TableName=_table(),
                             Key={"pk": {"S": "SEALED#" + "a" * 64}, "sk": {"S": "SEALED"}})["Item"]
    assert int(item["expires"]["N"]) == int(UNTIL.timestamp()) + 1


def _table() -> str:
    from chalicelib.store.models import EnvelopeItem

    return str(EnvelopeItem.Meta.table_name)
