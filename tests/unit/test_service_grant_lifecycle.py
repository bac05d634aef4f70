"""A grant's life on the in-memory adapters (tests/fakes.py): applying it (the expiry cut before the attach, IAM
refusing, a profile removed meanwhile, a revoke landing while IAM attaches, a twin run), ending it (the record first,
then the cut and the detach), the one write funnel and its lost races, notifications that fail without undoing
anything, and who may cancel or revoke. What an operator reads is asserted: states, the audit trail's events and
their details, notifications, alerts, log lines, and what IAM and the session guard hold afterwards.
Extensions: test_service_extensions.py. The basic flows: test_broker_rules.py."""
from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta
from typing import Callable

import pytest

from chalicelib.aws.iam_grants import policy_document
from chalicelib.aws.links import switch_role_url
from chalicelib.domain.errors import Conflict, Forbidden, NotFound
from chalicelib.domain.events import SYSTEM
from chalicelib.domain.requests import AccessRequest, Event, Grant, State
from chalicelib.domain.session_guard import Cut, Guard
from chalicelib.domain.times import rfc3339
from chalicelib.ports import GrantError, StaleWrite
from tests import fakes
from tests.fakes import approved_not_applied, as_, ask, granted, in_slack, reads_of

REQUESTER, APPROVER, OTHER_APPROVER, OUTSIDER = "s3-access", "bob", "carol", "alice"
REASON = "fixing the export job"
PROFILE = "s3-prod"
UNREACHABLE = "the guard role of account 222222222222 cannot be assumed"


def trail(wired: fakes.Fakes, request_id: str) -> list[str]:
    return [e.kind for e in wired.store.events(request_id)]


def event(wired: fakes.Fakes, request_id: str, kind: str) -> Event:
    (found,) = [e for e in wired.store.events(request_id) if e.kind == kind]
    return found


def role_arn(wired: fakes.Fakes) -> str:
    return wired.broker.catalog.profiles[PROFILE].role_arn


def guard(wired: fakes.Fakes) -> Guard:
    return wired.guards.read("222222222222", role_arn(wired))


def with_grants(wired: fakes.Fakes, grants: fakes.MemoryGrants) -> fakes.Fakes:
    return wired.rewired(grants=grants)


def without_profile(wired: fakes.Fakes) -> fakes.Fakes:
    """The catalog is reloaded without the request's profile."""
    return wired.rewired(catalog=dataclasses.replace(wired.broker.catalog, profiles={}))


class HalfwayGrants(fakes.MemoryGrants):
    """IAM that creates and attaches the grant policy, then refuses the last step (a throttled call, say)."""

    def apply(self, request_id: str, iam_user: str, role_arn: str, expires_at: datetime) -> str:
        super().apply(request_id, iam_user, role_arn, expires_at)
        raise GrantError("Throttling: rate exceeded")


class BusyGrants(fakes.MemoryGrants):
    """IAM that is slow to attach: `meanwhile` runs (once) before the attach completes."""

    def __init__(self) -> None:
        super().__init__()
        self.meanwhile: Callable[[], object] | None = None

    def apply(self, request_id: str, iam_user: str, role_arn: str, expires_at: datetime) -> str:
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile:
            meanwhile()
        return super().apply(request_id, iam_user, role_arn, expires_at)


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker()


# -- applying a grant


def test_an_activated_grant_records_its_policy_its_links_and_its_cut(wired: fakes.Fakes) -> None:
    request = ask(wired, "2h")
    approved_at = wired.clock.advance(minutes=5)
    grant = wired.broker.approve(as_(wired, APPROVER), request.id)
    end = approved_at + timedelta(hours=2)
    policy_arn = wired.grants.policy_arn(request.id)
    token = wired.broker.tokens.sign(request.id, end)
    assert grant.grant == Grant(
        role_arn=role_arn(wired), policy_arn=policy_arn, starts_at=approved_at, expires_at=end,
        switch_role_url=switch_role_url(wired.broker.catalog, wired.broker.catalog.profiles[PROFILE]),
        console_url=f"https://broker.example/v1/console/{token}", usable_at=approved_at)
    assert grant.state == State.ACTIVE and not grant.guard_pending
    assert wired.grants.policies == {policy_arn: policy_document(role_arn(wired), end)}
    assert wired.grants.attached_users(policy_arn) == [REQUESTER]
    assert guard(wired).cuts == {Cut(end, "expiry", REQUESTER)}, "the expiry cut ends open sessions at the end"
    activated = wired.store.events(request.id)[-1]
    assert activated == Event(request.id, 3, "activated", approved_at, SYSTEM, "system", {
        "policy_arn": policy_arn, "expires_at": rfc3339(end), "session_guard": "written"})
    assert wired.notes.kinds(request.id) == ["created", "approved", "activated"]
    assert wired.store.get(request.id) == grant


def test_an_unreachable_target_account_is_recorded_with_the_grant(wired: fakes.Fakes,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    wired.guards.unreachable = True
    request = ask(wired)
    with caplog.at_level(logging.WARNING, logger="chalicelib.service"):
        grant = wired.broker.approve(as_(wired, APPROVER), request.id)
    assert grant.state == State.ACTIVE and grant.guard_pending
    assert trail(wired, request.id) == ["created", "approved", "session_guard_failed", "activated"]
    assert event(wired, request.id, "session_guard_failed") == Event(
        request.id, 2, "session_guard_failed", wired.clock(), SYSTEM, "system",
        {"cut": "grant", "role_arn": role_arn(wired), "reason": UNREACHABLE})
    assert event(wired, request.id, "activated").details["session_guard"] == "pending"
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert record.getMessage() == f"session guard of request {request.id} pending: {UNREACHABLE}"


def test_a_broker_guarding_no_target_account_never_records_a_cut_as_written(wired: fakes.Fakes) -> None:
    wired = wired.rewired(sessions=None)
    grant = granted(wired)
    assert grant.state == State.ACTIVE and grant.guard_pending
    assert event(wired, grant.id, "activated").details["session_guard"] == "pending"
    assert "session_guard_failed" not in trail(wired, grant.id)


def crowded_guard(wired: fakes.Fakes, people: int = 80) -> None:
    """The role's guard already holds so many people's expiry cuts that one more no longer fits IAM's budget."""
    now = wired.clock()
    wired.guards.guards[("222222222222", role_arn(wired))] = Guard(frozenset(
        Cut(now + timedelta(minutes=n + 1), "expiry", f"person-{n:03d}") for n in range(people)))


def test_a_fall_back_to_the_whole_role_cut_is_recorded_announced_and_alerted(wired: fakes.Fakes) -> None:
    crowded_guard(wired)
    grant = granted(wired)
    assert grant.state == State.ACTIVE and not grant.guard_pending, "the whole-role cut stands: written"
    folded = guard(wired).policy()
    assert folded is not None
    whole_role = event(wired, grant.id, "session_guard_whole_role")
    assert whole_role == Event(grant.id, 2, "session_guard_whole_role", wired.clock(), SYSTEM, "system", {
        "cut": "grant", "role_arn": role_arn(wired), "statements": len(folded["Statement"]),
        "security_channel": "C01SECURITY"})
    assert "session_guard_whole_role" in wired.notes.kinds(grant.id)
    (alert,) = wired.notes.alerts
    assert role_arn(wired) in alert and "whole-role cut" in alert
    assert event(wired, grant.id, "activated").details["session_guard"] == "written"


def test_a_guard_that_fits_raises_no_alarm(wired: fakes.Fakes) -> None:
    crowded_guard(wired, people=3)
    grant = granted(wired)
    assert "session_guard_whole_role" not in trail(wired, grant.id) and wired.notes.alerts == []


def test_iam_refusing_the_grant_fails_it_and_the_sweeper_is_told_to_clean_up(
        wired: fakes.Fakes, caplog: pytest.LogCaptureFixture) -> None:
    wired.grants.refuse = "AccessDenied: not allowed"
    request = ask(wired)
    with caplog.at_level(logging.WARNING, logger="chalicelib.service"):
        failed = wired.broker.approve(as_(wired, APPROVER), request.id)
    assert failed.state == State.FAILED and failed.failure_reason == "AccessDenied: not allowed"
    assert failed.ended_at == wired.clock()
    assert trail(wired, request.id) == ["created", "approved", "cleanup_pending", "failed"]
    assert event(wired, request.id, "failed") == Event(request.id, 3, "failed", wired.clock(), SYSTEM, "system",
                                                       {"reason": "AccessDenied: not allowed"})
    assert event(wired, request.id, "cleanup_pending") == Event(
        request.id, 2, "cleanup_pending", wired.clock(), SYSTEM, "system", {"reason": "AccessDenied: not allowed"})
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"grant policy of request {request.id} not removed yet (the sweeper retries): AccessDenied: not allowed"]
    assert "failed" in wired.notes.kinds(request.id), "the requester hears of it"


def test_a_grant_iam_refused_half_way_leaves_nothing_attached(wired: fakes.Fakes) -> None:
    wired = with_grants(wired, HalfwayGrants())
    failed = granted(wired)
    assert failed.state == State.FAILED and failed.failure_reason == "Throttling: rate exceeded"
    assert wired.grants.policies == {} and wired.grants.attached == {}
    assert "cleanup_pending" not in trail(wired, failed.id)


def test_a_failed_break_glass_grant_gives_its_name_back() -> None:
    glass = fakes.broker(fakes.catalog(break_glass=True))
    glass.grants.refuse = "AccessDenied: not allowed"
    reason = "prod is down and nobody can approve now"
    failed = glass.broker.request_access(as_(glass, REQUESTER), PROFILE, "30m", reason, break_glass=True)
    assert failed.state == State.FAILED
    glass.grants.refuse = None
    again = glass.broker.request_access(as_(glass, REQUESTER), PROFILE, "30m", reason, break_glass=True)
    assert again.state == State.ACTIVE


def test_a_grant_whose_profile_was_removed_meanwhile_fails_and_attaches_nothing(wired: fakes.Fakes) -> None:
    stuck = approved_not_applied(wired)
    wired = without_profile(wired)
    wired.clock.advance(minutes=2)
    failed = wired.broker.apply_grant(stuck)
    reason = "profile s3-prod was removed from the catalog before the grant was applied"
    assert failed.state == State.FAILED and failed.failure_reason == reason
    assert event(wired, stuck.id, "failed") == Event(stuck.id, 3, "failed", wired.clock(), SYSTEM, "system", {
        "reason": reason, "session_guard": "written"}), "the run that died in IAM may have attached it: cut"
    assert wired.grants.policies == {}


def test_a_revoke_landing_while_iam_attaches_takes_the_policy_away_again(wired: fakes.Fakes) -> None:
    wired = with_grants(wired, BusyGrants())
    assert isinstance(wired.grants, BusyGrants)
    request = ask(wired)
    wired.grants.meanwhile = lambda: wired.broker.revoke(as_(wired, REQUESTER), request.id)
    answer = wired.broker.approve(as_(wired, APPROVER), request.id)
    assert answer.state == State.REVOKED and answer == wired.store.get(request.id)
    assert wired.grants.policies == {} and wired.grants.attached == {}
    assert "activated" not in trail(wired, request.id)


class AttachedThenSlow(fakes.MemoryGrants):
    """IAM that attaches the grant policy, then is slow to answer: `meanwhile` runs (once) before the answer."""

    def __init__(self) -> None:
        super().__init__()
        self.meanwhile: Callable[[], object] | None = None

    def apply(self, request_id: str, iam_user: str, role_arn: str, expires_at: datetime) -> str:
        arn = super().apply(request_id, iam_user, role_arn, expires_at)
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile:
            meanwhile()
        return arn


def test_a_revoke_of_a_grant_attached_but_not_yet_recorded_cuts_its_sessions(wired: fakes.Fakes) -> None:
    wired = with_grants(wired, AttachedThenSlow())
    assert isinstance(wired.grants, AttachedThenSlow)
    request = ask(wired)
    revoked_at = wired.clock.advance(minutes=1)
    wired.grants.meanwhile = lambda: wired.broker.revoke(as_(wired, REQUESTER), request.id)
    answer = wired.broker.approve(as_(wired, APPROVER), request.id)
    assert answer.state == State.REVOKED and wired.grants.attached == {}
    assert fakes.revoke_cut(revoked_at) in guard(wired).cuts, "a session opened in that moment is cut too"
    assert answer.sessions_end_by == revoked_at
    assert event(wired, request.id, "revoked").details["session_guard"] == "written"


def test_only_an_approved_request_can_be_activated(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    assert grant.grant is not None
    with pytest.raises(Conflict) as refused:
        grant.activate(grant.grant, wired.clock())
    assert str(refused.value) == (f"request {grant.id} is already approved by bob; only a request that is approved "
                                  f"can be activated")
    assert refused.value.extra == {"state": "active"}


def test_a_twin_run_of_an_applied_grant_keeps_it(wired: fakes.Fakes) -> None:
    stuck = approved_not_applied(wired)
    first = wired.broker.apply_grant(stuck)
    twin = wired.broker.apply_grant(stuck)  # the sweeper's retry, from the same stale read
    assert first.state == twin.state == State.ACTIVE and twin == wired.store.get(stuck.id)
    assert first.grant is not None
    assert wired.grants.attached_users(first.grant.policy_arn) == [REQUESTER]
    assert trail(wired, stuck.id).count("activated") == 1


def test_iam_refusing_a_grant_revoked_meanwhile_leaves_it_revoked(wired: fakes.Fakes) -> None:
    stuck = approved_not_applied(wired)
    wired.broker.revoke(as_(wired, REQUESTER), stuck.id)
    wired.grants.refuse = "AccessDenied: not allowed"
    with pytest.raises(Conflict, match="only a request that is approved or active can be marked failed"):
        wired.broker.apply_grant(stuck)
    assert wired.store.get(stuck.id).state == State.REVOKED


# -- ending a grant


def test_a_revoke_is_recorded_with_its_cut_then_the_policy_goes(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    revoked_at = wired.clock.advance(minutes=20)
    revoked = wired.broker.revoke(as_(wired, APPROVER), grant.id)
    assert revoked.state == State.REVOKED and revoked.decided_by == APPROVER and revoked.ended_at == revoked_at
    assert not revoked.guard_pending and guard(wired).cuts_ended(REQUESTER, revoked_at)
    assert wired.store.events(grant.id)[-1] == Event(grant.id, 4, "revoked", revoked_at, APPROVER, "api",
                                                    {"session_guard": "written"})
    assert wired.grants.policies == {}
    assert wired.notes.kinds(grant.id)[-1] == "revoked"


def test_a_revoke_the_target_account_refuses_is_recorded_pending(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.guards.unreachable = True
    revoked = wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    assert revoked.state == State.REVOKED and revoked.guard_pending
    assert event(wired, grant.id, "revoked").details == {"session_guard": "pending"}
    assert event(wired, grant.id, "session_guard_failed").details == {
        "cut": "revoked", "role_arn": role_arn(wired), "reason": UNREACHABLE}
    assert wired.grants.policies == {}, "the detach does not wait for the target account"


def test_a_removal_iam_refuses_is_noted_for_the_sweeper(wired: fakes.Fakes,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    grant = granted(wired)
    wired.grants.refuse = "Throttling: rate exceeded"
    with caplog.at_level(logging.WARNING, logger="chalicelib.service"):
        revoked = wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    assert revoked.state == State.REVOKED, "the end is recorded first"
    assert wired.grants.policies, "the policy is still there: the sweeper's drift repair removes it"
    assert revoked.detach_pending and event(wired, grant.id, "cleanup_pending") == Event(
        grant.id, revoked.version, "cleanup_pending", wired.clock(), SYSTEM, "system",
        {"reason": "Throttling: rate exceeded", "session_guard": "written"})
    (record,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert record.getMessage() == (f"grant policy of request {grant.id} not removed yet (the sweeper retries): "
                                   f"Throttling: rate exceeded")


def test_a_revoke_whose_detach_iam_refuses_keeps_every_session_within_the_grant_s_end(wired: fakes.Fakes) -> None:
    grant = granted(wired, "2h")
    revoked_at = wired.clock.advance(minutes=10)
    wired.grants.refuse = "Throttling: rate exceeded"
    revoked = wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    assert guard(wired).cuts == {fakes.revoke_cut(revoked_at), fakes.expiry_cut(grant)}, \
        "the policy still lets sessions open after the revoke's margin: they end at the grant's own end"
    assert revoked.sessions_end_by == grant.grant.expires_at, "and the request says so, not the revoke time"


def test_a_revoke_iam_detaches_keeps_no_expiry_cut_and_ends_sessions_at_the_revoke(wired: fakes.Fakes) -> None:
    grant = granted(wired, "2h")
    revoked_at = wired.clock.advance(minutes=10)
    revoked = wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    assert guard(wired).cuts == {fakes.revoke_cut(revoked_at)} and not revoked.detach_pending
    assert revoked.sessions_end_by == revoked_at


def test_an_expiry_owes_no_new_cut_and_removes_the_policy(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    assert grant.grant is not None
    wired.clock.now = grant.grant.expires_at
    expired = wired.broker.sweep_due(wired.store.get(grant.id))
    assert expired == "expired"
    stored = wired.store.get(grant.id)
    assert stored.decided_by == SYSTEM and stored.ended_at == grant.grant.expires_at
    assert event(wired, grant.id, "expired") == Event(grant.id, 4, "expired", grant.grant.expires_at, SYSTEM,
                                                      "system", {})
    assert wired.grants.policies == {}


def test_a_revoke_of_an_approved_grant_owes_a_cut_as_an_active_one_does(wired: fakes.Fakes) -> None:
    stuck = approved_not_applied(wired)  # its run died inside IAM: whether it attached, nobody knows
    revoked = wired.broker.revoke(as_(wired, APPROVER), stuck.id)
    assert revoked.state == State.REVOKED and not revoked.guard_pending
    assert event(wired, stuck.id, "revoked").details == {"session_guard": "written"}
    assert {c.kind for c in guard(wired).cuts} == {"revoke"}, "any session it opened is cut"


def test_only_an_active_or_approved_grant_can_be_revoked(wired: fakes.Fakes) -> None:
    request = ask(wired)
    with pytest.raises(Conflict, match="only a request that is active or approved can be revoked"):
        wired.broker.revoke(as_(wired, REQUESTER), request.id)
    assert wired.store.get(request.id).state == State.PENDING


# -- who may cancel and revoke


def test_the_requester_cancels_a_pending_request(wired: fakes.Fakes) -> None:
    request = ask(wired)
    cancelled = wired.broker.cancel(in_slack(wired, REQUESTER), request.id)
    assert cancelled.state == State.CANCELLED and cancelled.decided_by == REQUESTER
    assert wired.store.events(request.id)[-1] == Event(request.id, 2, "cancelled", wired.clock(), REQUESTER,
                                                      "slack", {})


def test_an_approver_is_told_only_the_requester_cancels(wired: fakes.Fakes) -> None:
    request = ask(wired)
    with pytest.raises(Forbidden) as refused:
        wired.broker.cancel(as_(wired, APPROVER), request.id)
    assert str(refused.value) == "only the requester can cancel a request"
    assert wired.store.get(request.id).state == State.PENDING


def test_someone_else_over_the_api_cannot_even_see_what_to_cancel(wired: fakes.Fakes) -> None:
    request = ask(wired)
    with pytest.raises(NotFound):
        wired.broker.cancel(as_(wired, OUTSIDER), request.id)


def test_a_granted_request_is_revoked_not_cancelled(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    with pytest.raises(Conflict, match="only a request that is pending can be cancelled"):
        wired.broker.cancel(as_(wired, REQUESTER), grant.id)


def test_a_removed_profile_s_grant_is_revoked_by_the_approvers_it_recorded(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired = without_profile(wired)
    with pytest.raises(Forbidden) as refused:
        wired.broker.revoke(in_slack(wired, OTHER_APPROVER), grant.id)  # an approver of the profile, not of this grant
    assert str(refused.value) == "only the requester or an approver of the profile can revoke a grant"
    assert wired.store.get(grant.id).state == State.ACTIVE
    revoked = wired.broker.revoke(as_(wired, APPROVER), grant.id)
    assert revoked.state == State.REVOKED and revoked.decided_by == APPROVER
    assert wired.grants.policies == {}


# -- the write funnel


class RacingStore(fakes.MemoryStore):
    """A table where someone else keeps writing first: the next `losses` conditional writes fail."""

    def __init__(self) -> None:
        super().__init__()
        self.losses = 0

    def transition(self, before: AccessRequest, after: AccessRequest, event: Event) -> AccessRequest:
        if self.losses:
            self.losses -= 1
            raise StaleWrite(before.id)
        return super().transition(before, after, event)


def racing(wired: fakes.Fakes) -> tuple[fakes.Fakes, RacingStore]:
    store = RacingStore()
    return wired.rewired(store=store), store


def test_a_few_lost_races_are_retried(wired: fakes.Fakes) -> None:
    wired, store = racing(wired)
    request = ask(wired)
    store.losses = 7
    assert wired.broker.cancel(as_(wired, REQUESTER), request.id).state == State.CANCELLED
    assert trail(wired, request.id) == ["created", "cancelled"]


def test_a_request_changing_too_quickly_is_a_conflict_and_nothing_is_recorded(wired: fakes.Fakes) -> None:
    wired, store = racing(wired)
    request = ask(wired)
    store.losses = 8
    with pytest.raises(Conflict, match=f"request {request.id} is changing too quickly; try again"):
        wired.broker.cancel(as_(wired, REQUESTER), request.id)
    assert wired.store.get(request.id).state == State.PENDING and trail(wired, request.id) == ["created"]


def test_each_change_is_recorded_at_its_time_and_queued_for_the_sweeper(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    assert grant.grant is not None
    warn_at = grant.grant.expires_at - timedelta(minutes=10)
    assert [r.id for r in wired.store.due(State.ACTIVE, warn_at)] == [grant.id]
    assert list(wired.store.due(State.ACTIVE, warn_at - timedelta(seconds=1))) == []
    assert [e.version for e in wired.store.events(grant.id)] == [1, 2, 3]


class TickingClock(fakes.Clock):
    """A clock that moves a second each time it is read."""

    def __call__(self) -> datetime:
        return self.advance(seconds=1)


def test_an_event_is_stamped_with_the_time_of_the_change_it_records() -> None:
    wired = fakes.broker(clock=TickingClock())
    request = ask(wired)
    cancelled = wired.broker.cancel(as_(wired, REQUESTER), request.id)
    assert wired.store.events(request.id)[-1].at == cancelled.updated_at


def test_what_the_notifier_is_told_is_what_was_recorded(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    assert [e for rid, e in wired.notes.events if rid == grant.id] == wired.store.events(grant.id)


# -- what an action reads: the request once, then the write's version condition (issue 7's budget of DynamoDB calls;
# tests/perf/test_call_counts.py pins it against DynamoDB)



@pytest.mark.parametrize("refused_by_iam", [False, True])
def test_an_approval_reads_the_request_once_whether_iam_grants_or_refuses(
        wired: fakes.Fakes, refused_by_iam: bool) -> None:
    request = ask(wired)
    wired.grants.refuse = "AccessDenied: not allowed" if refused_by_iam else None
    reads = reads_of(wired)
    done = wired.broker.approve(as_(wired, APPROVER), request.id)
    assert done.state == (State.FAILED if refused_by_iam else State.ACTIVE)
    assert reads == [request.id]


@pytest.mark.parametrize("action", ["cancel", "revoke"])
def test_a_cancel_or_a_revoke_reads_the_request_once(wired: fakes.Fakes, action: str) -> None:
    request = ask(wired) if action == "cancel" else granted(wired)
    reads = reads_of(wired)
    done = getattr(wired.broker, action)(as_(wired, REQUESTER), request.id)
    assert done.ended and reads == [request.id]


class ListingGrants(fakes.MemoryGrants):
    """IAM as chalicelib/aws/iam_grants.py uses it: a removal that does not name the user first asks IAM who holds
    the policy (ListEntitiesForPolicy), one more call than issue 7's budget for a revoke."""

    def __init__(self) -> None:
        super().__init__()
        self.listings = 0

    def remove(self, policy_arn: str, iam_user: str | None = None) -> None:
        if iam_user is None:
            self.listings += 1
        super().remove(policy_arn, iam_user)


def test_a_revoke_detaches_from_the_requester_without_asking_iam_who_holds_the_policy(wired: fakes.Fakes) -> None:
    wired = with_grants(wired, ListingGrants())
    assert isinstance(wired.grants, ListingGrants)
    wired.broker.revoke(as_(wired, REQUESTER), granted(wired).id)
    assert wired.grants.policies == {} and wired.grants.listings == 0


def test_the_sweeper_failing_a_grant_whose_profile_was_removed_reads_nothing_more(wired: fakes.Fakes) -> None:
    stuck = approved_not_applied(wired)
    wired = without_profile(wired)
    reads = reads_of(wired)
    assert wired.broker.apply_grant(stuck).state == State.FAILED
    assert reads == [], "the entry the index gave is the first try; the write's condition checks it"


# -- notifications


class BrokenNotifier(fakes.Recorder):
    """Slack is down: every notification fails."""

    def notify(self, request: AccessRequest, event: Event) -> None:
        raise ConnectionError("slack.com unreachable")


def test_a_failed_notification_undoes_nothing_and_is_noted(wired: fakes.Fakes,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    wired = wired.rewired(notifier=BrokenNotifier())
    with caplog.at_level(logging.WARNING, logger="chalicelib.service"):
        request = ask(wired)
        grant = wired.broker.approve(as_(wired, APPROVER), request.id)
    assert grant.state == State.ACTIVE and wired.grants.policies
    failures = [e for e in wired.store.events(request.id) if e.kind == "notify_failed"]
    assert failures == [
        Event(request.id, version, "notify_failed", wired.clock(), SYSTEM, "system",
              {"event": kind, "error": "ConnectionError"})
        for version, kind in [(1, "created"), (2, "approved"), (3, "activated")]]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"notification for request {request.id} ({kind}) failed: ConnectionError"
        for kind in ["created", "approved", "activated"]]


def test_a_notification_failure_on_a_revoke_leaves_it_revoked(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired = wired.rewired(notifier=BrokenNotifier())
    revoked = wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    assert revoked.state == State.REVOKED and wired.grants.policies == {}
    assert event(wired, grant.id, "notify_failed").details == {"event": "revoked", "error": "ConnectionError"}
