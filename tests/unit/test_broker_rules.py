"""The Broker's rules on in-memory adapters (tests/fakes.py): who may ask, decide, cancel, revoke and extend, what a
request records, and the arithmetic of durations, extensions and break-glass. No AWS, no table: milliseconds each.
The same flows run against the local AWS world in tests/api, tests/expiry and tests/security."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound, Unavailable, Unprocessable
from chalicelib.domain.requests import State
from chalicelib.ports import IdempotencyClaim
from tests import fakes
from tests.fakes import as_, ask, granted

REQUESTER, APPROVER, OTHER_APPROVER, OUTSIDER, AUDITOR = "s3-access", "bob", "carol", "alice", "dave"
REASON = "fixing the export job"


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker()


# -- asking


def test_a_request_starts_pending_with_its_created_event(wired: fakes.Fakes) -> None:
    request = ask(wired)
    assert request.state == State.PENDING and request.version == 1
    assert [e.kind for e in wired.store.events(request.id)] == ["created"]
    assert wired.notes.kinds(request.id) == ["created"], "approvers hear of it"


@pytest.mark.parametrize("duration, seconds", [(None, 3600), ("90m", 5400), ("PT2H", 7200), ("4h", 14400)])
def test_the_duration_asked_for_or_the_profile_default(wired: fakes.Fakes, duration: str | None, seconds: int) -> None:
    assert ask(wired, duration).duration_seconds == seconds


@pytest.mark.parametrize("duration", ["4h1m", "5h", "0m", "30s"])
def test_a_duration_outside_the_profile_range_is_refused_naming_the_range(wired: fakes.Fakes, duration: str) -> None:
    with pytest.raises((Unprocessable, InvalidInput)):
        ask(wired, duration)
    assert wired.store.requests == {}, "nothing is stored"


@pytest.mark.parametrize("reason", ["", "   ", None, "x" * 1001])
def test_a_reason_is_required_and_bounded(wired: fakes.Fakes, reason: object) -> None:
    with pytest.raises(Unprocessable, match="reason"):
        wired.broker.request_access(as_(wired, REQUESTER), "s3-prod", "1h", reason)


def test_a_reason_loses_its_bidirectional_controls(wired: fakes.Fakes) -> None:
    request = wired.broker.request_access(as_(wired, REQUESTER), "s3-prod", "1h", "fix \u202eing the job")
    assert request.reason == "fix ing the job"


def test_an_unknown_profile_names_the_ones_the_person_may_request(wired: fakes.Fakes) -> None:
    with pytest.raises(Unprocessable, match="profiles you may request: s3-prod"):
        wired.broker.request_access(as_(wired, REQUESTER), "s3-admin", "1h", REASON)


def test_someone_outside_the_catalog_may_not_ask(wired: fakes.Fakes) -> None:
    stranger = wired.broker.caller_from_arn("arn:aws:iam::111111111111:user/mallory")
    with pytest.raises(Unprocessable, match="not mapped to a person"):
        wired.broker.request_access(stranger, "s3-prod", "1h", REASON)


def test_a_user_of_another_account_is_not_the_person_of_the_same_name(wired: fakes.Fakes) -> None:
    assert wired.broker.caller_from_arn("arn:aws:iam::999999999999:user/bob").person is None
    assert wired.broker.caller_from_arn("arn:aws:iam::111111111111:user/bob").person is not None


def test_only_trusted_tools_ask_on_someone_s_behalf(wired: fakes.Fakes) -> None:
    with pytest.raises(Forbidden, match="only trusted tools"):
        wired.broker.request_access(as_(wired, OUTSIDER), "s3-prod", "1h", REASON, requester=REQUESTER)


def test_the_same_idempotency_key_returns_the_first_request(wired: fakes.Fakes) -> None:
    claim = IdempotencyClaim("arn:aws:iam::111111111111:user/s3-access", "key-1", "body-a")
    first, again = ask(wired, idempotency=claim), ask(wired, idempotency=claim)
    assert again.id == first.id and len(wired.store.requests) == 1


def test_the_same_idempotency_key_with_another_body_is_a_conflict(wired: fakes.Fakes) -> None:
    ask(wired, idempotency=IdempotencyClaim("arn:aws:iam::111111111111:user/s3-access", "key-1", "body-a"))
    with pytest.raises(Conflict, match="different body"):
        ask(wired, idempotency=IdempotencyClaim("arn:aws:iam::111111111111:user/s3-access", "key-1", "body-b"))


# -- deciding


def test_an_approval_activates_the_grant_with_its_policy_and_console_link(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    assert grant.state == State.ACTIVE and grant.grant is not None
    assert grant.grant.expires_at == wired.clock() + timedelta(hours=1)
    assert wired.grants.attached_users(grant.grant.policy_arn) == [REQUESTER]
    assert grant.grant.console_url.startswith("https://broker.example/v1/console/")
    assert [e.kind for e in wired.store.events(grant.id)] == ["created", "approved", "activated"]


def test_the_grant_s_session_guard_is_written_before_it_is_recorded(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    assert grant.grant is not None and not grant.guard_pending
    guard = wired.guards.read(grant.account, grant.role_arn)
    assert guard.guards_grant(REQUESTER, grant.grant.expires_at)


def test_an_unreachable_target_account_leaves_the_guard_pending_but_grants(wired: fakes.Fakes) -> None:
    wired.guards.unreachable = True
    grant = granted(wired)
    assert grant.state == State.ACTIVE and grant.guard_pending
    assert "session_guard_failed" in [e.kind for e in wired.store.events(grant.id)]


@pytest.mark.parametrize("who, error", [(REQUESTER, Forbidden), (OUTSIDER, NotFound)])
def test_only_an_approver_other_than_the_requester_approves(wired: fakes.Fakes, who: str, error: type) -> None:
    request = ask(wired)
    with pytest.raises(error):
        wired.broker.approve(as_(wired, who), request.id)
    assert wired.store.get(request.id).state == State.PENDING


def test_two_approvals_needed_take_two_approvers(wired: fakes.Fakes) -> None:
    wired = fakes.broker(fakes.catalog(approvals_required=2))
    request = ask(wired)
    first = wired.broker.approve(as_(wired, APPROVER), request.id)
    assert first.state == State.PENDING and wired.store.events(request.id)[-1].kind == "approval_added"
    with pytest.raises(Conflict, match="already approved"):
        wired.broker.approve(as_(wired, APPROVER), request.id)
    assert wired.broker.approve(as_(wired, OTHER_APPROVER), request.id).state == State.ACTIVE


def test_a_denial_is_final(wired: fakes.Fakes) -> None:
    request = ask(wired)
    denied = wired.broker.deny(as_(wired, APPROVER), request.id, "not today")
    assert denied.state == State.DENIED and denied.decision_comment == "not today"
    with pytest.raises(Conflict, match="already denied by bob"):
        wired.broker.approve(as_(wired, OTHER_APPROVER), request.id)


def test_a_decision_after_the_approval_timeout_is_refused_and_times_it_out(wired: fakes.Fakes) -> None:
    request = ask(wired)
    wired.clock.advance(hours=1)
    with pytest.raises(Conflict, match="timed out"):
        wired.broker.approve(as_(wired, APPROVER), request.id)
    assert wired.store.get(request.id).state == State.TIMED_OUT


def test_a_decision_just_before_the_timeout_counts(wired: fakes.Fakes) -> None:
    request = ask(wired)
    wired.clock.advance(minutes=59, seconds=59)
    assert wired.broker.approve(as_(wired, APPROVER), request.id).state == State.ACTIVE


def test_iam_refusing_the_grant_fails_the_request_with_nothing_attached(wired: fakes.Fakes) -> None:
    wired.grants.refuse = "AccessDenied: not allowed"
    failed = wired.broker.approve(as_(wired, APPROVER), ask(wired).id)
    assert failed.state == State.FAILED and "AccessDenied" in failed.failure_reason
    assert wired.grants.policies == {}


# -- cancel and revoke


def test_only_the_requester_cancels_and_only_while_pending(wired: fakes.Fakes) -> None:
    request = ask(wired)
    with pytest.raises(Forbidden):
        wired.broker.cancel(as_(wired, APPROVER), request.id)
    assert wired.broker.cancel(as_(wired, REQUESTER), request.id).state == State.CANCELLED
    with pytest.raises(Conflict):
        wired.broker.cancel(as_(wired, REQUESTER), request.id)


@pytest.mark.parametrize("who", [REQUESTER, APPROVER, OTHER_APPROVER])
def test_the_requester_or_an_approver_revokes_and_the_policy_goes(wired: fakes.Fakes, who: str) -> None:
    grant = granted(wired)
    revoked = wired.broker.revoke(as_(wired, who), grant.id)
    assert revoked.state == State.REVOKED and revoked.ended_at == wired.clock()
    assert wired.grants.policies == {}
    assert wired.guards.read(grant.account, grant.role_arn).cuts_ended(REQUESTER, wired.clock())


def test_someone_else_may_not_revoke_a_grant(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    with pytest.raises(NotFound):  # over the API a request one may not see does not exist
        wired.broker.revoke(as_(wired, OUTSIDER), grant.id)
    assert wired.store.get(grant.id).state == State.ACTIVE and wired.grants.policies


def test_in_slack_someone_else_is_told_who_may_revoke(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    with pytest.raises(Forbidden, match="only the requester or an approver"):
        wired.broker.revoke(wired.broker.caller_from_slack("U01ALICE"), grant.id)
    assert wired.store.get(grant.id).state == State.ACTIVE


def test_in_slack_someone_else_may_not_decide_an_extension(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    with pytest.raises(Forbidden, match="only approvers"):
        wired.broker.approve(wired.broker.caller_from_slack("U01ALICE"), grant.id)
    assert wired.store.get(grant.id).extension is not None


def test_a_revoked_grant_cannot_be_revoked_again(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    with pytest.raises(Conflict, match="already revoked"):
        wired.broker.revoke(as_(wired, APPROVER), grant.id)


def test_a_lost_race_is_retried_on_the_stored_request(wired: fakes.Fakes) -> None:
    request = ask(wired)
    stale = wired.store.get(request.id)
    wired.broker.approve(as_(wired, APPROVER), request.id)
    with pytest.raises(Conflict, match="already approved"):  # decided again from the stale read: re-read, refused
        wired.broker.deny(as_(wired, OTHER_APPROVER), stale.id)


# -- visibility


def test_a_request_is_seen_by_its_requester_and_approvers_only(wired: fakes.Fakes) -> None:
    request = ask(wired)
    for who in (REQUESTER, APPROVER, OTHER_APPROVER):
        assert wired.broker.get(as_(wired, who), request.id).id == request.id
    with pytest.raises(NotFound):
        wired.broker.get(as_(wired, OUTSIDER), request.id)


def test_awaiting_me_lists_what_i_may_still_decide_and_never_my_own(wired: fakes.Fakes) -> None:
    mine = ask(wired, who=APPROVER)
    theirs = ask(wired)
    waiting = wired.broker.list(as_(wired, APPROVER), awaiting_me=True).items
    assert [r.id for r in waiting] == [theirs.id] and mine.id not in [r.id for r in waiting]


def test_mine_lists_my_requests_newest_first(wired: fakes.Fakes) -> None:
    first = ask(wired)
    wired.clock.advance(minutes=1)
    second = ask(wired)
    assert [r.id for r in wired.broker.list(as_(wired, REQUESTER), mine=True).items] == [second.id, first.id]


def test_the_audit_log_is_for_approvers_auditors_and_trusted_tools(wired: fakes.Fakes) -> None:
    request = ask(wired)
    since, until = wired.clock() - timedelta(hours=1), wired.clock() + timedelta(hours=1)
    with pytest.raises(Forbidden):
        wired.broker.audit(as_(wired, OUTSIDER), since, until, 10, None)
    for who in (APPROVER, AUDITOR):
        assert [e.request_id for e in wired.broker.audit(as_(wired, who), since, until, 10, None).items] == [
            request.id]


# -- extensions


def test_an_extension_is_a_new_approval_round(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    asked = wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    assert asked.extension is not None and asked.grant == grant.grant
    extended = wired.broker.approve(as_(wired, APPROVER), grant.id)
    assert extended.grant is not None and grant.grant is not None
    assert extended.grant.expires_at == grant.grant.expires_at + timedelta(minutes=30)
    assert wired.grants.expiry_of(grant.id).startswith(extended.grant.expires_at.strftime("%Y-%m-%dT%H:%M"))
    assert [e.kind for e in wired.store.events(grant.id)][-2:] == ["extension_requested", "extended"]


def test_an_extension_can_be_denied_and_the_grant_keeps_its_end(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    denied = wired.broker.deny(as_(wired, APPROVER), grant.id)
    assert denied.state == State.ACTIVE and denied.extension is None and denied.grant == grant.grant
    assert wired.store.events(grant.id)[-1].kind == "extension_denied"


def test_auto_approved_extensions_need_nobody(wired: fakes.Fakes) -> None:
    wired = fakes.broker(fakes.catalog(extension={"auto_approve": True}))
    grant = granted(wired)
    extended = wired.broker.extend(as_(wired, REQUESTER), grant.id, "1h")
    assert extended.grant is not None and grant.grant is not None
    assert extended.grant.expires_at - grant.grant.expires_at == timedelta(hours=1)


@pytest.mark.parametrize("granted_for, asked, room", [("1h", "3h1m", "3h"), ("4h", "1m", None), ("3h", "2h", "1h")])
def test_an_extension_never_takes_a_grant_past_max_duration(wired: fakes.Fakes, granted_for: str, asked: str,
                                                           room: str | None) -> None:
    grant = granted(wired, granted_for)
    with pytest.raises(Unprocessable) as refused:
        wired.broker.extend(as_(wired, REQUESTER), grant.id, asked)
    assert ("the longest extension allowed is " + room if room else "cannot be extended further") in str(refused.value)


def test_an_extension_up_to_max_duration_exactly_is_allowed(wired: fakes.Fakes) -> None:
    grant = granted(wired, "3h")
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "1h")
    extended = wired.broker.approve(as_(wired, APPROVER), grant.id)
    assert extended.grant is not None
    assert extended.grant.expires_at - extended.grant.starts_at == timedelta(hours=4)


@pytest.mark.parametrize("who, error", [(APPROVER, Forbidden), (OUTSIDER, NotFound)])
def test_only_the_requester_asks_for_an_extension(wired: fakes.Fakes, who: str, error: type) -> None:
    grant = granted(wired)
    with pytest.raises(error):
        wired.broker.extend(as_(wired, who), grant.id, "30m")


def test_the_requester_may_not_approve_their_own_extension(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    with pytest.raises(Forbidden):
        wired.broker.approve(as_(wired, REQUESTER), grant.id)


def test_a_second_extension_waits_for_the_first(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    with pytest.raises(Conflict, match="already has an extension waiting"):
        wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")


def test_an_extension_approved_at_the_grant_s_end_is_refused(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    assert grant.grant is not None
    wired.clock.now = grant.grant.expires_at
    with pytest.raises(Conflict, match="already ended"):
        wired.broker.approve(as_(wired, APPROVER), grant.id)


def test_a_profile_without_extensions_refuses_them(wired: fakes.Fakes) -> None:
    wired = fakes.broker(fakes.catalog(extension={"allowed": False}))
    grant = granted(wired)
    with pytest.raises(Forbidden, match="does not allow extensions"):
        wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")


def test_iam_refusing_the_new_end_keeps_the_old_one(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    wired.grants.refuse = "Throttling"
    with pytest.raises(Unavailable, match="still ends at"):
        wired.broker.approve(as_(wired, APPROVER), grant.id)
    assert wired.store.get(grant.id).grant == grant.grant


# -- break-glass


def break_glass(wired: fakes.Fakes, reason: str = "prod is down and nobody can approve now"):
    return wired.broker.request_access(as_(wired, REQUESTER), "s3-prod", "30m", reason, break_glass=True)


@pytest.fixture
def glass() -> fakes.Fakes:
    return fakes.broker(fakes.catalog(break_glass=True))


def test_break_glass_is_active_at_once_and_flagged_for_review(glass: fakes.Fakes) -> None:
    grant = break_glass(glass)
    assert grant.state == State.ACTIVE and grant.break_glass
    created = glass.store.events(grant.id)[0]
    assert created.kind == "break_glass_activated" and created.details["review"] is True


@pytest.mark.parametrize("length, allowed", [(19, False), (20, True)])
def test_break_glass_needs_a_reason_of_twenty_characters(glass: fakes.Fakes, length: int, allowed: bool) -> None:
    reason = "r" * length
    if allowed:
        assert break_glass(glass, reason).state == State.ACTIVE
    else:
        with pytest.raises(Unprocessable, match="at least 20"):
            break_glass(glass, reason)


def test_one_live_break_glass_grant_per_person_and_profile(glass: fakes.Fakes) -> None:
    first = break_glass(glass)
    with pytest.raises(Conflict, match=f"request {first.id}"):
        break_glass(glass)
    glass.broker.revoke(as_(glass, REQUESTER), first.id)
    assert break_glass(glass).state == State.ACTIVE, "a revoke gives the name back"


def test_a_profile_without_break_glass_refuses_it(wired: fakes.Fakes) -> None:
    with pytest.raises(Forbidden, match="no break-glass"):
        break_glass(wired)


# -- the console link


def test_the_console_link_works_while_the_grant_does(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    assert grant.grant is not None
    token = grant.grant.console_url.rsplit("/", 1)[-1]
    assert wired.broker.console_redirect(token) == grant.grant.switch_role_url
    wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    with pytest.raises(Gone):
        wired.broker.console_redirect(token)


def test_a_tampered_console_link_is_forbidden(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    assert grant.grant is not None
    token = grant.grant.console_url.rsplit("/", 1)[-1]
    with pytest.raises(Forbidden):
        wired.broker.console_redirect(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
