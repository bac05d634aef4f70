"""The domain's small values, as people and the table see them: request ids (ULIDs), error messages that repeat
input, durations typed and printed, times in RFC 3339, the errors' HTTP answers, and the decisions on one request
(approve, deny, break-glass) with the messages a refused decision reads."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest

from chalicelib.domain import ids
from chalicelib.domain.durations import format_duration, parse_duration
from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    Unauthenticated,
    Unavailable,
    Unprocessable,
    quote,
)
from chalicelib.domain.events import ENDINGS, SYSTEM, EventKind
from chalicelib.domain.ids import is_request_id, new_request_id
from chalicelib.domain.requests import AccessRequest, Approval, Grant, State
from chalicelib.domain.times import rfc3339

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def decoded(request_id: str) -> int:
    value = 0
    for char in request_id:
        value = value * 32 + CROCKFORD.index(char)
    return value


# -- request ids


@pytest.fixture
def all_ones_randomness(monkeypatch: pytest.MonkeyPatch) -> None:
    """The random part as every bit set that was asked for: it shows exactly how many bits the id draws."""
    monkeypatch.setattr(ids.secrets, "randbits", lambda bits: (1 << bits) - 1)


def test_a_request_id_is_a_lowercase_ulid_of_the_millisecond_and_80_random_bits(all_ones_randomness: None) -> None:
    when = datetime(2026, 11, 28, 12, 0, 0, 123999, tzinfo=timezone.utc)  # the microseconds past the ms are dropped
    millis = 1795867200123
    assert int(when.timestamp() * 1000) == millis
    request_id = new_request_id(when)
    assert request_id == "01m8h0djkvzzzzzzzzzzzzzzzz"
    assert decoded(request_id) == (millis << 80) | ((1 << 80) - 1)
    assert is_request_id(request_id)


def test_request_ids_are_unguessable_and_well_shaped() -> None:
    made = {new_request_id(NOW) for _ in range(50)}
    assert len(made) == 50, "the same millisecond still gives different ids"
    assert all(len(i) == 26 and set(i) <= set(CROCKFORD) and decoded(i) >> 80 == 1795867200000 for i in made)


def test_request_ids_sort_in_the_order_they_were_made() -> None:
    moments = [NOW + timedelta(milliseconds=n) for n in (0, 1, 999, 1000, 86_400_000)]
    made = [new_request_id(when) for when in moments]
    assert sorted(made) == made and len(set(made)) == len(made)


@pytest.mark.parametrize("text, shaped", [
    ("01m8h0djkvzzzzzzzzzzzzzzzz", True),
    ("01m8h0djkvzzzzzzzzzzzzzzz", False),  # 25 characters
    ("01m8h0djkvzzzzzzzzzzzzzzzzz", False),  # 27
    ("01M8H0DJKVZZZZZZZZZZZZZZZZ", False),  # upper case: not what the broker makes
    ("01m8h0djkvzzzzzzzzzzzzzzzu", False),  # u, like i, l and o, is not in Crockford's alphabet
    ("01m8h0djkvzzzzzzzzzzzzzzzi", False),
    (None, False), (12345678901234567890123456, False),
])
def test_only_what_looks_like_a_request_id_is_looked_up(text: object, shaped: bool) -> None:
    assert is_request_id(text) is shaped


# -- errors


def test_input_an_error_repeats_is_shown_whole_up_to_200_characters() -> None:
    assert quote("s3-admin") == "'s3-admin'"
    assert quote(None) == "None"
    assert quote("x" * 198) == repr("x" * 198)  # 200 with its quotes: whole


@pytest.mark.parametrize("value, size", [
    ("x" * 199, " (199 characters)"), (b"y" * 500, " (500 characters)"), (["z"] * 100, " (100 characters)"),
    ({n: n for n in range(100)}, " (100 characters)"), (tuple(range(100)), ""), (10 ** 300, ""),
])
def test_longer_input_is_cut_at_200_characters_saying_how_long_it_was(value: object, size: str) -> None:
    assert quote(value) == repr(value)[:200] + "…" + size


@pytest.mark.parametrize("error, status, title", [
    (DomainError, 400, "Bad request"), (InvalidInput, 400, "Invalid input"),
    (Unauthenticated, 401, "Not authenticated"),
    (Forbidden, 403, "Forbidden"), (NotFound, 404, "Not found"), (Conflict, 409, "Conflict"), (Gone, 410, "Gone"),
    (Unprocessable, 422, "Unprocessable request"), (Unavailable, 503, "Service unavailable"),
])
def test_each_error_answers_with_its_http_status_and_title(error: type[DomainError], status: int, title: str) -> None:
    raised = error("what is wrong and how to fix it", state="pending")
    assert (raised.status, raised.title) == (status, title)
    assert raised.detail == str(raised) == "what is wrong and how to fix it"
    assert raised.extra == {"state": "pending"}


# -- durations


@pytest.mark.parametrize("text, seconds", [
    ("1s", 1), ("1m", 60), ("1h", 3600), ("1d", 86400), ("1d2h3m4s", 93784), ("P1DT2H3M4S", 93784), ("P1D", 86400),
    ("PT45S", 45), ("2H", 7200), ("366d", 366 * 86400), ("999999999s", None), ("366d1s", None),
])
def test_durations_up_to_a_year_in_every_unit(text: str, seconds: int | None) -> None:
    if seconds is not None:
        assert parse_duration(text) == seconds
        return
    with pytest.raises(Unprocessable) as refused:
        parse_duration(text)
    assert refused.value.detail == (f"duration '{text}' is longer than a year: use minutes or hours like `90m`, `2h`, "
                                    f"`1h30m`, or ISO 8601 like `PT2H`")


@pytest.mark.parametrize("text, detail", [
    (None, "duration must be a non-empty string: use minutes or hours like `90m`, `2h`, `1h30m`, or ISO 8601 like "
           "`PT2H`"),
    ("  ", "duration must be a non-empty string: use minutes or hours like `90m`, `2h`, `1h30m`, or ISO 8601 like "
           "`PT2H`"),
    (" 2 hours ", "duration '2 hours' is not understood: use minutes or hours like `90m`, `2h`, `1h30m`, or ISO 8601 "
                  "like `PT2H`"),
    ("PT", "duration 'PT' is not understood: use minutes or hours like `90m`, `2h`, `1h30m`, or ISO 8601 like `PT2H`"),
    ("1234567890m", "duration '1234567890m' is not understood: use minutes or hours like `90m`, `2h`, `1h30m`, or ISO "
                    "8601 like `PT2H`"),
    ("٢h", "duration '٢h' is not understood: use minutes or hours like `90m`, `2h`, `1h30m`, or ISO 8601 like `PT2H`"),
    ("0h0m", "duration '0h0m' must be longer than zero"),
    ("PT0S", "duration 'PT0S' must be longer than zero"),
])
def test_a_refused_duration_says_what_was_wrong(text: object, detail: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        parse_duration(text)
    assert refused.value.detail == detail


@pytest.mark.parametrize("seconds, shown", [
    (0, "0s"), (1, "1s"), (59, "59s"), (60, "1m"), (3600, "1h"), (3661, "1h1m1s"), (86400, "24h"), (93784, "26h3m4s"),
])
def test_durations_print_in_hours_minutes_and_seconds(seconds: int, shown: str) -> None:
    assert format_duration(seconds) == shown


# -- times and events


@pytest.fixture
def machine_in_new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_times_show_in_utc_to_the_second_whatever_the_machine_s_zone(machine_in_new_york: None) -> None:
    assert rfc3339(datetime(2026, 11, 28, 12, 0, 5, 999999, tzinfo=timezone.utc)) == "2026-11-28T12:00:05Z"
    paris = timezone(timedelta(hours=1))
    assert rfc3339(datetime(2026, 1, 2, 0, 30, tzinfo=paris)) == "2026-01-01T23:30:00Z"


def test_the_broker_acting_by_itself_is_access_broker_and_endings_are_what_the_requester_hears_of() -> None:
    assert SYSTEM == "access-broker"
    assert ENDINGS == {EventKind.DENIED, EventKind.TIMED_OUT, EventKind.EXPIRED, EventKind.REVOKED, EventKind.FAILED}


# -- deciding one request


def pending(required: int = 1, **changes: object) -> AccessRequest:
    request = AccessRequest(id="r1", profile="s3-prod", requester="alice", requester_iam_user="alice",
                            account="222222222222", role_arn="arn:aws:iam::222222222222:role/switch-role-for-S3",
                            reason="export job", duration_seconds=7200, approvals_required=required, created_at=NOW,
                            updated_at=NOW)
    return request if not changes else AccessRequest(**{**request.__dict__, **changes})


LATER = NOW + timedelta(minutes=5)


def test_an_approval_records_who_when_and_what_they_said() -> None:
    approved, kind = pending().approve("bob", LATER, "ok, go")
    assert kind == EventKind.APPROVED
    assert approved.approvals == (Approval("bob", LATER, "ok, go"),)
    assert (approved.state, approved.decided_by, approved.decision_comment, approved.updated_at) == (
        State.APPROVED, "bob", "ok, go", LATER)
    assert approved.grant == Grant(role_arn="arn:aws:iam::222222222222:role/switch-role-for-S3", policy_arn="",
                                   starts_at=LATER, expires_at=LATER + timedelta(hours=2))


def test_an_approval_short_of_the_number_needed_changes_only_the_approvals() -> None:
    first, kind = pending(required=3).approve("bob", LATER, "one")
    assert kind == EventKind.APPROVAL_ADDED
    assert first == pending(required=3, approvals=(Approval("bob", LATER, "one"),), updated_at=LATER)
    second, kind = first.approve("carol", LATER)
    assert kind == EventKind.APPROVAL_ADDED and second.state == State.PENDING
    assert second.approve("dave", LATER).request.state == State.APPROVED


def test_a_decision_without_a_comment_records_an_empty_one() -> None:
    approved = pending().approve("bob", LATER).request
    assert approved.decision_comment == "" and approved.approvals == (Approval("bob", LATER, ""),)
    assert pending().deny("bob", LATER).request.decision_comment == ""


def test_the_same_approver_twice_is_told_another_is_needed() -> None:
    with pytest.raises(Conflict) as refused:
        pending(required=2).approve("bob", NOW).request.approve("bob", LATER)
    assert refused.value.detail == "you already approved request r1; it needs another approver"


def test_nobody_decides_their_own_request() -> None:
    with pytest.raises(Forbidden) as approving:
        pending().approve("alice", NOW)
    assert approving.value.detail == "nobody may approve their own request; ask one of the profile's approvers"
    with pytest.raises(Forbidden) as denying:
        pending().deny("alice", NOW)
    assert denying.value.detail == "nobody may decide their own request; cancel it instead"


def test_a_denial_records_who_when_and_why() -> None:
    denied, kind = pending().deny("carol", LATER, "not today")
    assert kind == EventKind.DENIED
    assert denied == pending(state=State.DENIED, decided_by="carol", decision_comment="not today", updated_at=LATER)


@pytest.mark.parametrize("decide, action", [
    (lambda r: r.approve("carol", LATER), "approved"), (lambda r: r.deny("carol", LATER), "denied"),
])
def test_a_decided_request_says_who_decided_and_what_may_still_be_done(decide, action: str) -> None:
    with pytest.raises(Conflict) as refused:
        decide(pending().deny("bob", NOW).request)
    assert refused.value.detail == (f"request r1 is already denied by bob; only a request that is pending can be "
                                    f"{action}")
    assert refused.value.extra == {"state": "denied"}


def test_a_request_ended_by_nobody_in_particular_names_no_one() -> None:
    with pytest.raises(Conflict) as refused:
        pending(state=State.FAILED).approve("bob", NOW)
    assert refused.value.detail == "request r1 is already failed; only a request that is pending can be approved"


def test_a_refusal_lists_every_state_that_would_have_been_allowed() -> None:
    with pytest.raises(Conflict) as refused:
        pending().end(State.REVOKED, "bob", NOW)
    assert refused.value.detail == ("request r1 is already pending; only a request that is active or approved can be "
                                    "revoked")


def test_break_glass_approves_itself_and_plans_the_grant() -> None:
    approved, kind = pending(break_glass=True).break_glass_approve(LATER)
    assert kind == EventKind.BREAK_GLASS_ACTIVATED
    assert approved == pending(break_glass=True, state=State.APPROVED, decided_by="alice",
                               decision_comment="break-glass", updated_at=LATER, grant=Grant(
                                   "arn:aws:iam::222222222222:role/switch-role-for-S3", "", LATER,
                                   LATER + timedelta(hours=2)))


def test_break_glass_on_a_decided_request_is_refused() -> None:
    with pytest.raises(Conflict) as refused:
        pending(break_glass=True, state=State.CANCELLED, decided_by="alice").break_glass_approve(NOW)
    assert refused.value.detail == ("request r1 is already cancelled by alice; only a request that is pending can be "
                                    "activated by break-glass")
