"""What one sweep pass does for each due request (Broker.sweep_due, called by chalicelib/sweeper.py), on the in-memory
adapters: reminders to approvers and expiry warnings (once each, with the facts their messages show), timing out a
pending request, expiring a grant, applying a grant approved but never applied, retrying a session-guard write the
target account refused, lapsing a cut that can no longer match a session, and stale index reads that change nothing.
Each pass is checked at its boundary: one second before, nothing; at the moment, the step. The same flows run against
the local AWS world in tests/expiry."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import schedule
from chalicelib.domain.errors import Conflict
from chalicelib.domain.requests import AccessRequest, State
from chalicelib.service.sweeping import SweepReport
from tests import fakes
from tests.fakes import approved_not_applied, as_, ask, granted, kinds, reads_of

REQUESTER, APPROVER = "s3-access", "bob"
SYSTEM = "access-broker"
START = fakes.Clock().now  # every wired broker's clock starts here: the request is created at START


def at(**delta: float) -> datetime:
    return START + timedelta(**delta)


def pass_at(wired: fakes.Fakes, **delta: float) -> SweepReport:
    """One sweep pass (without drift repair) with the clock set `delta` after START."""
    wired.clock.now = at(**delta)
    return wired.broker.sweep(repair=False)


def last(wired: fakes.Fakes, request_id: str, kind: str):
    events = [e for e in wired.store.events(request_id) if e.kind == kind]
    assert events, f"no {kind} event in {[e.kind for e in wired.store.events(request_id)]}"
    return events[-1]


def without_profiles(wired: fakes.Fakes) -> fakes.Fakes:
    """The catalog as it is after its only profile was removed (a reviewed change to the YAML)."""
    return wired.rewired(catalog=dataclasses.replace(wired.broker.catalog, profiles={}))


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker()


# -- reminders to approvers


def test_approvers_are_reminded_once_at_reminder_after_naming_them_and_the_deadline(wired: fakes.Fakes) -> None:
    request = ask(wired)
    assert not pass_at(wired, minutes=14, seconds=59), "nothing before reminder_after (15 minutes)"
    assert pass_at(wired, minutes=15).done == {"reminder_sent": 1}
    stored = wired.store.get(request.id)
    assert stored.reminded_at == at(minutes=15) and stored.state == State.PENDING
    assert stored.due_at == at(hours=1), "next due: the approval timeout"
    reminder = last(wired, request.id, "reminder_sent")
    assert (reminder.actor, reminder.channel, reminder.at) == (SYSTEM, "system", at(minutes=15))
    assert reminder.details == {"approvers": ["bob", "carol"], "timeout_at": "2026-11-28T13:00:00Z"}
    assert wired.notes.kinds(request.id) == ["created", "reminder_sent"], "the approvers hear of it"
    assert not pass_at(wired, minutes=30), "once only"
    assert kinds(wired, request.id).count("reminder_sent") == 1


def test_a_reminder_follows_the_profile_s_own_timing() -> None:
    wired = fakes.broker(fakes.catalog(approval_timeout="30m", reminder_after="10m"))
    request = ask(wired)
    assert wired.store.get(request.id).due_at == at(minutes=10)
    assert not pass_at(wired, minutes=9, seconds=59)
    assert pass_at(wired, minutes=10).done == {"reminder_sent": 1}
    assert last(wired, request.id, "reminder_sent").details["timeout_at"] == "2026-11-28T12:30:00Z"
    assert wired.store.get(request.id).due_at == at(minutes=30)


def test_no_reminder_when_the_timeout_comes_first() -> None:
    wired = fakes.broker(fakes.catalog(approval_timeout="10m", reminder_after="10m"))
    request = ask(wired)
    assert wired.store.get(request.id).due_at == at(minutes=10)
    assert pass_at(wired, minutes=10).done == {"timed_out": 1}
    assert "reminder_sent" not in kinds(wired, request.id)


def test_a_reminder_read_before_it_is_due_changes_nothing(wired: fakes.Fakes) -> None:
    request = ask(wired)
    wired.clock.now = at(minutes=10)
    with pytest.raises(Conflict, match=f"nothing is due for request {request.id} yet"):
        wired.broker.sweep_due(wired.store.get(request.id))
    assert kinds(wired, request.id) == ["created"] and wired.store.get(request.id).reminded_at is None


def test_a_request_cancelled_after_the_index_read_reminds_nobody(wired: fakes.Fakes) -> None:
    request = ask(wired)
    wired.clock.now = at(minutes=15)
    stale = next(wired.store.due(State.PENDING, wired.clock()))
    wired.broker.cancel(as_(wired, REQUESTER), request.id)
    with pytest.raises(Conflict):
        wired.broker.sweep_due(stale)
    assert kinds(wired, request.id) == ["created", "cancelled"]
    assert wired.store.get(request.id).state == State.CANCELLED


# -- timing out a pending request


def test_a_pending_request_times_out_at_its_approval_timeout(wired: fakes.Fakes) -> None:
    request = ask(wired)
    pass_at(wired, minutes=15)  # the reminder
    assert not pass_at(wired, minutes=59, seconds=59)
    assert pass_at(wired, hours=1).done == {"timed_out": 1}
    stored = wired.store.get(request.id)
    assert (stored.state, stored.decided_by, stored.updated_at) == (State.TIMED_OUT, SYSTEM, at(hours=1))
    assert stored.due_at is None and schedule.due_entry(stored) is None, "nothing more is due"
    event = last(wired, request.id, "timed_out")
    assert (event.actor, event.channel, event.at) == (SYSTEM, "system", at(hours=1))
    assert wired.notes.kinds(request.id)[-1] == "timed_out", "the requester hears of it"
    assert not pass_at(wired, hours=2)


def test_a_request_past_its_timeout_times_out_without_a_late_reminder(wired: fakes.Fakes) -> None:
    request = ask(wired)
    assert pass_at(wired, hours=3).done == {"timed_out": 1}, "the sweeper was down for hours"
    assert kinds(wired, request.id) == ["created", "timed_out"]


@pytest.mark.parametrize("decision", ["approve", "deny"])
def test_a_decision_at_the_timeout_is_refused_naming_the_deadline(wired: fakes.Fakes, decision: str) -> None:
    request = ask(wired)
    wired.clock.now = at(hours=1)
    with pytest.raises(Conflict) as refused:
        getattr(wired.broker, decision)(as_(wired, APPROVER), request.id)
    assert refused.value.detail == (f"request {request.id} timed out at 2026-11-28T13:00:00Z waiting for approval; "
                                    f"ask for access again")
    assert refused.value.extra == {"state": "timed_out"}
    stored = wired.store.get(request.id)
    assert stored.state == State.TIMED_OUT and stored.decided_by == SYSTEM, "recorded at once, not at the next sweep"
    assert last(wired, request.id, "timed_out").actor == SYSTEM
    assert wired.grants.policies == {}


def test_a_denial_just_before_the_timeout_counts(wired: fakes.Fakes) -> None:
    request = ask(wired)
    wired.clock.now = at(minutes=59, seconds=59)
    assert wired.broker.deny(as_(wired, APPROVER), request.id).state == State.DENIED


def test_a_decision_after_the_sweeper_timed_it_out_says_so(wired: fakes.Fakes) -> None:
    request = ask(wired)
    pass_at(wired, hours=1)
    with pytest.raises(Conflict, match="already timed out by access-broker"):
        wired.broker.approve(as_(wired, APPROVER), request.id)
    assert kinds(wired, request.id).count("timed_out") == 1


def test_a_pending_request_whose_profile_left_the_catalog_times_out_at_once(wired: fakes.Fakes) -> None:
    request = ask(wired)
    wired = without_profiles(wired)
    wired.clock.now = at(minutes=1)
    with pytest.raises(Conflict, match="timed out at 2026-11-28T12:00:00Z"):
        wired.broker.approve(wired.broker.caller_from_slack("U01BOB"), request.id)
    assert wired.store.get(request.id).state == State.TIMED_OUT


def test_the_sweeper_times_out_a_request_whose_profile_left_the_catalog(wired: fakes.Fakes) -> None:
    request = ask(wired)
    wired = without_profiles(wired)
    assert pass_at(wired, minutes=15).done == {"timed_out": 1}, "no reminder to approvers no longer listed"
    assert kinds(wired, request.id) == ["created", "timed_out"]


# -- expiry warnings


def test_the_requester_is_warned_once_ten_minutes_before_the_end(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    assert not pass_at(wired, minutes=49, seconds=59)
    assert pass_at(wired, minutes=50).done == {"expiry_warning": 1}
    stored = wired.store.get(grant.id)
    assert stored.warned_at == at(minutes=50) and stored.state == State.ACTIVE
    assert stored.due_at == at(hours=1), "next due: the expiry"
    warning = last(wired, grant.id, "expiry_warning")
    assert (warning.actor, warning.channel) == (SYSTEM, "system")
    assert warning.details == {"expires_at": "2026-11-28T13:00:00Z", "extendable": True}
    assert wired.notes.kinds(grant.id)[-1] == "expiry_warning"
    assert not pass_at(wired, minutes=55), "once only"


def test_a_short_grant_is_warned_half_way() -> None:
    wired = fakes.broker(fakes.catalog(min_duration="1m"))
    grant = granted(wired, "2m")
    assert not pass_at(wired, seconds=59)
    assert pass_at(wired, minutes=1).done == {"expiry_warning": 1}
    assert wired.store.get(grant.id).due_at == at(minutes=2)


def test_the_warning_offers_no_extension_where_the_profile_allows_none() -> None:
    wired = fakes.broker(fakes.catalog(extension={"allowed": False}))
    grant = granted(wired)
    pass_at(wired, minutes=50)
    assert last(wired, grant.id, "expiry_warning").details["extendable"] is False


def test_the_warning_offers_no_extension_once_the_profile_left_the_catalog(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired = without_profiles(wired)
    assert pass_at(wired, minutes=50).done == {"expiry_warning": 1}
    assert last(wired, grant.id, "expiry_warning").details == {"expires_at": "2026-11-28T13:00:00Z",
                                                              "extendable": False}
    assert pass_at(wired, hours=1).done == {"expired": 1}, "the grant still ends at its recorded end"


def test_an_extension_after_the_index_read_postpones_the_warning_to_the_new_end() -> None:
    wired = fakes.broker(fakes.catalog(extension={"auto_approve": True}))
    grant = granted(wired)
    wired.clock.now = at(minutes=50)
    stale = next(wired.store.due(State.ACTIVE, wired.clock()))
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "1h")
    with pytest.raises(Conflict, match=f"nothing is due for request {grant.id} yet"):
        wired.broker.sweep_due(stale)
    assert "expiry_warning" not in kinds(wired, grant.id)
    assert not pass_at(wired, hours=1, minutes=49, seconds=59)
    assert pass_at(wired, hours=1, minutes=50).done == {"expiry_warning": 1}
    assert last(wired, grant.id, "expiry_warning").details["expires_at"] == "2026-11-28T14:00:00Z"


def test_a_warning_read_twice_is_sent_once(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.clock.now = at(minutes=51)
    stale = next(wired.store.due(State.ACTIVE, wired.clock()))
    assert wired.broker.sweep_due(stale) == "expiry_warning"
    with pytest.raises(Conflict):
        wired.broker.sweep_due(stale)
    assert kinds(wired, grant.id).count("expiry_warning") == 1
    assert wired.notes.kinds(grant.id).count("expiry_warning") == 1


# -- expiry


def test_a_grant_expires_at_its_end_and_its_policy_goes(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    policy = wired.grants.policy_arn(grant.id)
    assert wired.grants.attached_users(policy) == [REQUESTER]
    pass_at(wired, minutes=50)  # the warning
    assert not pass_at(wired, minutes=59, seconds=59)
    assert wired.store.get(grant.id).state == State.ACTIVE and wired.grants.attached_users(policy) == [REQUESTER]
    assert pass_at(wired, hours=1).done == {"expired": 1}
    stored = wired.store.get(grant.id)
    assert (stored.state, stored.decided_by, stored.ended_at) == (State.EXPIRED, SYSTEM, at(hours=1))
    assert wired.grants.policies == {} and wired.grants.attached == {}
    event = last(wired, grant.id, "expired")
    assert (event.actor, event.channel, event.at) == (SYSTEM, "system", at(hours=1))
    assert wired.notes.kinds(grant.id)[-1] == "expired"
    assert stored.due_at == at(hours=2, minutes=5), "its cut stands an hour and the margin after the end"


def test_a_grant_never_warned_still_ends_at_its_end(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    assert pass_at(wired, hours=1, minutes=30).done == {"expired": 1}, "the sweeper was down past the warning"
    assert "expiry_warning" not in kinds(wired, grant.id)
    assert wired.grants.policies == {}


def test_an_extension_after_the_index_read_keeps_the_grant() -> None:
    wired = fakes.broker(fakes.catalog(extension={"auto_approve": True}))
    grant = granted(wired)
    pass_at(wired, minutes=50)  # the warning
    stale = wired.store.get(grant.id)  # what the sweeper read, just before the extension landed
    wired.clock.now = at(minutes=59)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    wired.clock.now = at(hours=1)
    with pytest.raises(Conflict) as refused:
        wired.broker.sweep_due(stale)
    assert refused.value.detail == f"the grant of request {grant.id} now ends at 2026-11-28T13:30:00Z"
    stored = wired.store.get(grant.id)
    assert stored.state == State.ACTIVE and "expired" not in kinds(wired, grant.id)
    assert wired.grants.attached_users(wired.grants.policy_arn(grant.id)) == [REQUESTER]
    assert wired.grants.expiry_of(grant.id) == "2026-11-28T13:30:00Z"


# -- a grant approved but never applied (a crash between the approval and IAM)


def test_an_approved_grant_never_applied_is_applied_two_minutes_later(wired: fakes.Fakes) -> None:
    request = approved_not_applied(wired)
    assert not pass_at(wired, minutes=1, seconds=59)
    assert pass_at(wired, minutes=2).done == {"active": 1}
    stored = wired.store.get(request.id)
    assert stored.state == State.ACTIVE and stored.grant and stored.grant.expires_at == at(hours=1)
    assert wired.grants.attached_users(wired.grants.policy_arn(request.id)) == [REQUESTER]
    assert last(wired, request.id, "activated").actor == SYSTEM


def test_an_approved_grant_never_applied_past_its_end_expires_and_is_never_applied(wired: fakes.Fakes) -> None:
    request = approved_not_applied(wired)
    assert pass_at(wired, hours=1).done == {"expired": 1}, "the sweeper was down past the grant's end"
    stored = wired.store.get(request.id)
    assert stored.state == State.EXPIRED and stored.decided_by == SYSTEM
    assert kinds(wired, request.id) == ["created", "approved", "expired"]
    assert wired.grants.policies == {} and wired.grants.attached == {}


# -- session guard writes the target account refused


def test_a_grant_s_expiry_cut_refused_by_the_target_account_is_retried_every_pass(wired: fakes.Fakes) -> None:
    wired.guards.unreachable = True
    grant = granted(wired)
    assert grant.guard_pending and grant.state == State.ACTIVE
    report = pass_at(wired, minutes=1)
    assert report.done == {"session_guard_pending": 1} and report.errors == 1
    assert wired.store.get(grant.id).guard_pending
    wired.guards.unreachable = False
    assert pass_at(wired, minutes=2).done == {"session_guard_written": 1}
    stored = wired.store.get(grant.id)
    assert not stored.guard_pending and stored.due_at == at(minutes=50), "next due: the warning"
    assert "session_guard_caught_up" in kinds(wired, grant.id)
    assert "expiry_warning" not in kinds(wired, grant.id)
    assert not pass_at(wired, minutes=49, seconds=59)


def test_a_cut_written_at_the_warning_moment_warns_in_the_same_pass(wired: fakes.Fakes) -> None:
    wired.guards.unreachable = True
    grant = granted(wired)
    wired.guards.unreachable = False
    assert pass_at(wired, minutes=50).done == {"expiry_warning": 1}
    assert kinds(wired, grant.id)[-2:] == ["session_guard_caught_up", "expiry_warning"]


def test_a_cut_written_just_before_the_warning_moment_does_not_warn_early(wired: fakes.Fakes) -> None:
    wired.guards.unreachable = True
    grant = granted(wired)
    wired.guards.unreachable = False
    assert pass_at(wired, minutes=49, seconds=59).done == {"session_guard_written": 1}
    assert "expiry_warning" not in kinds(wired, grant.id)


def test_a_revoke_s_cut_refused_is_written_later_and_lapses_only_on_a_later_pass(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.guards.unreachable = True
    wired.clock.now = at(minutes=10)
    revoked = wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    assert revoked.state == State.REVOKED and revoked.guard_pending
    assert pass_at(wired, minutes=11).done == {"session_guard_pending": 1}
    wired.guards.unreachable = False
    wired.clock.now = at(minutes=40)
    owed = next(wired.store.due(schedule.GUARD_DUE, wired.clock()))
    assert wired.broker.sweep_due(owed) == "session_guard_written", "one step for one index entry"
    assert not wired.store.get(grant.id).cut_lapsed
    assert pass_at(wired, hours=3).done == {"session_cut_lapsed": 1}, "the cut-stands entry is read after"


def test_a_cut_the_account_never_takes_is_retried_ever_less_often_then_owed_no_more(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.guards.unreachable = True
    wired.clock.now = at(minutes=10)
    wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    retried = [m for m in range(11, 80) if pass_at(wired, minutes=m).done.get("session_guard_pending")]
    assert retried == [11, 12, 14, 18, 26, 42, 74], "at once, then 1, 2, 4, 8, 16, 32 minutes after each refusal"
    assert wired.store.get(grant.id).guard_retries == len(retried)
    assert pass_at(wired, minutes=80).done == {}, "the next retry waits an hour at most"
    assert pass_at(wired, minutes=74 + 60).done == {"session_cut_lapsed": 1}, "lapsed: owed no more, said once"
    stored = wired.store.get(grant.id)
    assert not stored.guard_pending and stored.cut_lapsed and schedule.due_entry(stored) is None
    lapsed = last(wired, grant.id, "session_cut_lapsed")
    assert "never took the cut" in lapsed.details["reason"]
    assert not pass_at(wired, hours=5), "nothing more to do for it"


# -- a stood cut lapses


def test_a_revoked_grant_s_cut_stands_until_it_can_match_no_session(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.clock.now = at(minutes=10)
    wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    assert wired.store.get(grant.id).due_at == at(minutes=75)
    assert not pass_at(wired, minutes=74, seconds=59)
    assert pass_at(wired, minutes=75).done == {"session_cut_lapsed": 1}
    stored = wired.store.get(grant.id)
    assert stored.cut_lapsed and stored.state == State.REVOKED and schedule.due_entry(stored) is None
    event = last(wired, grant.id, "session_cut_lapsed")
    assert (event.actor, event.channel, event.at) == (SYSTEM, "system", at(minutes=75))
    assert not pass_at(wired, hours=5)


def test_a_lapsed_cut_leaves_the_role_s_guard_though_nobody_is_granted_it_again(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.clock.now = at(minutes=10)
    wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    assert fakes.cuts(wired, grant), "the revoke's cut stands"
    pass_at(wired, minutes=75)
    assert fakes.cuts(wired, grant) == frozenset(), "a cut that can match no session is pruned when it lapses"


def test_a_lapse_read_twice_is_recorded_once(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    wired.clock.now = at(hours=2)
    stale = next(wired.store.due(schedule.CUT_STANDS, wired.clock()))
    assert wired.broker.sweep_due(stale) == "session_cut_lapsed"
    with pytest.raises(Conflict, match=f"request {grant.id} has no standing cut"):
        wired.broker.sweep_due(stale)
    assert kinds(wired, grant.id).count("session_cut_lapsed") == 1


# -- what a pass reads: the due entries, and nothing else (the budget tests/perf pins against DynamoDB)


def revoked_at_start(wired: fakes.Fakes) -> AccessRequest:
    return wired.broker.revoke(as_(wired, REQUESTER), granted(wired).id)


@pytest.mark.parametrize("make, minutes, done", [
    (ask, 15, "reminder_sent"), (ask, 60, "timed_out"), (granted, 50, "expiry_warning"), (granted, 60, "expired"),
    (revoked_at_start, 65, "session_cut_lapsed"),
])
def test_each_step_acts_on_the_entry_the_index_gave_without_reading_it_again(
        wired: fakes.Fakes, make: Any, minutes: int, done: str) -> None:
    request = make(wired)
    reads = reads_of(wired)
    assert pass_at(wired, minutes=minutes).done == {done: 1}
    assert reads == [], f"the {done} step read request {request.id} again: the write's version condition suffices"


# -- the domain steps behind them (chalicelib/domain/requests.py)


def stored_request(wired: fakes.Fakes, **changes: Any) -> AccessRequest:
    return dataclasses.replace(wired.store.get(ask(wired).id), **changes)


def test_only_a_pending_request_is_reminded_once(wired: fakes.Fakes) -> None:
    request = stored_request(wired)
    reminded, kind = request.remind(at(minutes=15))
    assert kind == "reminder_sent" and reminded.reminded_at == reminded.updated_at == at(minutes=15)
    assert dataclasses.replace(reminded, reminded_at=None, updated_at=request.updated_at) == request
    with pytest.raises(Conflict, match=f"approvers of request {request.id} were already reminded"):
        reminded.remind(at(minutes=16))
    with pytest.raises(Conflict, match="is already denied; only a request that is pending can be reminded about"):
        dataclasses.replace(request, state=State.DENIED).remind(at(minutes=15))


def test_only_an_active_grant_s_requester_is_warned_once(wired: fakes.Fakes) -> None:
    request = stored_request(wired, state=State.ACTIVE)
    warned, kind = request.warn(at(minutes=50))
    assert kind == "expiry_warning" and warned.warned_at == warned.updated_at == at(minutes=50)
    assert dataclasses.replace(warned, warned_at=None, updated_at=request.updated_at) == request
    with pytest.raises(Conflict, match=f"the requester of request {request.id} was already warned"):
        warned.warn(at(minutes=51))
    with pytest.raises(Conflict, match="is already pending; only a request that is active can be warned about"):
        dataclasses.replace(request, state=State.PENDING).warn(at(minutes=50))


def test_only_a_pending_request_times_out(wired: fakes.Fakes) -> None:
    request = stored_request(wired)
    timed_out, kind = request.time_out(at(hours=1))
    assert kind == "timed_out"
    assert (timed_out.state, timed_out.decided_by, timed_out.updated_at) == (State.TIMED_OUT, SYSTEM, at(hours=1))
    with pytest.raises(Conflict, match="already timed out by access-broker; only a request that is pending can be "
                                       "timed out"):
        timed_out.time_out(at(hours=2))


@pytest.mark.parametrize("state, lapsed", [(State.ACTIVE, False), (State.PENDING, False), (State.REVOKED, True)])
def test_only_an_ended_request_s_standing_cut_lapses(wired: fakes.Fakes, state: State, lapsed: bool) -> None:
    request = stored_request(wired, state=state, cut_lapsed=lapsed)
    with pytest.raises(Conflict, match=f"request {request.id} has no standing cut"):
        request.lapse_cut(at(hours=2))


def test_a_lapsed_cut_is_recorded_on_the_ended_request(wired: fakes.Fakes) -> None:
    request = stored_request(wired, state=State.EXPIRED)
    lapsed, kind = request.lapse_cut(at(hours=2))
    assert kind == "session_cut_lapsed" and lapsed.cut_lapsed and lapsed.updated_at == at(hours=2)
    assert dataclasses.replace(lapsed, cut_lapsed=False, updated_at=request.updated_at) == request
