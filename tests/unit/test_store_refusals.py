"""Which domain error each refusal of DynamoDB becomes at the store's boundary, for every shape of write the repository
makes: a create is [request, first event, idempotency claim?, exclusive name?], a transition [request, event], a
note one put. The refusals are built as pynamodb raises them from DynamoDB's answer (TransactionCanceledException
with one reason per item, in the items' order; ValidationException for an item over 400 KB); tests/storage proves
those answers on moto and DynamoDB Local. (Mutants of chalicelib/store/repository.py the world's tests reached too
slowly to judge.)"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from pynamodb.exceptions import CancellationReason, PutError, TransactWriteError, VerboseClientError

from chalicelib.domain.errors import Conflict, Unprocessable
from chalicelib.ports import Exclusive, IdempotencyClaim, IdempotentReplay, StaleWrite
from chalicelib.store.repository import _translated

FAILED = "ConditionalCheckFailed"
CLAIM = IdempotencyClaim("arn:aws:iam::111111111111:user/alice", "key-1", "body-hash")
NAME = ("break-glass#alice#s3-prod", datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc))
TOO_LARGE = "Item size has exceeded the maximum allowed size"


def canceled(*codes: str | None) -> TransactWriteError:
    reasons = [CancellationReason(code) if code else None for code in codes]
    cause = VerboseClientError({"Error": {"Code": "TransactionCanceledException", "Message": "canceled"}},
                               "TransactWriteItems", cancellation_reasons=reasons)
    return TransactWriteError("Failed to write transaction items", cause)


def refused(error: type[TransactWriteError] | type[PutError], code: str, message: str) -> Exception:
    cause = VerboseClientError({"Error": {"Code": code, "Message": message}}, "TransactWriteItems")
    return error("refused", cause)


def translated(exc: Exception, **write: Any) -> BaseException:
    """What leaves the boundary when DynamoDB refuses the write described by `write`."""
    with pytest.raises(BaseException) as caught:
        with _translated("r-0001", **write):
            raise exc
    return caught.value


CREATE = {"creating": True}
WITH_CLAIM = {"creating": True, "claim": CLAIM}
WITH_NAME = {"creating": True, "exclusive": NAME}
WITH_BOTH = {"creating": True, "claim": CLAIM, "exclusive": NAME}


@pytest.mark.parametrize("write, reasons, expected", [
    (CREATE, (FAILED, None), Conflict),  # an id already taken: nothing stored
    (CREATE, (FAILED, FAILED), Conflict),
    (WITH_CLAIM, (None, None, FAILED), IdempotentReplay),  # the key was used: the first request is the answer
    (WITH_CLAIM, (FAILED, None, None), Conflict),  # the key is free, the id is not
    (WITH_NAME, (None, None, FAILED), Exclusive),  # a live request holds the name
    (WITH_NAME, (FAILED, None, None), Conflict),
    (WITH_BOTH, (None, None, None, FAILED), Exclusive),
    (WITH_BOTH, (None, None, FAILED, None), IdempotentReplay),
    (WITH_BOTH, (None, None, FAILED, FAILED), IdempotentReplay),  # a replay wins over a held name
    (WITH_BOTH, (FAILED, None, None, None), Conflict),
    ({}, (FAILED, None), StaleWrite),  # a transition that lost a race: re-read and decide again
    ({}, (None, FAILED), StaleWrite),
])
def test_a_refused_write_becomes_the_domains_error(write: dict[str, Any], reasons: tuple[str | None, ...],
                                                   expected: type[BaseException]) -> None:
    error = translated(canceled(*reasons), **write)
    assert type(error) is expected
    if isinstance(error, Exclusive):
        assert error.name == NAME[0]
    if isinstance(error, Conflict):
        assert "r-0001" in str(error)


@pytest.mark.parametrize("write", [CREATE, WITH_BOTH, {}])
def test_a_transaction_canceled_for_another_reason_is_not_disguised(write: dict[str, Any]) -> None:
    """A throttled or conflicting transaction (no failed condition) is not a lost race, a clash or a replay."""
    exc = canceled("TransactionConflict", None, None, None) if write is WITH_BOTH else canceled(None, "ThrottlingError")
    assert translated(exc, **write) is exc


@pytest.mark.parametrize("error", [TransactWriteError, PutError])
@pytest.mark.parametrize("write", [CREATE, {}])
def test_an_item_over_400_kb_is_unprocessable(error: type[TransactWriteError] | type[PutError],
                                             write: dict[str, Any]) -> None:
    translated_error = translated(refused(error, "ValidationException", TOO_LARGE), **write)
    assert isinstance(translated_error, Unprocessable)
    assert "r-0001" in str(translated_error) and "400 KB" in str(translated_error)


@pytest.mark.parametrize("code, message", [
    ("ValidationException", "One or more parameter values were invalid: an AttributeValue may not be empty"),
    ("ValidationException", ""),
    ("ProvisionedThroughputExceededException", TOO_LARGE),
])
@pytest.mark.parametrize("error", [TransactWriteError, PutError])
def test_other_refusals_pass_through_unchanged(code: str, message: str,
                                               error: type[TransactWriteError] | type[PutError]) -> None:
    """A bug of ours (an invalid item) or a throttled write is not the caller's oversized request."""
    exc = refused(error, code, message)
    assert translated(exc, creating=True) is exc
