"""On-call auto-approval as the service runs it (chalicelib/service/auto_approving.py on tests/fakes.py, with the
real decision and wiring of chalicelib/on_call.py over a PagerDuty that answers as told): approved by no human and
granted at once, or left to people with the reason recorded; at most one live auto-approved grant per person and
profile; never on the Slack answer path."""
from __future__ import annotations

from typing import Sequence

import pytest

from chalicelib.catalog import parse_catalog
from chalicelib.domain.catalog import Catalog
from chalicelib.domain.on_call import Lookup, LookupFailed, NotOnCall, OnCallNow
from chalicelib.domain.requests import ON_CALL, Approval, State
from chalicelib.on_call import OnCallApproval
from tests import fakes
from tests.fakes import as_, ask, in_slack, kinds

REQUESTER, APPROVER = "s3-access", "bob"
ON_CALL_NOW = OnCallNow("P0SCHED1", "PS3ACCESS", "S3-Access@Example.com")


class PagerDuty:
    """Answers every lookup with `answer`, and counts the lookups (each request asks afresh)."""

    def __init__(self, answer: Lookup) -> None:
        self.answer, self.asked = answer, 0

    def on_call(self, email: str, schedules: Sequence[str]) -> Lookup:
        self.asked += 1
        return self.answer


def catalog(**auto_approve: object) -> Catalog:
    people = {name: {**spec, "email": f"{name}@example.com"} for name, spec in fakes.DEMO_PEOPLE.items()}
    return parse_catalog({
        "source_account": "111111111111", "security_channel": "C01SECURITY", "people": people,
        "on_call": {"pagerduty_token_parameter": "/access-broker/{stage}/pagerduty-token"},
        "groups": {"s3-approvers": ["bob", "carol"]},
        "profiles": {"s3-prod": {"account": "222222222222", "role": "switch-role-for-S3",
                                 "approvers": ["s3-approvers"], "default_duration": "1h", "max_duration": "4h",
                                 "approval_channel": "C01APPROVALS",
                                 "auto_approve": {"on_call": ["P0SCHED1"], "max_duration": "2h", **auto_approve}}}})


def on_call(answer: Lookup) -> tuple[fakes.Fakes, PagerDuty]:
    pagerduty = PagerDuty(answer)
    wired = fakes.broker(catalog())
    return wired.rewired(on_call=OnCallApproval(pagerduty, wired.clock)), pagerduty


def skipped(wired: fakes.Fakes, request_id: str) -> dict[str, object]:
    (event,) = [e for e in wired.store.events(request_id) if e.kind == "auto_approve_skipped"]
    return event.details


def test_the_person_on_call_is_granted_at_once_approved_by_no_human() -> None:
    wired, pagerduty = on_call(ON_CALL_NOW)
    request = ask(wired, "1h")
    assert request.state == State.ACTIVE and wired.grants.policies, "granted like any other"
    assert request.approvals == (Approval(ON_CALL, wired.clock(), "", "P0SCHED1", "PS3ACCESS"),)
    assert kinds(wired, request.id) == ["created", "auto_approved", "activated"]
    (approved,) = [e for e in wired.store.events(request.id) if e.kind == "auto_approved"]
    assert approved.actor == ON_CALL and approved.details == {
        "schedule": "P0SCHED1", "pagerduty_user": "PS3ACCESS", "profile": "s3-prod", "duration_seconds": 3600,
        "reason": "fixing the export job", "approval_channel": "C01APPROVALS", "security_channel": "C01SECURITY"}
    assert fakes.cuts(wired, request) == {fakes.expiry_cut(request)}, "its session guard as any grant's"
    assert pagerduty.asked == 1


@pytest.mark.parametrize("answer, reason, detail", [
    (NotOnCall(), "not_on_call", "not on call now in P0SCHED1"),
    (LookupFailed("PagerDuty answered 401: Invalid token"), "pagerduty_failed",
     "PagerDuty answered 401: Invalid token"),
    (LookupFailed("no answer from PagerDuty within 2 s"), "pagerduty_failed", "no answer from PagerDuty within 2 s"),
])
def test_anyone_not_shown_on_call_waits_for_people_with_the_reason_recorded(answer: Lookup, reason: str,
                                                                            detail: str) -> None:
    wired, _ = on_call(answer)
    request = ask(wired, "1h")
    assert request.state == State.PENDING and wired.grants.policies == {}
    assert skipped(wired, request.id) == {"reason": reason, "detail": detail}
    assert wired.broker.approve(as_(wired, APPROVER), request.id).state == State.ACTIVE, "people still decide"


def test_over_the_auto_approval_s_max_duration_pagerduty_is_not_even_asked() -> None:
    wired, pagerduty = on_call(ON_CALL_NOW)
    request = ask(wired, "3h")
    assert request.state == State.PENDING and pagerduty.asked == 0
    assert skipped(wired, request.id) == {"reason": "over_max_duration",
                                          "detail": "3h is over the 2h auto-approval allows"}


def test_one_live_auto_approved_grant_per_person_and_profile_until_it_ends() -> None:
    wired, _ = on_call(ON_CALL_NOW)
    first = ask(wired, "1h")
    second = ask(wired, "1h")
    assert (first.state, second.state) == (State.ACTIVE, State.PENDING)
    assert skipped(wired, second.id)["reason"] == "auto_approved_grant_live"
    wired.broker.revoke(as_(wired, REQUESTER), first.id)
    assert ask(wired, "1h").state == State.ACTIVE, "the revoke gave the claim back"


def test_a_trusted_tool_asking_for_someone_never_auto_approves() -> None:
    wired, pagerduty = on_call(ON_CALL_NOW)
    tool = "arn:aws:iam::111111111111:role/ticket-bot"
    wired = wired.rewired(catalog=fakes.dataclasses.replace(wired.broker.catalog,
                                                            trusted_tools=frozenset({tool})))
    request = wired.broker.request_access(wired.broker.caller_from_arn(tool), "s3-prod", "1h", "ticket OPS-1",
                                          requester=REQUESTER)
    assert request.state == State.PENDING and pagerduty.asked == 0
    assert skipped(wired, request.id)["reason"] == "requested_on_behalf"


def test_in_slack_pagerduty_is_asked_after_the_answer_not_on_it() -> None:
    wired, pagerduty = on_call(ON_CALL_NOW)
    request = wired.broker.request_access(in_slack(wired, REQUESTER), "s3-prod", "1h", "fixing the export job")
    assert request.state == State.PENDING and pagerduty.asked == 0, "the slash command's answer asks nobody"
    assert wired.broker.consider_on_call(request.id).state == State.ACTIVE, "the worker's job decides it"
    assert pagerduty.asked == 1


def test_a_request_decided_while_pagerduty_answered_stays_decided() -> None:
    wired, _ = on_call(ON_CALL_NOW)
    request = wired.broker.request_access(in_slack(wired, REQUESTER), "s3-prod", "1h", "fixing the export job")
    wired.broker.deny(as_(wired, APPROVER), request.id, "not now")
    assert wired.broker.consider_on_call(request.id).state == State.DENIED
    assert "auto_approved" not in kinds(wired, request.id)
    assert wired.store.holder(f"on-call#{REQUESTER}#s3-prod") is None, "no claim left behind"


def test_a_profile_without_auto_approve_asks_nobody() -> None:
    pagerduty = PagerDuty(ON_CALL_NOW)
    wired = fakes.broker()
    wired = wired.rewired(on_call=OnCallApproval(pagerduty, wired.clock))
    request = ask(wired, "1h")
    assert request.state == State.PENDING and pagerduty.asked == 0
    assert kinds(wired, request.id) == ["created"]


def test_an_auto_approved_grant_s_extension_goes_to_people() -> None:
    wired, pagerduty = on_call(ON_CALL_NOW)
    grant = ask(wired, "1h")
    asked = wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    assert asked.extension is not None and asked.grant == grant.grant, "a round for approvers, not automatic"
    assert wired.broker.consider_on_call(grant.id) == asked and pagerduty.asked == 1, "nothing more to consider"
