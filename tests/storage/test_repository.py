"""The repository on each DynamoDB backend: every write is conditional, and each rejection DynamoDB answers
becomes the same domain error whichever backend answered it."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from pynamodb.exceptions import TransactWriteError

from chalicelib.domain.errors import Conflict, InvalidInput, NotFound, Unprocessable
from chalicelib.domain.requests import AccessRequest, Approval, Event, Extension, State
from chalicelib.ports import IdempotencyClaim, IdempotentReplay, StaleWrite
from tests.storage.helpers import as_person

CANCELLED = "TransactionCanceledException"


def new_request(broker: Any, reason: str = "fixing the export job", who: str = "s3-access") -> AccessRequest:
    return broker.request_access(as_person(broker, who), "s3-prod", "1h", reason)


def unsaved(template: AccessRequest, **changes: Any) -> AccessRequest:
    """A request the repository has not seen, built from `template`."""
    return dataclasses.replace(template, version=0, **changes)


def created_event(request: AccessRequest) -> Event:
    return Event(request.id, 1, "created", request.created_at, request.requester, "api", {})


def dynamodb_said(caught: pytest.ExceptionInfo[BaseException]) -> tuple[str | None, list[str | None]]:
    """What DynamoDB answered underneath a domain error: its error code and, for a cancelled
    transaction, the reason per operation (None where that operation was fine)."""
    cause = caught.value.__context__
    assert isinstance(cause, TransactWriteError), f"not a DynamoDB rejection underneath: {cause!r}"
    return cause.cause_response_code, [r.code if r else None for r in cause.cancellation_reasons or []]


def test_create_refuses_an_id_that_exists_and_keeps_the_first(broker: Any) -> None:
    first = new_request(broker)
    twin = unsaved(first, reason="a different story", requester="alice", requester_iam_user="alice")

    with pytest.raises(Conflict, match=first.id) as caught:
        broker.repo.create(twin, created_event(twin))

    assert dynamodb_said(caught) == (CANCELLED, ["ConditionalCheckFailed", "ConditionalCheckFailed"])
    assert broker.repo.get(first.id) == first
    assert [e.actor for e in broker.repo.events(first.id)] == ["s3-access"]


def test_a_transition_from_a_version_already_changed_is_a_stale_write(broker: Any, clock: Any) -> None:
    before = new_request(broker)
    now = clock.advance(minutes=1)
    approved = broker.repo.transition(before, before.approve("bob", now).request,
                                      Event(before.id, 2, "approved", now, "bob", "api", {}))
    assert approved.version == 2

    with pytest.raises(StaleWrite) as caught:
        broker.repo.transition(before, before.deny("carol", now).request,
                               Event(before.id, 2, "denied", now, "carol", "api"))

    assert dynamodb_said(caught) == (CANCELLED, ["ConditionalCheckFailed", None])
    assert broker.repo.get(before.id) == approved, "the losing write changed the stored request"
    assert [e.kind for e in broker.repo.events(before.id)] == ["created", "approved"]


def test_a_transition_replaying_a_recorded_event_is_a_stale_write(broker: Any, clock: Any) -> None:
    before = new_request(broker)
    now = clock.advance(minutes=1)
    event = Event(before.id, 2, "approved", now, "bob", "api", {})
    broker.repo.transition(before, before.approve("bob", now).request, event)

    with pytest.raises(StaleWrite) as caught:
        broker.repo.transition(before, before.approve("carol", now).request, dataclasses.replace(event, actor="carol"))

    assert dynamodb_said(caught) == (CANCELLED, ["ConditionalCheckFailed", "ConditionalCheckFailed"])
    assert broker.repo.get(before.id).approvals[0].by == "bob"


def test_idempotency_key_returns_the_first_request_and_refuses_another_body(broker: Any) -> None:
    person = as_person(broker, "s3-access")
    claim = IdempotencyClaim(person.principal, "key-1", "body-hash-a")
    first = broker.request_access(person, "s3-prod", "1h", "fixing the export job", idempotency=claim)

    again = broker.request_access(person, "s3-prod", "1h", "fixing the export job", idempotency=claim)
    assert again == first
    with pytest.raises(Conflict, match="different body"):
        broker.request_access(person, "s3-prod", "2h", "another job",
                              idempotency=dataclasses.replace(claim, fingerprint="body-hash-b"))
    assert [r.id for r in broker.repo.by_requester("s3-access", 10, None).items] == [first.id]


def test_a_claimed_key_cancels_the_whole_create(broker: Any, clock: Any) -> None:
    """The race `claimed()` cannot see: two creates with one key; the second stores nothing at all."""
    person = as_person(broker, "s3-access")
    claim = IdempotencyClaim(person.principal, "key-2", "body-hash-a")
    first = broker.request_access(person, "s3-prod", "1h", "fixing the export job", idempotency=claim)
    clock.advance(seconds=1)
    second = unsaved(first, id=broker.deps.new_id(clock()), created_at=clock())

    with pytest.raises(IdempotentReplay) as caught:
        broker.repo.create(second, created_event(second), claim)

    assert dynamodb_said(caught) == (CANCELLED, [None, None, "ConditionalCheckFailed"])
    with pytest.raises(NotFound):
        broker.repo.get(second.id)
    assert broker.repo.events(second.id) == []


def test_a_reason_that_fits_in_an_item_is_stored_whole(broker: Any) -> None:
    """DynamoDB keeps at most 400 KB per item; the API caps reasons far below, the store must not truncate."""
    template = new_request(broker)
    big = unsaved(template, id=broker.deps.new_id(template.created_at), reason="r" * 395_000)
    broker.repo.create(big, created_event(big))
    assert broker.repo.get(big.id).reason == big.reason


def test_a_reason_past_the_item_size_limit_is_refused_and_nothing_is_stored(broker: Any) -> None:
    template = new_request(broker)
    huge = unsaved(template, id=broker.deps.new_id(template.created_at), reason="r" * 420_000)

    with pytest.raises(Unprocessable, match="400 KB") as caught:
        broker.repo.create(huge, created_event(huge))

    assert dynamodb_said(caught)[0] == "ValidationException"
    with pytest.raises(NotFound):
        broker.repo.get(huge.id)
    assert broker.repo.events(huge.id) == []


def test_a_transition_growing_past_the_item_size_limit_is_refused(broker: Any, clock: Any) -> None:
    template = new_request(broker)
    big = unsaved(template, id=broker.deps.new_id(template.created_at), reason="r" * 300_000)
    stored = broker.repo.create(big, created_event(big))
    now = clock.advance(minutes=1)

    with pytest.raises(Unprocessable, match="400 KB"):
        broker.repo.transition(stored, stored.approve("bob", now, "c" * 120_000).request,
                               Event(stored.id, 2, "approved", now, "bob", "api", {}))
    assert broker.repo.get(stored.id) == stored


def test_by_requester_pages_newest_first_with_a_cursor(broker: Any, clock: Any) -> None:
    made = []
    for n in range(5):
        made.append(new_request(broker, reason=f"job {n}"))
        clock.advance(minutes=1)
    new_request(broker, who="alice")  # someone else's: never in s3-access's pages

    pages, cursor = [], None
    while True:
        page = broker.repo.by_requester("s3-access", 2, cursor)
        pages.append([r.id for r in page.items])
        if not (cursor := page.next):
            break
    assert pages == [[made[4].id, made[3].id], [made[2].id, made[1].id], [made[0].id]]


def test_by_state_lists_only_requests_in_that_state(broker: Any, clock: Any) -> None:
    pending = []
    for _ in range(3):
        pending.append(new_request(broker))
        clock.advance(seconds=1)  # distinct sort keys: equal ones come back in no set order
    broker.deny(as_person(broker, "bob"), pending[1].id)

    first = broker.repo.by_state(State.PENDING, 1, None)
    rest = broker.repo.by_state(State.PENDING, 5, first.next)
    assert [r.id for r in first.items + rest.items] == [pending[2].id, pending[0].id]
    assert rest.next is None
    assert [r.id for r in broker.repo.by_state(State.DENIED, 5, None).items] == [pending[1].id]


def test_due_reads_only_what_is_due(broker: Any, clock: Any) -> None:
    early = new_request(broker)
    clock.advance(minutes=5)
    late = new_request(broker)
    assert early.due_at < late.due_at

    def due(state: State, at: datetime) -> list[str]:
        return [r.id for r in broker.repo.due(state, at)]

    assert due(State.PENDING, early.due_at - timedelta(microseconds=1)) == []
    assert due(State.PENDING, early.due_at) == [early.id]
    assert due(State.PENDING, late.due_at) == [early.id, late.id]
    assert due(State.ACTIVE, late.due_at) == []


def test_audit_pages_across_days_in_time_order(broker: Any, clock: Any) -> None:
    clock.now = datetime(2026, 11, 26, 23, 50, tzinfo=timezone.utc)
    since = clock.now - timedelta(minutes=1)
    first = new_request(broker)
    clock.advance(minutes=5)
    broker.deny(as_person(broker, "bob"), first.id, "no")
    clock.advance(minutes=10)  # past midnight: the next events are on the next day's partition
    second = new_request(broker)
    clock.advance(minutes=1)
    broker.cancel(as_person(broker, "s3-access"), second.id)
    clock.advance(days=1)
    new_request(broker)  # after `until`
    expected = [(first.id, "created"), (first.id, "denied"), (second.id, "created"), (second.id, "cancelled")]

    seen, cursor = [], None
    for _ in range(10):
        page = broker.repo.audit(since, since + timedelta(hours=1), 3, cursor)
        assert len(page.items) <= 3
        seen += [(e.request_id, e.kind) for e in page.items]
        if not (cursor := page.next):
            break
    assert seen == expected


def test_a_scoped_audit_reads_only_its_profiles_oldest_first_across_days_and_pages(broker: Any, clock: Any) -> None:
    clock.now = datetime(2026, 11, 26, 23, 50, tzinfo=timezone.utc)
    since = clock.now - timedelta(minutes=1)
    s3 = new_request(broker)
    clock.advance(minutes=1)
    short = broker.request_access(as_person(broker, "s3-access"), "s3-prod-short", "2m", "looking around")
    clock.advance(seconds=1)
    broker.repo.note(Event(s3.id, 1, "notify_failed", clock(), "access-broker", "system", {}), "s3-prod")
    broker.repo.note(Event("orphan", 0, "drift_repaired", clock(), "access-broker", "system", {}))  # no request's
    clock.advance(minutes=15)  # past midnight
    broker.deny(as_person(broker, "bob"), s3.id, "no")
    broker.cancel(as_person(broker, "s3-access"), short.id)
    expected = [(s3.id, "created"), (s3.id, "notify_failed"), (s3.id, "denied")]

    for limit in (1, 2, 5):
        seen, cursor = [], None
        for _ in range(10):
            page = broker.repo.audit_scoped(["s3-prod"], since, since + timedelta(hours=1), limit, cursor)
            assert len(page.items) <= limit
            seen += [(e.request_id, e.kind) for e in page.items]
            if not (cursor := page.next):
                break
        assert seen == expected, limit
    both = broker.repo.audit_scoped(["s3-prod", "s3-prod-short"], since, since + timedelta(hours=1), 10, None)
    assert [(e.request_id, e.kind) for e in both.items] == [
        (s3.id, "created"), (short.id, "created"), (s3.id, "notify_failed"), (s3.id, "denied"),
        (short.id, "cancelled")], "two profiles merged in time order"
    with pytest.raises(InvalidInput, match="cursor"):
        broker.repo.audit_scoped(["s3-prod"], since, since + timedelta(hours=1), 1, "not-a-cursor")


def test_a_cursor_from_elsewhere_is_refused(broker: Any) -> None:
    with pytest.raises(InvalidInput, match="cursor"):
        broker.repo.by_requester("s3-access", 2, "not-a-cursor")


def test_every_field_of_approvals_and_an_extension_reads_back_as_written(broker: Any, clock: Any) -> None:
    """What the Slack messages and the audit show of a decision (its comment, the on-call schedule and PagerDuty
    user of an automatic approval, an extension's own round) is what the store gives back."""
    stored = new_request(broker)
    now = clock.advance(minutes=1)
    written = dataclasses.replace(
        stored, state=State.APPROVED,
        approvals=(Approval("bob", now, "ok for the export"),
                   Approval("on-call", now, schedule="P0SCHED1", pagerduty_user="PUSER42")),
        extension=Extension(1800, "s3-access", now, (Approval("carol", now, "one more half hour"),)))
    broker.repo.transition(stored, written, Event(stored.id, 2, "approved", now, "bob", "api", {}))

    read = broker.repo.get(stored.id)

    assert (read.approvals, read.extension) == (written.approvals, written.extension)
