"""Extensions of an active grant on the in-memory adapters (tests/fakes.py): a new approval round or auto-approval,
IAM and the session guard moving first, an IAM refusal leaving the old end (and saying so), the console link
re-signed for the new end, and never beyond the profile's max_duration in total. The basic flows:
test_broker_rules.py."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from chalicelib.aws.iam_grants import policy_document
from chalicelib.domain.errors import Conflict, Forbidden, Unavailable, Unprocessable
from chalicelib.domain.events import SYSTEM
from chalicelib.domain.requests import AccessRequest, Approval, Event, Extension, State
from chalicelib.domain.session_guard import Cut
from chalicelib.domain.times import rfc3339
from tests import fakes
from tests.fakes import as_, granted, in_slack, reads_of

REQUESTER, APPROVER, OTHER_APPROVER = "s3-access", "bob", "carol"
PROFILE = "s3-prod"


def end_of(request: AccessRequest) -> datetime:
    assert request.grant is not None
    return request.grant.expires_at


def last(wired: fakes.Fakes, request_id: str) -> Event:
    return wired.store.events(request_id)[-1]


def expiry_cuts(wired: fakes.Fakes) -> set[Cut]:
    role = wired.broker.catalog.profiles[PROFILE].role_arn
    return {c for c in wired.guards.read("222222222222", role).cuts if c.kind == "expiry"}


def with_max_duration(wired: fakes.Fakes, max_duration: int) -> fakes.Fakes:
    """The catalog is reloaded with another max_duration (seconds) for the profile."""
    catalog = wired.broker.catalog
    profile = dataclasses.replace(catalog.profiles[PROFILE], max_duration=max_duration)
    return wired.rewired(catalog=dataclasses.replace(catalog, profiles={PROFILE: profile}))


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker()


@pytest.fixture
def auto() -> fakes.Fakes:
    return fakes.broker(fakes.catalog(extension={"auto_approve": True}))


# -- asking


def test_asking_records_the_extension_and_changes_nothing_in_iam(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    asked_at = wired.clock.advance(minutes=10)
    asked = wired.broker.extend(in_slack(wired, REQUESTER), grant.id, "30m")
    assert asked.extension == Extension(seconds=1800, requested_by=REQUESTER, requested_at=asked_at)
    assert asked.grant == grant.grant and asked.awaiting_decision
    assert last(wired, grant.id) == Event(grant.id, 4, "extension_requested", asked_at, REQUESTER, "slack",
                                          {"duration_seconds": 1800})
    assert wired.grants.policies[wired.grants.policy_arn(grant.id)] == policy_document(grant.role_arn, end_of(grant))
    assert expiry_cuts(wired) == {Cut(end_of(grant), "expiry", REQUESTER)}
    assert wired.notes.kinds(grant.id)[-1] == "extension_requested", "approvers hear of it"


def test_an_approver_is_told_only_the_requester_extends(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    with pytest.raises(Forbidden) as refused:
        wired.broker.extend(in_slack(wired, APPROVER), grant.id, "30m")
    assert str(refused.value) == "only the requester can extend a grant"


def test_an_extension_says_how_much_longer_it_needs(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    with pytest.raises(Unprocessable) as refused:
        wired.broker.extend(as_(wired, REQUESTER), grant.id, None)
    assert str(refused.value) == "duration is required: how much longer, like `30m` or `1h`"
    assert wired.store.get(grant.id) == grant


def test_a_second_extension_names_the_one_waiting(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    with pytest.raises(Conflict) as refused:
        wired.broker.extend(as_(wired, REQUESTER), grant.id, "1h")
    assert str(refused.value) == (f"request {grant.id} already has an extension waiting for approval (+30m); "
                                  f"wait for the approvers' decision")


def test_an_ended_grant_cannot_be_extended(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    with pytest.raises(Conflict, match="only a request that is active can be extended") as refused:
        wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    assert refused.value.extra == {"state": "revoked"}


def test_a_grant_past_its_end_but_not_yet_swept_cannot_be_extended(auto: fakes.Fakes) -> None:
    grant = granted(auto)
    auto.clock.now = end_of(grant)
    with pytest.raises(Conflict) as refused:
        auto.broker.extend(as_(auto, REQUESTER), grant.id, "30m")
    assert str(refused.value) == (f"the grant of request {grant.id} already ended at {rfc3339(end_of(grant))}; "
                                  f"request access again")
    assert refused.value.extra == {"state": "expired"}
    assert auto.store.get(grant.id).grant == grant.grant


def test_a_grant_a_second_before_its_end_can_still_be_extended(auto: fakes.Fakes) -> None:
    grant = granted(auto)
    auto.clock.now = end_of(grant) - timedelta(seconds=1)
    extended = auto.broker.extend(as_(auto, REQUESTER), grant.id, "30m")
    assert end_of(extended) == end_of(grant) + timedelta(minutes=30)


@pytest.mark.parametrize("granted_for, asked, message, room", [
    ("1h", "3h1m", "this one already lasts 1h, so the longest extension allowed is 3h", 10800),
    ("4h", "1m", "this one already lasts 4h, so it cannot be extended further", 0),
])
def test_a_refused_extension_says_how_long_the_grant_may_last(wired: fakes.Fakes, granted_for: str, asked: str,
                                                              message: str, room: int) -> None:
    grant = granted(wired, granted_for)
    with pytest.raises(Unprocessable) as refused:
        wired.broker.extend(as_(wired, REQUESTER), grant.id, asked)
    assert str(refused.value) == f"a grant of this profile may last at most 4h in total; {message}"
    assert refused.value.extra == {"max_extension_seconds": room}
    assert wired.store.get(grant.id).extension is None


def test_the_total_counts_every_extension_already_granted(auto: fakes.Fakes) -> None:
    grant = granted(auto, "1h")
    auto.clock.advance(minutes=30)  # the time already used does not matter: the total granted does
    auto.broker.extend(as_(auto, REQUESTER), grant.id, "2h")
    with pytest.raises(Unprocessable, match="already lasts 3h, so the longest extension allowed is 1h"):
        auto.broker.extend(as_(auto, REQUESTER), grant.id, "1h1m")
    assert end_of(auto.broker.extend(as_(auto, REQUESTER), grant.id, "1h")) == end_of(grant) + timedelta(hours=3)


# -- deciding


def test_an_approved_extension_moves_the_cut_then_iam_then_the_record(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    old_url = grant.grant.console_url if grant.grant else ""
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    approved_at = wired.clock.advance(minutes=5)
    extended = wired.broker.approve(as_(wired, APPROVER), grant.id, "ok")
    new_end = end_of(grant) + timedelta(minutes=30)
    assert extended.grant is not None and grant.grant is not None
    assert extended.grant == dataclasses.replace(
        grant.grant, expires_at=new_end,
        console_url=f"https://broker.example/v1/console/{wired.broker.tokens.sign(grant.id, new_end)}")
    assert extended.grant.console_url != old_url, "the link is signed again for the new end"
    assert extended.extension is None and not extended.guard_pending
    assert wired.grants.policies[grant.grant.policy_arn] == policy_document(grant.role_arn, new_end)
    assert expiry_cuts(wired) == {Cut(new_end, "expiry", REQUESTER)}
    assert last(wired, grant.id) == Event(grant.id, 5, "extended", approved_at, APPROVER, "api", {
        "comment": "ok", "session_guard": "written", "expires_at": rfc3339(new_end)})
    assert wired.notes.kinds(grant.id)[-1] == "extended", "the requester hears of it"
    assert wired.store.get(grant.id) == extended


def test_the_new_console_link_works_until_the_new_end(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    extended = wired.broker.approve(as_(wired, APPROVER), grant.id)
    assert extended.grant is not None
    wired.clock.now = end_of(grant) + timedelta(minutes=29)
    token = extended.grant.console_url.rsplit("/", 1)[-1]
    assert wired.broker.console_redirect(token) == extended.grant.switch_role_url


def test_an_extension_the_target_account_refuses_is_recorded_pending(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    wired.guards.unreachable = True
    extended = wired.broker.approve(as_(wired, APPROVER), grant.id)
    new_end = end_of(grant) + timedelta(minutes=30)
    assert end_of(extended) == new_end and extended.guard_pending
    assert last(wired, grant.id).details == {"comment": "", "session_guard": "pending",
                                             "expires_at": rfc3339(new_end)}
    failed = [e for e in wired.store.events(grant.id) if e.kind == "session_guard_failed"]
    assert [e.details["cut"] for e in failed] == ["extension"]
    assert failed[0].details["role_arn"] == grant.role_arn and failed[0].actor == SYSTEM


def test_iam_refusing_the_new_end_says_when_the_grant_still_ends(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    wired.grants.refuse = "Throttling: rate exceeded"
    with pytest.raises(Unavailable) as refused:
        wired.broker.approve(as_(wired, APPROVER), grant.id)
    still = rfc3339(end_of(grant))
    assert str(refused.value) == f"Throttling: rate exceeded; the grant still ends at {still}, try again"
    stored = wired.store.get(grant.id)
    assert stored.grant == grant.grant and stored.extension is not None, "the round stays open: approve again"
    assert wired.grants.policies[wired.grants.policy_arn(grant.id)] == policy_document(grant.role_arn, end_of(grant))
    assert last(wired, grant.id).kind == "extension_requested"


def test_an_extension_needing_two_approvals_waits_for_the_second(wired: fakes.Fakes) -> None:
    wired = fakes.broker(fakes.catalog(approvals_required=2))
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    first_at = wired.clock.advance(minutes=1)
    first = wired.broker.approve(in_slack(wired, APPROVER), grant.id, "fine by me")
    assert first.grant == grant.grant and first.extension is not None
    assert first.extension.approvals == (Approval(APPROVER, first_at),)
    assert last(wired, grant.id) == Event(grant.id, 6, "extension_approval_added", first_at, APPROVER, "slack",
                                          {"comment": "fine by me"})
    assert wired.grants.policies[wired.grants.policy_arn(grant.id)] == policy_document(grant.role_arn, end_of(grant))
    with pytest.raises(Conflict) as again:
        wired.broker.approve(as_(wired, APPROVER), grant.id)
    assert str(again.value) == f"you already approved the extension of request {grant.id}; it needs another approver"
    second = wired.broker.approve(as_(wired, OTHER_APPROVER), grant.id)
    assert end_of(second) == end_of(grant) + timedelta(minutes=30) and second.extension is None


def test_the_total_is_checked_again_when_the_extension_is_approved(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "2h")
    wired = with_max_duration(wired, 2 * 3600)  # the catalog changed while the round was open
    with pytest.raises(Unprocessable, match="at most 2h in total; this one already lasts 1h, so the longest extension "
                                            "allowed is 1h"):
        wired.broker.approve(as_(wired, APPROVER), grant.id)
    assert wired.store.get(grant.id).grant == grant.grant


def test_the_requester_may_not_decide_their_own_extension(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    for approve, verb in [(True, "approve"), (False, "deny")]:
        with pytest.raises(Forbidden) as refused:
            wired.broker.decide_extension(as_(wired, REQUESTER), grant.id, approve)
        assert str(refused.value) == (f"nobody may {verb} the extension of their own grant; ask one of the "
                                      f"profile's approvers")
    assert wired.store.get(grant.id).extension is not None


@pytest.mark.parametrize("approve", [True, False])
def test_no_extension_waiting_means_nothing_to_decide(wired: fakes.Fakes, approve: bool) -> None:
    grant = granted(wired)
    with pytest.raises(Conflict) as refused:
        wired.broker.decide_extension(as_(wired, APPROVER), grant.id, approve)
    assert str(refused.value) == f"request {grant.id} has no extension waiting for a decision"


@pytest.mark.parametrize("approve", [True, False])
def test_an_extension_of_an_ended_grant_cannot_be_decided(wired: fakes.Fakes, approve: bool) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    with pytest.raises(Conflict, match="only a request that is active can be extended"):
        wired.broker.decide_extension(as_(wired, APPROVER), grant.id, approve)


def test_a_denied_extension_is_recorded_with_its_comment(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    denied_at = wired.clock.advance(minutes=3)
    denied = wired.broker.deny(in_slack(wired, APPROVER), grant.id, "wrap it up")
    assert denied.extension is None and denied.grant == grant.grant and denied.updated_at == denied_at
    assert last(wired, grant.id) == Event(grant.id, 5, "extension_denied", denied_at, APPROVER, "slack",
                                          {"comment": "wrap it up"})
    assert wired.grants.policies[wired.grants.policy_arn(grant.id)] == policy_document(grant.role_arn, end_of(grant))
    again = wired.broker.extend(as_(wired, REQUESTER), grant.id, "15m")
    assert again.extension is not None, "a new round may start"


def test_a_decision_without_a_comment_records_none(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    wired.broker.decide_extension(as_(wired, APPROVER), grant.id, False)
    assert last(wired, grant.id).details == {"comment": ""}


# -- what an extension reads: the request once, then the write's version condition (issue 7's budget of DynamoDB
# calls; tests/perf/test_call_counts.py pins the grant's flows against DynamoDB)



@pytest.mark.parametrize("step", ["ask", "approve", "deny"])
def test_each_step_of_an_extension_reads_the_request_once(wired: fakes.Fakes, step: str) -> None:
    grant = granted(wired)
    if step != "ask":
        wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    reads = reads_of(wired)
    if step == "ask":
        done = wired.broker.extend(as_(wired, REQUESTER), grant.id, "30m")
    else:
        done = getattr(wired.broker, step)(as_(wired, APPROVER), grant.id)
    assert done.version == grant.version + (1 if step == "ask" else 2)
    assert reads == [grant.id]


def test_an_auto_approved_extension_reads_the_request_once(auto: fakes.Fakes) -> None:
    grant = granted(auto)
    reads = reads_of(auto)
    assert end_of(auto.broker.extend(as_(auto, REQUESTER), grant.id, "1h")) == end_of(grant) + timedelta(hours=1)
    assert reads == [grant.id]


# -- auto-approved


def test_an_auto_approved_extension_is_recorded_with_its_new_end(auto: fakes.Fakes) -> None:
    grant = granted(auto)
    extended_at = auto.clock.advance(minutes=10)
    extended = auto.broker.extend(as_(auto, REQUESTER), grant.id, "1h")
    new_end = end_of(grant) + timedelta(hours=1)
    assert end_of(extended) == new_end and extended.extension is None and extended.updated_at == extended_at
    assert last(auto, grant.id) == Event(grant.id, 4, "extended", extended_at, REQUESTER, "api", {
        "duration_seconds": 3600, "session_guard": "written", "expires_at": rfc3339(new_end)})
    assert auto.grants.policies[auto.grants.policy_arn(grant.id)] == policy_document(grant.role_arn, new_end)
    assert expiry_cuts(auto) == {Cut(new_end, "expiry", REQUESTER)}


def test_an_extension_warns_again_before_the_new_end(auto: fakes.Fakes) -> None:
    grant = granted(auto)
    auto.clock.now = end_of(grant) - timedelta(minutes=10)
    assert auto.broker.sweep_due(auto.store.get(grant.id)) == "expiry_warning"
    extended = auto.broker.extend(as_(auto, REQUESTER), grant.id, "1h")
    assert extended.warned_at is None
    new_warning = end_of(extended) - timedelta(minutes=10)
    assert [r.id for r in auto.store.due(State.ACTIVE, new_warning)] == [grant.id]
    auto.clock.now = new_warning
    assert auto.broker.sweep_due(auto.store.get(grant.id)) == "expiry_warning"


def test_an_auto_approved_extension_iam_refuses_is_not_recorded(auto: fakes.Fakes) -> None:
    grant = granted(auto)
    auto.grants.refuse = "AccessDenied: not allowed"
    with pytest.raises(Unavailable, match=f"the grant still ends at {rfc3339(end_of(grant))}"):
        auto.broker.extend(as_(auto, REQUESTER), grant.id, "1h")
    assert auto.store.get(grant.id) == grant
