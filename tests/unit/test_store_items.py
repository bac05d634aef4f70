"""What the store keeps of a request and an event, read back as DynamoDB hands it back: every value the domain puts
in a request (times, approvals, an extension with its own approvals, a grant) round-trips through the item's
serialized attributes; items written before a field existed read with that field's default; a `next` cursor reads
back as the position it was made from, and a forged one is a bad request. Milliseconds each: no table is involved
(tests/storage proves the same items on DynamoDB). (Mutants of chalicelib/store/repository.py the world's tests
reached too slowly to judge.)"""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.domain.requests import AccessRequest, Approval, Event, Extension, Grant, State
from chalicelib.store.models import EventItem, RequestItem
from chalicelib.store.repository import _decode, _encode, _event_from_item, _event_item, _from_item, _to_item

AT = datetime(2026, 11, 28, 9, 30, 15, 123456, tzinfo=timezone.utc)


def stored(item: RequestItem) -> RequestItem:
    """The item as a later read returns it: its attributes serialized for DynamoDB and deserialized again."""
    return RequestItem.from_raw_data(item.serialize())


def read_back(request: AccessRequest, version: int | None = None) -> AccessRequest:
    return _from_item(stored(_to_item(request, version=version)))


def base(**changes: Any) -> AccessRequest:
    request = AccessRequest(
        id="r-0001", profile="s3-prod", requester="alice", requester_iam_user="alice.iam", account="222222222222",
        role_arn="arn:aws:iam::222222222222:role/s3-access", reason="fixing the export job", duration_seconds=3600,
        approvals_required=2, created_at=AT)
    return dataclasses.replace(request, **changes)


def everything() -> AccessRequest:
    """An active request carrying every value the domain keeps, none of them at its default."""
    t = [AT + timedelta(minutes=i, microseconds=i) for i in range(12)]
    return base(
        state=State.ACTIVE, updated_at=t[1], due_at=t[2], version=3,
        approvals=(Approval("bob", t[3], "ok for the export"),
                   Approval("on-call", t[4], "", schedule="P0SCHED1", pagerduty_user="PUSER42")),
        decided_by="bob", decision_comment="go ahead",
        grant=Grant("arn:aws:iam::222222222222:role/s3-access", "arn:aws:iam::111111111111:policy/grant-r-0001",
                    t[5], t[6], "https://signin.example/switch", "https://console.example/", t[7]),
        requested_by_tool="arn:aws:iam::111111111111:role/deploy-bot", break_glass=True, failure_reason="none yet",
        reminded_at=t[8], warned_at=t[9],
        extension=Extension(1800, "alice", t[10], (Approval("carol", t[11], "one more half hour",
                                                            "P0SCHED2", "PUSER7"),)),
        ended_at=t[11], guard_pending=True, cut_lapsed=True, cut_in_force_at=t[0], detach_pending=True,
        guard_retries=4)


def test_a_request_reads_back_as_it_was_stored_with_every_value_it_carries() -> None:
    request = everything()
    assert read_back(request, version=request.version) == request


@pytest.mark.parametrize("state", [State.PENDING, State.APPROVED, State.ACTIVE])
def test_a_request_reads_back_in_its_state_with_its_times(state: State) -> None:
    request = base(state=state, updated_at=AT + timedelta(seconds=5), due_at=AT + timedelta(hours=1), version=2)
    assert read_back(request, version=2) == request


def test_a_request_with_nothing_optional_reads_back_with_the_defaults() -> None:
    request = base(version=1)
    back = read_back(request, version=1)
    assert back == dataclasses.replace(request, updated_at=request.created_at)  # updated_at: its creation till then
    assert back.approvals == () and back.extension is None and back.grant is None


def test_an_open_extension_without_approvals_yet_reads_back_with_none() -> None:
    request = base(state=State.ACTIVE, version=2, extension=Extension(900, "alice", AT + timedelta(minutes=3)))
    assert read_back(request, version=2).extension == Extension(900, "alice", AT + timedelta(minutes=3), ())


def test_a_grant_not_yet_known_usable_reads_back_so() -> None:
    grant = Grant("arn:aws:iam::222222222222:role/s3-access", "arn:aws:iam::111111111111:policy/p", AT,
                  AT + timedelta(hours=1))
    request = base(state=State.ACTIVE, version=2, grant=grant)
    assert read_back(request, version=2).grant == grant


def test_approvals_stored_before_on_call_approvals_existed_read_back_with_empty_fields() -> None:
    """Items written before an approval carried a comment, a schedule or a PagerDuty user (and an extension its
    approvals) lack those keys: they read back with the fields' defaults, not None."""
    item = stored(_to_item(base(state=State.ACTIVE, version=2), version=2))
    item.body = dict(item.body or {}, approvals=[{"by": "bob", "at": "2026-11-28T09:31:00.000000Z"}],
                     extension={"seconds": 600, "requested_by": "alice", "requested_at": "2026-11-28T09:40:00.000000Z"})
    back = _from_item(stored(item))
    assert back.approvals == (Approval("bob", datetime(2026, 11, 28, 9, 31, tzinfo=timezone.utc), "", "", ""),)
    assert back.extension == Extension(600, "alice", datetime(2026, 11, 28, 9, 40, tzinfo=timezone.utc), ())


def test_a_body_key_the_code_no_longer_knows_is_ignored() -> None:
    """An item written by a later version (a field this one does not know) still reads."""
    item = stored(_to_item(base(version=1, decision_comment="kept"), version=1))
    item.body = dict(item.body or {}, some_future_field="x")
    assert _from_item(stored(item)) == base(version=1, decision_comment="kept", updated_at=AT)


@pytest.mark.parametrize("profile", ["s3-prod", ""])
@pytest.mark.parametrize("unique", [False, True])
def test_an_event_reads_back_as_it_was_stored(profile: str, unique: bool) -> None:
    event = Event("r-0001", 3, "approved", AT, "bob", "slack", {"comment": "ok", "approvals": ["bob"]})
    item = _event_item(event, profile, unique=unique)
    assert _event_from_item(EventItem.from_raw_data(item.serialize())) == event


@pytest.mark.parametrize("key", [
    {"pk": {"S": "REQ#r-0001"}, "sk": {"S": "REQ"}, "requester": {"S": "alice"}},
    {"day": "2026-11-28", "key": {"pk": {"S": "REQ#r-1"}, "sk": {"S": "EVT#000001#created"}}},
    {"day": "2026-11-28", "keys": {}},
])
def test_a_cursor_reads_back_as_the_position_it_was_made_from(key: dict[str, Any]) -> None:
    cursor = _encode(key)
    assert cursor is not None
    assert _decode(cursor) == key


@pytest.mark.parametrize("forged", [
    {"pk": {"N": "1"}}, {"pk": "REQ#r-1"}, {"pk": {"S": "REQ#r-1", "N": "2"}}, {},
])
def test_a_forged_request_cursor_is_a_bad_request(forged: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput):
        _decode(_encode(forged) or "e30=")
