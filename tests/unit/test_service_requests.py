"""Asking and deciding (Broker.request_access, approve, deny) on the in-memory adapters: what a request and its first
event record, who a trusted tool asks for, break-glass with its review details and its one live grant per person and
profile, and each decision's event, over the API and in Slack. tests/unit/test_broker_rules.py holds the main flows."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from chalicelib.domain.catalog import Catalog, TrustedTools
from chalicelib.domain.errors import Conflict, Forbidden, NotFound
from chalicelib.domain.requests import Approval, Event, State
from tests import fakes
from tests.fakes import as_, ask, granted, in_slack

REQUESTER, APPROVER, OTHER_APPROVER, OUTSIDER = "s3-access", "bob", "carol", "alice"
REASON = "fixing the export job"
GLASS_REASON = "prod is down and nobody can approve now"
TOOL = "arn:aws:iam::111111111111:role/ticket-bot"
ROLE = "arn:aws:iam::222222222222:role/switch-role-for-S3"


def with_tool(catalog: Catalog) -> Catalog:
    return dataclasses.replace(catalog, trusted_tools=TrustedTools([TOOL]))


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker(with_tool(fakes.catalog()))


@pytest.fixture
def glass() -> fakes.Fakes:
    return fakes.broker(with_tool(fakes.catalog(break_glass=True, approval_channel="C01APPROVALS")))


def break_glass(wired: fakes.Fakes, who: str = REQUESTER):
    return wired.broker.request_access(as_(wired, who), "s3-prod", "30m", GLASS_REASON, break_glass=True)


# -- asking


def test_a_request_records_what_was_asked_and_when_it_is_next_due(wired: fakes.Fakes) -> None:
    now = wired.clock()
    request = wired.broker.request_access(as_(wired, REQUESTER), "s3-prod", "90m", "  fixing the export job ")
    assert dataclasses.asdict(request) == dataclasses.asdict(dataclasses.replace(
        request, profile="s3-prod", requester=REQUESTER, requester_iam_user="s3-access", account="222222222222",
        role_arn=ROLE, reason=REASON, duration_seconds=5400, approvals_required=1, created_at=now, updated_at=now,
        state=State.PENDING, requested_by_tool=None, break_glass=False, grant=None, approvals=(), version=1,
        due_at=now + timedelta(minutes=15)))  # the reminder, a quarter hour into the approval window
    assert wired.store.get(request.id) == request


def test_the_created_event_says_who_asked_where_and_what(wired: fakes.Fakes) -> None:
    request = wired.broker.request_access(in_slack(wired, REQUESTER), "s3-prod", None, REASON)
    created = Event(request.id, 1, "created", wired.clock(), REQUESTER, "slack",
                    {"profile": "s3-prod", "duration_seconds": 3600, "reason": REASON})
    assert wired.store.events(request.id) == [created]
    assert wired.notes.events == [(request.id, created)], "the approvers hear of it"


def test_a_trusted_tool_asks_for_a_person_and_the_request_says_so(wired: fakes.Fakes) -> None:
    tool = wired.broker.caller_from_arn(TOOL)
    request = wired.broker.request_access(tool, "s3-prod", "1h", REASON, requester=OUTSIDER)
    assert (request.requester, request.requester_iam_user, request.requested_by_tool) == (OUTSIDER, "alice", TOOL)
    [created] = wired.store.events(request.id)
    assert (created.actor, created.channel) == (TOOL, "api")
    assert created.details == {"profile": "s3-prod", "duration_seconds": 3600, "reason": REASON,
                               "requested_by_tool": TOOL}


def test_a_trusted_tool_may_not_use_break_glass_for_someone(glass: fakes.Fakes) -> None:
    tool = glass.broker.caller_from_arn(TOOL)
    with pytest.raises(Forbidden) as refused:
        glass.broker.request_access(tool, "s3-prod", "30m", GLASS_REASON, requester=OUTSIDER, break_glass=True)
    assert refused.value.detail == ("break-glass is for the person in trouble to ask themselves: a trusted tool may "
                                    "not use it on someone's behalf; request normal access for them instead")
    assert glass.store.requests == {} and glass.grants.policies == {}


def test_an_idempotent_retry_returns_the_first_request_and_tells_nobody_twice(wired: fakes.Fakes) -> None:
    from chalicelib.ports import IdempotencyClaim
    claim = IdempotencyClaim("arn:aws:iam::111111111111:user/s3-access", "key-1", "body-a")
    first = ask(wired, idempotency=claim)
    wired.clock.advance(minutes=1)
    assert ask(wired, idempotency=claim) == first
    assert wired.notes.kinds(first.id) == ["created"] and len(wired.store.requests) == 1


# -- break-glass


def test_break_glass_is_granted_at_once_with_the_review_details(glass: fakes.Fakes) -> None:
    now = glass.clock()
    grant = break_glass(glass)
    assert grant.state == State.ACTIVE and grant.break_glass and grant.decided_by == REQUESTER
    assert grant.grant is not None and grant.grant.expires_at == now + timedelta(minutes=30)
    assert glass.grants.attached_users(grant.grant.policy_arn) == [REQUESTER]
    activated = Event(grant.id, 1, "break_glass_activated", now, REQUESTER, "api", {
        "profile": "s3-prod", "duration_seconds": 1800, "reason": GLASS_REASON, "review": True,
        "approval_channel": "C01APPROVALS", "security_channel": "C01SECURITY"})
    assert glass.store.events(grant.id)[0] == activated
    assert [e.kind for e in glass.store.events(grant.id)] == ["break_glass_activated", "activated"]
    assert glass.notes.events[0] == (grant.id, activated), "the approval and security channels hear of it"


def test_the_live_break_glass_grant_is_held_under_the_person_and_profile(glass: fakes.Fakes) -> None:
    """The name is an item of the table: renamed, a grant live across an upgrade would not block a second one."""
    first = break_glass(glass)
    assert glass.store.holder("break-glass#s3-access#s3-prod") == first.id
    assert break_glass(glass, who=OUTSIDER).state == State.ACTIVE, "someone else's break-glass is theirs"


def test_a_second_break_glass_grant_is_refused_naming_the_live_one(glass: fakes.Fakes) -> None:
    first = break_glass(glass)
    with pytest.raises(Conflict) as refused:
        break_glass(glass)
    assert refused.value.detail == (f"s3-access already has a live break-glass grant of profile s3-prod (request "
                                    f"{first.id}); use it, or revoke it first")
    assert list(glass.store.requests) == [first.id]


def test_a_live_grant_that_ends_as_the_refusal_is_written_is_not_named(glass: fakes.Fakes,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    break_glass(glass)
    monkeypatch.setattr(glass.store, "holder", lambda name: None)  # released between the refused write and the read
    with pytest.raises(Conflict) as refused:
        break_glass(glass)
    assert refused.value.detail == ("s3-access already has a live break-glass grant of profile s3-prod; use it, or "
                                    "revoke it first")


def test_break_glass_is_held_until_the_grant_s_end(glass: fakes.Fakes) -> None:
    first = break_glass(glass)
    assert first.grant is not None
    glass.clock.now = first.grant.expires_at
    with pytest.raises(Conflict):
        break_glass(glass)
    glass.clock.advance(seconds=1)  # ended, though the sweeper has not recorded it yet
    assert break_glass(glass).state == State.ACTIVE


# -- deciding


def test_an_approval_s_event_carries_the_approver_and_their_comment(wired: fakes.Fakes) -> None:
    request = ask(wired)
    wired.clock.advance(minutes=3)
    granted = wired.broker.approve(in_slack(wired, APPROVER), request.id, "go ahead")
    assert granted.state == State.ACTIVE and granted.decision_comment == "go ahead"
    assert granted.approvals == (Approval(APPROVER, wired.clock(), "go ahead"),)
    approved = wired.store.events(request.id)[1]
    assert approved == Event(request.id, 2, "approved", wired.clock(), APPROVER, "slack", {"comment": "go ahead"})
    assert wired.notes.kinds(request.id) == ["created", "approved", "activated"]


def test_a_decision_without_a_comment_records_an_empty_one(wired: fakes.Fakes) -> None:
    approved, denied = ask(wired), ask(wired)
    assert wired.broker.approve(as_(wired, APPROVER), approved.id).decision_comment == ""
    assert wired.broker.deny(as_(wired, APPROVER), denied.id).decision_comment == ""
    assert wired.store.events(approved.id)[1].details == {"comment": ""}
    assert wired.store.events(denied.id)[1].details == {"comment": ""}


def test_an_approval_short_of_the_number_needed_grants_nothing_yet() -> None:
    wired = fakes.broker(fakes.catalog(approvals_required=2))
    request = ask(wired)
    first = wired.broker.approve(as_(wired, APPROVER), request.id, "one of two")
    assert first.state == State.PENDING and first.grant is None and wired.grants.policies == {}
    assert wired.store.events(request.id)[1] == Event(request.id, 2, "approval_added", wired.clock(), APPROVER, "api",
                                                      {"comment": "one of two"})
    assert [r.id for r in wired.broker.list(as_(wired, OTHER_APPROVER), awaiting_me=True).items] == [request.id]


def test_a_denial_s_event_carries_the_approver_and_their_comment(wired: fakes.Fakes) -> None:
    request = ask(wired)
    denied = wired.broker.deny(in_slack(wired, OTHER_APPROVER), request.id, "not today")
    assert (denied.state, denied.decided_by, denied.decision_comment) == (State.DENIED, OTHER_APPROVER, "not today")
    assert wired.store.events(request.id)[1] == Event(request.id, 2, "denied", wired.clock(), OTHER_APPROVER, "slack",
                                                      {"comment": "not today"})
    assert wired.notes.kinds(request.id) == ["created", "denied"] and wired.grants.policies == {}


@pytest.mark.parametrize("decide", ["approve", "deny"])
def test_the_requester_is_told_nobody_decides_their_own_request(wired: fakes.Fakes, decide: str) -> None:
    request = ask(wired)
    for caller in (as_(wired, REQUESTER), in_slack(wired, REQUESTER)):
        with pytest.raises(Forbidden, match="nobody may (approve|decide) their own request"):
            getattr(wired.broker, decide)(caller, request.id)
    assert wired.store.events(request.id)[-1].kind == "created"


@pytest.mark.parametrize("decide", ["approve", "deny"])
def test_over_the_api_someone_else_s_request_does_not_exist(wired: fakes.Fakes, decide: str) -> None:
    request = ask(wired)
    with pytest.raises(NotFound) as refused:
        getattr(wired.broker, decide)(as_(wired, OUTSIDER), request.id)
    assert refused.value.detail == f"no request with id '{request.id}'", "a 404 names no profile nor approver"


@pytest.mark.parametrize("decide", ["approve", "deny"])
def test_in_slack_someone_else_is_told_who_decides(wired: fakes.Fakes, decide: str) -> None:
    request = ask(wired)
    with pytest.raises(Forbidden) as refused:
        getattr(wired.broker, decide)(in_slack(wired, OUTSIDER), request.id)
    assert refused.value.detail == "only approvers of profile s3-prod may decide: bob, carol"
    assert wired.store.get(request.id).state == State.PENDING


@pytest.mark.parametrize("decide", ["approve", "deny"])
def test_a_caller_outside_the_catalog_decides_nothing(wired: fakes.Fakes, decide: str) -> None:
    request = ask(wired)
    stranger = wired.broker.caller_from_arn("arn:aws:iam::111111111111:user/mallory")
    with pytest.raises(Forbidden, match="is not mapped to a person"):
        getattr(wired.broker, decide)(stranger, request.id)
    with pytest.raises(Forbidden, match="is not mapped to a person"):
        getattr(wired.broker, decide)(wired.broker.caller_from_slack("U0NOBODY"), request.id)


def test_a_denial_after_the_approval_timeout_is_refused_and_times_it_out(wired: fakes.Fakes) -> None:
    request = ask(wired)
    wired.clock.advance(hours=1)
    with pytest.raises(Conflict, match="timed out at 2026-11-28T13:00:00Z"):
        wired.broker.deny(as_(wired, APPROVER), request.id, "too late")
    assert wired.store.get(request.id).state == State.TIMED_OUT


def test_an_extension_s_decision_carries_its_comment(wired: fakes.Fakes) -> None:
    extended, refused = granted(wired), granted(wired)
    for grant in (extended, refused):
        wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    assert wired.broker.approve(in_slack(wired, APPROVER), extended.id, "half an hour more").extension is None
    assert wired.broker.deny(as_(wired, OTHER_APPROVER), refused.id, "wrap up").grant == refused.grant
    assert wired.store.events(extended.id)[-1].details["comment"] == "half an hour more"
    assert wired.store.events(refused.id)[-1].details == {"comment": "wrap up"}
    assert [wired.store.events(g.id)[-1].kind for g in (extended, refused)] == ["extended", "extension_denied"]


def test_the_broker_s_own_clock_reads_utc() -> None:
    from datetime import datetime, timezone

    from chalicelib.service.deps import utcnow
    now = utcnow()
    assert now.utcoffset() == timedelta(0) and abs(now - datetime.now(timezone.utc)) < timedelta(seconds=5)
