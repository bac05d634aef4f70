"""The sweeper's retry of a session-guard write the target account did not take (Broker.retry_guard on tests/fakes.py):
what is owed follows the request's state now (a live grant's expiry, a revoke's cut, an expiry's cut), the
`guard_pending` flag is cleared with a `session_guard_caught_up` event once the write lands, and stays (with a
`session_guard_failed` event) while the account still refuses."""
from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.errors import Conflict
from chalicelib.domain.events import SYSTEM, EventKind
from chalicelib.domain.requests import AccessRequest, Event, State
from chalicelib.domain.session_guard import EXPIRY, REVOKE, ROLE, Cut, Guard
from tests import fakes
from tests.fakes import as_, ask, cuts, expiry_cut, granted, kinds, revoke_cut

REQUESTER, APPROVER = "s3-access", "bob"


def caught_up(wired: fakes.Fakes, request_id: str) -> list[Event]:
    return [e for e in wired.store.events(request_id) if e.kind == "session_guard_caught_up"]


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker()


@pytest.fixture
def pending_grant(wired: fakes.Fakes) -> AccessRequest:
    """A grant made while its target account refused the broker: active, its expiry cut still owed."""
    wired.guards.unreachable = True
    grant = granted(wired)
    assert grant.state == State.ACTIVE and grant.guard_pending and cuts(wired, grant) == frozenset()
    return grant


# -- a live grant


def test_the_sweep_writes_a_live_grant_s_expiry_cut_once_the_account_takes_it(wired: fakes.Fakes,
                                                                            pending_grant: AccessRequest) -> None:
    wired.guards.unreachable = False
    wired.clock.advance(minutes=2)
    report = wired.broker.sweep(repair=False)
    assert report.done == {"session_guard_written": 1} and report.errors == 0
    stored = wired.store.get(pending_grant.id)
    assert not stored.guard_pending and stored.state == State.ACTIVE
    assert cuts(wired, pending_grant) == {expiry_cut(pending_grant)}
    assert caught_up(wired, pending_grant.id) == [Event(
        pending_grant.id, pending_grant.version + 1, EventKind.SESSION_GUARD_CAUGHT_UP, wired.clock(), SYSTEM,
        "system", {"role_arn": pending_grant.role_arn})]
    assert stored.updated_at == wired.clock()
    assert wired.notes.kinds(pending_grant.id)[-1] == "session_guard_caught_up"


def test_while_the_account_still_refuses_the_grant_stays_pending_and_the_sweep_says_so(
        wired: fakes.Fakes, pending_grant: AccessRequest) -> None:
    wired.clock.advance(minutes=2)
    report = wired.broker.sweep(repair=False)
    assert report.done == {"session_guard_pending": 1} and report.errors == 1
    stored = wired.store.get(pending_grant.id)
    assert stored.guard_pending and stored.guard_retries == 1, "the next retry waits a minute"
    assert caught_up(wired, pending_grant.id) == []
    failed = [e for e in wired.store.events(pending_grant.id) if e.kind == "session_guard_failed"]
    assert [e.details["cut"] for e in failed] == ["grant"], "a refused retry is one event, not two"
    still = [e for e in wired.store.events(pending_grant.id) if e.kind == "session_guard_pending"][-1]
    assert still.details["retry_in_seconds"] == 60 and still.details["reason"]


def test_a_retry_on_a_stale_read_that_already_caught_up_changes_nothing(wired: fakes.Fakes,
                                                                       pending_grant: AccessRequest) -> None:
    wired.guards.unreachable = False
    wired.broker.retry_guard(pending_grant)
    wired.guards.guards.clear()  # a second write would show here
    again = wired.broker.retry_guard(pending_grant)
    assert again == wired.store.get(pending_grant.id) and not again.guard_pending
    assert wired.guards.guards == {} and len(caught_up(wired, pending_grant.id)) == 1


def test_two_sweepers_retrying_at_once_both_answer_with_the_stored_request(wired: fakes.Fakes,
                                                                          pending_grant: AccessRequest,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    wired.guards.unreachable = False
    change = wired.guards.change

    def and_a_twin_sweeper(*args: Any) -> Any:
        written = change(*args)
        monkeypatch.setattr(wired.guards, "change", change)
        wired.broker.retry_guard(wired.store.get(pending_grant.id))  # the twin lands its caught_up first
        return written

    monkeypatch.setattr(wired.guards, "change", and_a_twin_sweeper)
    answer = wired.broker.retry_guard(pending_grant)
    assert answer == wired.store.get(pending_grant.id) and not answer.guard_pending
    assert len(caught_up(wired, pending_grant.id)) == 1
    assert cuts(wired, pending_grant) == {expiry_cut(pending_grant)}


# -- an ended grant


def test_a_revoke_the_account_refused_is_retried_as_the_revoke_cut(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.clock.advance(minutes=10)
    wired.guards.unreachable = True
    revoked = wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    assert revoked.guard_pending and cuts(wired, grant) == {expiry_cut(grant)}, "the expiry cut is all there is"
    revoked_at = wired.clock()
    wired.guards.unreachable = False
    wired.clock.advance(minutes=1)
    report = wired.broker.sweep(repair=False)
    assert report.done == {"session_guard_written": 1}
    assert cuts(wired, grant) == {revoke_cut(revoked_at)}
    stored = wired.store.get(grant.id)
    assert stored.state == State.REVOKED and not stored.guard_pending
    assert kinds(wired, grant.id)[-1] == "session_guard_caught_up"


def test_a_retried_revoke_keeps_the_person_s_other_live_grant_s_expiry_cut(wired: fakes.Fakes) -> None:
    other, grant = granted(wired, "3h"), granted(wired, "1h")
    wired.clock.advance(minutes=10)
    wired.guards.unreachable = True
    wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    revoked_at = wired.clock()
    wired.guards.unreachable = False
    wired.broker.retry_guard(wired.store.get(grant.id))
    assert cuts(wired, grant) == {revoke_cut(revoked_at), expiry_cut(other)}


def test_an_expiry_the_account_refused_is_retried_as_the_expiry_cut(wired: fakes.Fakes,
                                                                   pending_grant: AccessRequest) -> None:
    wired.clock.advance(hours=1)
    wired.broker.expire(wired.store.get(pending_grant.id))
    assert wired.store.get(pending_grant.id).guard_pending
    wired.guards.unreachable = False
    retried = wired.broker.retry_guard(wired.store.get(pending_grant.id))
    assert retried.state == State.EXPIRED and not retried.guard_pending
    assert cuts(wired, pending_grant) == {expiry_cut(pending_grant)}


def test_a_pending_flag_on_a_request_that_owes_no_cut_is_cleared_without_touching_the_guard(
        wired: fakes.Fakes) -> None:
    request = ask(wired)
    denied = wired.broker.deny(as_(wired, APPROVER), request.id)
    wired.store.requests[denied.id] = dataclasses.replace(denied, guard_pending=True)  # as an older broker left it
    cleared = wired.broker.retry_guard(wired.store.get(denied.id))
    assert not cleared.guard_pending and cleared.state == State.DENIED
    assert wired.guards.guards == {}
    assert kinds(wired, denied.id)[-1] == "session_guard_caught_up"


# -- the domain's record of it


def test_the_guard_flag_changes_only_to_the_other_value_with_its_own_event() -> None:
    wired = fakes.broker()
    request, now = ask(wired), wired.clock.advance(minutes=5)
    pending, kind = request.guarded(True, now)
    assert pending.guard_pending and pending.updated_at == now and kind == EventKind.SESSION_GUARD_PENDING
    written, kind = pending.guarded(False, now)
    assert not written.guard_pending and written.updated_at == now and kind == EventKind.SESSION_GUARD_CAUGHT_UP
    with pytest.raises(Conflict, match=f"^the session guard of request {request.id} is already pending$"):
        pending.guarded(True, now)
    with pytest.raises(Conflict, match=f"^the session guard of request {request.id} is already written$"):
        request.guarded(False, now)


# -- the whole-role fallback


def test_the_whole_role_fallback_reports_how_many_statements_the_guard_kept(wired: fakes.Fakes) -> None:
    now = wired.clock()
    crowded = Guard(frozenset(Cut(now - timedelta(minutes=n), REVOKE, f"person-{n:02d}") for n in range(60)))
    wired.guards.guards[("222222222222", "arn:aws:iam::222222222222:role/switch-role-for-S3")] = crowded
    grant = granted(wired)
    assert {c.kind for c in cuts(wired, grant)} == {ROLE, EXPIRY}, "the revokes in force fold; the new grant's stays"
    (fell_back,) = [e for e in wired.store.events(grant.id) if e.kind == "session_guard_whole_role"]
    assert fell_back.details["statements"] == 2


def test_a_retry_that_falls_back_to_the_whole_role_cut_says_the_retry_wrote_it(wired: fakes.Fakes,
                                                                              pending_grant: AccessRequest) -> None:
    now = wired.clock()
    wired.guards.guards[("222222222222", pending_grant.role_arn)] = Guard(frozenset(
        Cut(now + timedelta(minutes=n + 10), EXPIRY, f"person-{n:03d}") for n in range(80)))
    wired.guards.unreachable = False
    wired.clock.advance(minutes=2)
    wired.broker.sweep(repair=False)
    (fell_back,) = [e for e in wired.store.events(pending_grant.id) if e.kind == "session_guard_whole_role"]
    assert fell_back.details["cut"] == "retry", "the security channel reads which write fell back"
