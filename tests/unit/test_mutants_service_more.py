"""What an operator reads of on-call auto-approval, extensions, a grant's end and the directory's refresh, pinned
where make mutate found nothing pinning it."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.errors import Unprocessable
from chalicelib.domain.on_call import OnCallNow
from chalicelib.on_call import OnCallApproval
from chalicelib.service import directory
from tests import fakes
from tests.fakes import as_, ask, granted
from tests.unit.test_service_auto_approving import PagerDuty, catalog
from tests.unit.test_service_directory import Directory


def test_a_second_request_while_an_auto_approved_grant_lives_asks_pagerduty_nothing() -> None:
    pagerduty = PagerDuty(OnCallNow("P0SCHED1", "PS3ACCESS", "s3-access@example.com"))
    wired = fakes.broker(catalog())
    wired = wired.rewired(on_call=OnCallApproval(pagerduty, wired.clock))
    first = ask(wired)
    second = ask(wired)
    assert pagerduty.asked == 1, "the live grant decides it: no lookup"
    (skipped,) = [e for e in wired.store.events(second.id) if e.kind == "auto_approve_skipped"]
    assert skipped.details == {"reason": "auto_approved_grant_live",
                               "detail": f"request {first.id} is already a live auto-approved grant of this profile"}


def test_a_tool_s_request_says_why_it_was_not_auto_approved() -> None:
    pagerduty = PagerDuty(OnCallNow("P0SCHED1", "PS3ACCESS", "s3-access@example.com"))
    wired = fakes.broker(catalog())
    tool = "arn:aws:iam::111111111111:role/ticket-bot"
    wired = wired.rewired(on_call=OnCallApproval(pagerduty, wired.clock),
                          catalog=fakes.dataclasses.replace(catalog(), trusted_tools=frozenset({tool})))
    request = wired.broker.request_access(wired.broker.caller_from_arn(tool), "s3-prod", "1h", "ticket OPS-1",
                                          requester="s3-access")
    (skipped,) = [e for e in wired.store.events(request.id) if e.kind == "auto_approve_skipped"]
    assert skipped.details["detail"] == ("asked by a trusted tool on the requester's behalf: on-call auto-approval "
                                         "is for the person on call asking themselves")


def test_an_extension_without_a_duration_names_the_field() -> None:
    wired = fakes.broker()
    grant = granted(wired)
    with pytest.raises(Unprocessable) as refused:
        wired.broker.extend(as_(wired, "s3-access"), grant.id, None)
    assert refused.value.field == "duration"


def test_an_expiry_whose_detach_iam_refuses_notes_only_the_cleanup() -> None:
    wired = fakes.broker()
    grant = granted(wired)
    wired.clock.advance(hours=1)
    wired.grants.refuse = "Throttling: rate exceeded"
    assert wired.broker.sweep_due(wired.store.get(grant.id)) == "expired"
    (pending,) = [e for e in wired.store.events(grant.id) if e.kind == "cleanup_pending"]
    assert pending.details == {"reason": "Throttling: rate exceeded"} and pending.version == grant.version + 1
    assert not wired.store.get(grant.id).detach_pending, "past its end no session can open: nothing to wait for"


def test_a_revoke_whose_detach_and_guard_both_fail_says_the_guard_is_pending() -> None:
    wired = fakes.broker()
    grant = granted(wired)
    wired.grants.refuse = "Throttling: rate exceeded"
    wired.guards.unreachable = True
    revoked = wired.broker.revoke(as_(wired, "s3-access"), grant.id)
    (pending,) = [e for e in wired.store.events(grant.id) if e.kind == "cleanup_pending"]
    assert pending.details == {"reason": "Throttling: rate exceeded", "session_guard": "pending"}
    failed = [e.details["cut"] for e in wired.store.events(grant.id) if e.kind == "session_guard_failed"]
    assert failed == ["revoked", "detach"] and revoked.detach_pending


def test_a_first_refresh_that_fails_counts_no_notices_and_keeps_nothing() -> None:
    d = Directory()
    d.iam.unavailable = "Throttling " + "x" * 400
    refreshed = directory.refresh(d.broker.written)
    assert refreshed.notices == 0 and refreshed.failed.startswith("IAM GetGroup failed: Throttling")
    assert len(refreshed.failed) == 300 and d.memberships.stored is None


def test_a_refresh_reports_the_people_it_joined() -> None:
    d = Directory()
    assert directory.refresh(d.broker.written).people == 4


def test_the_joined_catalog_is_read_again_at_exactly_half_the_refresh() -> None:
    d = Directory()
    d.broker.sweep(repair=False)
    d.broker.deps  # read once
    reads = d.memberships.reads
    d.later(seconds=119)
    d.broker.deps
    assert d.memberships.reads == reads
    d.later(seconds=1)
    d.broker.deps
    assert d.memberships.reads == reads + 1


def test_a_membership_exactly_a_day_old_still_holds() -> None:
    d = Directory()
    d.broker.sweep(repair=False)
    d.iam.unavailable = "down"
    stored = d.memberships.stored
    assert stored is not None
    d.wired.clock.now = stored.refreshed_at + timedelta(hours=24)
    assert d.broker.deps.catalog.directory_unavailable is None
    d.wired.clock.now = stored.refreshed_at + timedelta(hours=24, seconds=1)
    d.later(minutes=3)
    assert d.broker.deps.catalog.directory_unavailable is not None


def test_the_claim_on_one_live_auto_approved_grant_lasts_as_long_as_the_grant_could() -> None:
    pagerduty = PagerDuty(OnCallNow("P0SCHED1", "PS3ACCESS", "s3-access@example.com"))
    wired = fakes.broker(catalog())
    wired = wired.rewired(on_call=OnCallApproval(pagerduty, wired.clock))
    first = ask(wired)
    holder, until = wired.store.names["on-call#s3-access#s3-prod"]
    assert holder == first.id and until == int((wired.clock() + timedelta(hours=4)).timestamp()), \
        "held for the profile's max_duration: an extended grant still holds it"


def test_each_stage_s_grants_live_under_its_own_path() -> None:
    from chalicelib.domain.grant_policy import policy_path

    assert policy_path("prod") == "/access-broker/prod/" and policy_path("dev_2-a") == "/access-broker/dev_2-a/"
    with pytest.raises(ValueError):
        policy_path("pr/od")
