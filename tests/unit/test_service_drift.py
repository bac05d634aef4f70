"""Drift repair's use of the Broker (chalicelib/drift.py on tests/fakes.py): an active grant whose IAM policy vanished
is applied again or ends failed, a session-guard cut that went missing is written again, each repair is a
`drift_repaired` event the requester hears of, and security alerts reach the notifier and the log. Also which cut an
end owes the session guard: a revoke's or a failure's at once, an expiry's only when it was not written with the
grant, and the person's other live grants on the same role keeping their own expiry cut."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.aws.iam_grants import policy_document
from chalicelib.catalog import parse_catalog
from chalicelib.domain.events import SYSTEM
from chalicelib.domain.requests import AccessRequest, Event, State
from chalicelib.domain.session_guard import EXPIRY, REVOKE
from chalicelib.service import funnel
from tests import fakes
from tests.fakes import as_, cuts, expiry_cut, granted, pages_read, revoke_cut

REQUESTER, APPROVER = "s3-access", "bob"
REFUSAL = "AccessDenied: iam:AttachUserPolicy is not allowed"


def revoke(wired: fakes.Fakes, request: AccessRequest) -> AccessRequest:
    return wired.broker.revoke(as_(wired, REQUESTER), request.id)


def repairs(wired: fakes.Fakes, request_id: str) -> list[Event]:
    return [e for e in wired.store.events(request_id) if e.kind == "drift_repaired"]


def event(wired: fakes.Fakes, request_id: str, kind: str) -> Event:
    (found,) = [e for e in wired.store.events(request_id) if e.kind == kind]
    return found


def policy_vanishes(wired: fakes.Fakes) -> None:
    """Someone deletes the grant policies in IAM behind the broker's back."""
    wired.grants.policies.clear()
    wired.grants.attached.clear()


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker()


# -- an active grant whose policy vanished


def test_a_vanished_grant_policy_is_applied_again_for_the_same_person_role_and_end(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    assert grant.grant is not None
    policy_vanishes(wired)
    wired.clock.advance(minutes=7)
    assert wired.broker.repair_drift() == [f"{grant.id}: policy missing, re-applied"]
    arn = wired.grants.policy_arn(grant.id)
    assert wired.grants.policies[arn] == policy_document(grant.role_arn, grant.grant.expires_at)
    assert wired.grants.attached_users(arn) == [REQUESTER]
    assert wired.store.get(grant.id).state == State.ACTIVE
    (repaired,) = repairs(wired, grant.id)
    assert repaired == Event(grant.id, grant.version, "drift_repaired", wired.clock(), SYSTEM, "system",
                             {"action": "grant_policy_restored", "policy_arn": arn})
    assert wired.notes.kinds(grant.id)[-1] == "drift_repaired", "the requester hears their grant was repaired"


def test_every_page_of_live_grants_is_checked(wired: fakes.Fakes) -> None:
    """Drift reads active grants a page of 100 at a time: a vanished policy on the last page is found too."""
    grants = [granted(wired) for _ in range(130)]
    policy_vanishes(wired)
    repaired = wired.broker.repair_drift()
    assert sorted(repaired) == sorted(f"{g.id}: policy missing, re-applied" for g in grants)


def test_a_grant_policy_whose_end_someone_moved_is_removed_alerted_and_applied_again(wired: fakes.Fakes) -> None:
    grant = granted(wired, "1h")
    arn = wired.grants.policy_arn(grant.id)
    wired.grants.policies[arn] = policy_document(grant.role_arn, grant.grant.expires_at + timedelta(days=30))
    repaired = wired.broker.repair_drift()
    assert repaired == [f"{arn}: removed, not a grant (tampered_grant_removed)",
                        f"{grant.id}: policy missing, re-applied"]
    assert wired.grants.policies[arn] == policy_document(grant.role_arn, grant.grant.expires_at), "its own end again"
    assert len(wired.notes.alerts) == 1 and arn in wired.notes.alerts[0]


@pytest.mark.parametrize("before_end, applied", [(timedelta(seconds=1), True), (timedelta(0), False)])
def test_a_grant_at_its_end_is_not_applied_again(wired: fakes.Fakes, before_end: timedelta, applied: bool) -> None:
    grant = granted(wired)
    assert grant.grant is not None
    policy_vanishes(wired)
    wired.clock.now = grant.grant.expires_at - before_end
    assert wired.broker.restore_grant(grant) == ("re-applied" if applied else None)
    assert bool(wired.grants.policies) is applied
    assert bool(repairs(wired, grant.id)) is applied


def test_iam_refusing_the_repair_ends_the_grant_failed_with_its_sessions_cut(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    policy_vanishes(wired)
    wired.clock.advance(minutes=10)
    wired.grants.refuse = REFUSAL
    assert wired.broker.repair_drift() == [f"{grant.id}: policy missing, marked failed"]
    failed = wired.store.get(grant.id)
    assert failed.state == State.FAILED and failed.failure_reason == REFUSAL and failed.ended_at == wired.clock()
    ended = event(wired, grant.id, "failed")
    assert (ended.actor, ended.channel) == (SYSTEM, "system")
    assert ended.details == {"reason": REFUSAL, "drift": "grant policy missing", "session_guard": "written"}
    assert cuts(wired, grant) == {revoke_cut(wired.clock()), expiry_cut(grant)}, \
        "sessions issued under it are cut at once, and, IAM refusing the detach too, by its end at the latest"
    assert not failed.guard_pending and repairs(wired, grant.id) == []


def test_a_grant_that_ended_since_drift_read_it_is_left_alone(wired: fakes.Fakes) -> None:
    stale = granted(wired)
    revoke(wired, stale)
    assert wired.broker.restore_grant(stale) is None
    assert wired.grants.policies == {} and repairs(wired, stale.id) == []
    assert wired.store.get(stale.id).state == State.REVOKED


def test_a_grant_ended_while_its_policy_was_applied_again_loses_it_again(wired: fakes.Fakes,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    grant = granted(wired)
    policy_vanishes(wired)
    apply = wired.grants.apply

    def revoked_meanwhile(*args: Any) -> str:
        revoke(wired, grant)
        return apply(*args)

    monkeypatch.setattr(wired.grants, "apply", revoked_meanwhile)
    assert wired.broker.restore_grant(grant) is None
    assert wired.grants.policies == {} and wired.grants.attached == {}
    assert wired.store.get(grant.id).state == State.REVOKED and repairs(wired, grant.id) == []


# -- repairs without a request, and security alerts


def test_a_foreign_policy_s_removal_is_recorded_under_its_name_and_alerted_not_notified(wired: fakes.Fakes) -> None:
    name = "01" + "9" * 24
    arn = wired.grants.policy_arn(name)
    wired.grants.policies[arn] = {"Version": "2012-10-17",
                                  "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    wired.grants.attached[arn] = {"mallory"}
    wired.clock.advance(minutes=3)
    assert wired.broker.repair_drift() == [f"{arn}: removed, not a grant (foreign_policy_removed)"]
    assert wired.grants.policies == {}
    assert wired.store.events(name) == [Event(name, 0, "drift_repaired", wired.clock(), SYSTEM, "system", {
        "action": "foreign_policy_removed", "policy_arn": arn, "attached_to": ["mallory"]})]
    assert wired.notes.events == [], "no request, nobody's thread to tell"
    (alert,) = wired.notes.alerts
    assert arn in alert and "mallory" in alert


def test_a_security_alert_goes_to_the_notifier_and_the_error_log(wired: fakes.Fakes,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="chalicelib.service"):
        funnel.alert(wired.broker.deps, "someone wrote a policy under /access-broker/")
    assert wired.notes.alerts == ["someone wrote a policy under /access-broker/"]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", "security alert: someone wrote a policy under /access-broker/")]


class NotifyOnly:
    """A notifier with no security channel."""

    def __init__(self) -> None:
        self.told: list[str] = []

    def notify(self, request: AccessRequest, event: Event) -> None:
        self.told.append(event.kind)

    def alert(self, text: str) -> None:  # no security channel: nobody to tell
        return None

    def resend_due(self, now: datetime) -> list[str]:
        return []


class AlertFails(NotifyOnly):
    def alert(self, text: str) -> None:
        raise ConnectionError("slack.example unreachable, token xoxb-secret")


def test_without_a_security_channel_an_alert_is_still_logged(wired: fakes.Fakes,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    wired = wired.rewired(notifier=NotifyOnly())
    with caplog.at_level(logging.WARNING, logger="chalicelib.service"):
        funnel.alert(wired.broker.deps, "a tampered grant was removed")
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("ERROR", "security alert: a tampered grant was removed")]


def test_an_alert_that_cannot_be_sent_is_logged_and_never_undoes_the_repair(wired: fakes.Fakes,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    wired = wired.rewired(notifier=AlertFails())
    arn = wired.grants.policy_arn("01" + "8" * 24)
    wired.grants.policies[arn] = {"Statement": []}
    with caplog.at_level(logging.WARNING, logger="chalicelib.service"):
        assert wired.broker.repair_drift() == [f"{arn}: removed, not a grant (foreign_policy_removed)"]
    assert wired.grants.policies == {}
    levels = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert levels[0][0] == "ERROR" and levels[0][1].startswith(f"security alert: access-broker removed {arn}")
    assert levels[1:] == [("WARNING", "security alert not sent: ConnectionError")]
    assert "xoxb-secret" not in caplog.text, "the error's text may carry a token: only its class is logged"


# -- a session-guard cut that went missing


def test_a_live_grant_s_missing_expiry_cut_is_written_again(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.guards.guards.clear()
    wired.clock.advance(minutes=5)
    assert wired.broker.repair_drift() == [f"{grant.id}: session guard expiry restored"]
    assert cuts(wired, grant) == {expiry_cut(grant)}
    (repaired,) = repairs(wired, grant.id)
    assert repaired == Event(grant.id, grant.version, "drift_repaired", wired.clock(), SYSTEM, "system",
                             {"action": "session_guard_restored", "role_arn": grant.role_arn})
    assert wired.notes.kinds(grant.id)[-1] == "drift_repaired"


def test_a_revoked_grant_s_missing_cut_is_written_again_as_the_revoke(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.clock.advance(minutes=10)
    revoked = revoke(wired, grant)
    wired.guards.guards.clear()
    wired.clock.advance(minutes=20)
    assert wired.broker.repair_drift() == [f"{grant.id}: session guard cut restored"]
    assert cuts(wired, grant) == {revoke_cut(revoked.ended_at or wired.clock())}
    assert [e.details for e in repairs(wired, grant.id)] == [
        {"action": "session_guard_restored", "role_arn": grant.role_arn}]


def test_an_expired_grant_s_missing_cut_is_written_again_at_its_end(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.clock.advance(hours=1)
    wired.broker.sweep(repair=False)
    assert wired.store.get(grant.id).state == State.EXPIRED
    wired.guards.guards.clear()
    wired.clock.advance(minutes=10)
    assert wired.broker.repair_drift() == [f"{grant.id}: session guard cut restored"]
    assert cuts(wired, grant) == {expiry_cut(grant)}


def test_a_cut_the_sweeper_s_retry_owns_is_not_written_by_drift(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.guards.unreachable = True
    revoke(wired, grant)
    pending = wired.store.get(grant.id)
    assert pending.guard_pending
    wired.guards.unreachable = False
    wired.guards.guards.clear()
    assert wired.broker.restore_cut(pending) is False
    assert cuts(wired, grant) == frozenset() and repairs(wired, grant.id) == []


def test_a_grant_ended_since_drift_found_its_cut_missing_is_not_reported_repaired(wired: fakes.Fakes) -> None:
    stale = granted(wired)
    wired.guards.guards.clear()
    wired.clock.advance(minutes=10)
    revoke(wired, stale)  # the revoke writes its own cut
    assert wired.broker.restore_cut(stale) is False
    assert cuts(wired, stale) == {revoke_cut(wired.clock())} and repairs(wired, stale.id) == []
    assert wired.notes.kinds(stale.id)[-1] == "revoked"


def test_a_cut_the_target_account_refuses_is_not_recorded_as_repaired(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.guards.guards.clear()
    wired.guards.unreachable = True
    assert wired.broker.restore_cut(grant) is False
    assert repairs(wired, grant.id) == []
    assert event(wired, grant.id, "session_guard_failed").details["cut"] == "drift"


def test_a_request_that_never_reached_iam_owes_no_cut(wired: fakes.Fakes) -> None:
    pending = wired.broker.request_access(as_(wired, REQUESTER), "s3-prod", "1h", "fixing the export job")
    assert wired.broker.restore_cut(pending) is False
    assert wired.guards.guards == {} and repairs(wired, pending.id) == []


def test_a_grant_revoked_while_iam_was_applying_it_owes_its_cut_to_drift_too(wired: fakes.Fakes,
                                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    revoked = revoked_while_applied(wired, monkeypatch)
    assert revoked.ended_at is not None and revoked.sessions_may_exist, "nobody knows whether the attach landed"
    wired.guards.guards.clear()
    assert wired.broker.restore_cut(wired.store.get(revoked.id)) is True
    assert REVOKE in {c.kind for c in cuts(wired, revoked)}


def revoked_while_applied(wired: fakes.Fakes, monkeypatch: pytest.MonkeyPatch) -> AccessRequest:
    """A grant revoked while IAM was still attaching its policy (another run is applying it)."""
    request = wired.broker.request_access(as_(wired, REQUESTER), "s3-prod", "1h", "fixing the export job")
    apply = wired.grants.apply
    seen: list[AccessRequest] = []

    def revoked_first(*args: Any) -> str:
        seen.append(revoke(wired, request))
        return apply(*args)

    monkeypatch.setattr(wired.grants, "apply", revoked_first)
    wired.broker.approve(as_(wired, APPROVER), request.id)
    monkeypatch.setattr(wired.grants, "apply", apply)
    assert wired.store.get(request.id).state == State.REVOKED and wired.grants.policies == {}
    return seen[0]


# -- which cut an end owes


def test_a_revoke_cuts_open_sessions_at_once_and_drops_the_expiry_cut(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.clock.advance(minutes=10)
    revoked = revoke(wired, grant)
    assert cuts(wired, grant) == {revoke_cut(wired.clock())}
    assert event(wired, grant.id, "revoked").details == {"session_guard": "written"}
    assert not revoked.guard_pending


def test_an_expiry_s_cut_was_written_with_the_grant_and_is_not_written_again(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.clock.advance(hours=1)
    before = wired.guards.guards[(grant.account, grant.role_arn)]
    wired.guards.guards.clear()  # an expiry that wrote its cut again would show it here
    expired = wired.broker.expire(wired.store.get(grant.id))
    assert expired.state == State.EXPIRED and wired.guards.guards == {}
    assert event(wired, grant.id, "expired").details == {}
    assert before.cuts == {expiry_cut(grant)}


def test_an_expiry_whose_cut_the_target_account_missed_writes_it_then(wired: fakes.Fakes) -> None:
    wired.guards.unreachable = True
    grant = granted(wired)
    assert grant.guard_pending and cuts(wired, grant) == frozenset()
    wired.clock.advance(hours=1)
    wired.guards.unreachable = False
    expired = wired.broker.expire(wired.store.get(grant.id))
    assert expired.state == State.EXPIRED and not expired.guard_pending
    assert cuts(wired, grant) == {expiry_cut(grant)}
    assert event(wired, grant.id, "expired").details == {"session_guard": "written"}


def test_a_revoke_while_the_policy_is_being_attached_still_cuts(wired: fakes.Fakes,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    revoked = revoked_while_applied(wired, monkeypatch)
    assert REVOKE in {c.kind for c in cuts(wired, revoked)}, "an approved grant may be attached: it owes a cut"
    assert event(wired, revoked.id, "revoked").details == {"session_guard": "written"}
    assert not wired.store.get(revoked.id).guard_pending


def test_revoking_one_of_three_live_grants_keeps_the_latest_other_end_as_the_expiry_cut(wired: fakes.Fakes) -> None:
    one, two, three = granted(wired, "1h"), granted(wired, "2h"), granted(wired, "3h")
    assert cuts(wired, one) == {expiry_cut(three)}
    wired.clock.advance(minutes=10)
    revoke(wired, three)
    assert cuts(wired, one) == {revoke_cut(wired.clock()), expiry_cut(two)}
    wired.clock.advance(minutes=10)
    revoke(wired, one)
    assert cuts(wired, one) == {revoke_cut(wired.clock() - timedelta(minutes=10)), revoke_cut(wired.clock()),
                                expiry_cut(two)}


def test_an_ended_grant_keeps_no_expiry_cut_for_the_one_revoked_after_it(wired: fakes.Fakes) -> None:
    first, second = granted(wired, "2h"), granted(wired, "1h")
    wired.clock.advance(minutes=10)
    revoke(wired, first)
    wired.clock.advance(minutes=10)
    revoke(wired, second)
    assert not [c for c in cuts(wired, first) if c.kind == EXPIRY]
    assert cuts(wired, first) == {revoke_cut(wired.clock() - timedelta(minutes=10)), revoke_cut(wired.clock())}


def two_roles() -> fakes.Fakes:
    base = {"account": "222222222222", "approvers": ["s3-approvers"], "default_duration": "1h",
            "max_duration": "4h"}
    return fakes.broker(parse_catalog({
        "source_account": "111111111111", "security_channel": "C01SECURITY", "people": fakes.DEMO_PEOPLE,
        "groups": {"s3-approvers": ["bob", "carol"]},
        "profiles": {"s3-prod": {**base, "role": "switch-role-for-S3"},
                     "logs-prod": {**base, "role": "switch-role-for-logs"}}}))


def test_a_live_grant_on_another_role_keeps_no_expiry_cut_on_this_one() -> None:
    wired = two_roles()
    logs, s3 = granted(wired, "3h", profile="logs-prod"), granted(wired, "1h")
    assert logs.role_arn != s3.role_arn
    wired.clock.advance(minutes=10)
    revoke(wired, s3)
    assert cuts(wired, s3) == {revoke_cut(wired.clock())}
    assert cuts(wired, logs) == {expiry_cut(logs)}


def test_a_live_grant_behind_many_newer_requests_still_keeps_its_expiry_cut(wired: fakes.Fakes) -> None:
    old = granted(wired, "4h")
    for _ in range(120):  # more than two pages of the person's requests, newest first
        wired.broker.request_access(as_(wired, REQUESTER), "s3-prod", "1h", "fixing the export job")
    wired.clock.advance(minutes=10)
    revoke(wired, granted(wired, "1h"))
    assert expiry_cut(old) in cuts(wired, old)


def test_the_latest_end_counts_whichever_page_it_is_on(wired: fakes.Fakes) -> None:
    old = granted(wired, "1h")
    for _ in range(60):
        wired.broker.request_access(as_(wired, REQUESTER), "s3-prod", "1h", "fixing the export job")
    newer = granted(wired, "3h")  # on the first page; `old` is on the second
    wired.clock.advance(minutes=10)
    revoke(wired, granted(wired, "1h"))
    assert expiry_cut(newer) in cuts(wired, old)
    assert expiry_cut(old) not in cuts(wired, old), "one expiry cut per person: the latest end"


def test_requests_older_than_any_grant_can_live_are_not_read(wired: fakes.Fakes) -> None:
    """Paging stops at the first page whose oldest request is older than approval timeout + max duration: a revoke
    costs one Query for a person with a long history."""
    for _ in range(120):
        wired.broker.request_access(as_(wired, REQUESTER), "s3-prod", "1h", "fixing the export job")
    wired.clock.advance(days=30)
    for _ in range(48):  # with the grant revoked below: a first page of 49 recent requests and one from long ago
        wired.broker.request_access(as_(wired, REQUESTER), "s3-prod", "1h", "fixing the export job")
    live = granted(wired, "1h")
    pages = pages_read(wired)
    revoke(wired, live)
    assert pages == [None]


# -- grants no request made, grants moved, detaches confirmed late (issue 24, points 2 and 6)


def test_a_grant_no_request_of_this_stage_made_is_removed_and_said(wired: fakes.Fakes) -> None:
    stray = "01" + "7" * 24
    arn = wired.grants.apply(stray, "alice", wired.broker.catalog.profiles["s3-prod"].role_arn,
                             wired.clock() + timedelta(hours=1))
    assert wired.broker.repair_drift() == [f"{arn}: removed (request unknown request)"]
    assert wired.grants.policies == {}
    (alert,) = wired.notes.alerts
    assert arn in alert and "no request of this stage made" in alert and "alice" in alert


def test_a_live_grant_moved_to_someone_else_is_taken_back_said_and_given_to_its_requester(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    arn = grant.grant.policy_arn
    wired.grants.attached[arn] = {"alice"}  # detached from s3-access, attached to alice: one holder, the wrong one
    repaired = wired.broker.repair_drift()
    assert repaired == [f"{arn}: removed, not a grant (tampered_grant_removed)",
                        f"{grant.id}: policy missing, re-applied"]
    assert wired.grants.attached_users(arn) == [REQUESTER], "its own requester holds it again, alice does not"
    assert len(wired.notes.alerts) == 1 and "alice" in wired.notes.alerts[0]


def test_a_live_grant_held_by_its_requester_is_left_alone(wired: fakes.Fakes) -> None:
    granted(wired)
    assert wired.broker.repair_drift() == [] and wired.notes.alerts == []


def test_a_detach_drift_confirms_late_moves_the_revoke_cut_and_ends_sessions_then(wired: fakes.Fakes) -> None:
    grant = granted(wired, "2h")
    revoked_at = wired.clock.advance(minutes=10)
    wired.grants.refuse = "Throttling: rate exceeded"
    revoked = wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    assert revoked.detach_pending and revoked.sessions_end_by == grant.grant.expires_at
    wired.grants.refuse = None
    detached_at = wired.clock.advance(minutes=20)
    assert wired.broker.repair_drift() == [f"{grant.grant.policy_arn}: removed (request revoked)"]
    stored = wired.store.get(grant.id)
    assert not stored.detach_pending and stored.sessions_end_by == detached_at
    assert cuts(wired, grant) == {revoke_cut(revoked_at), revoke_cut(detached_at)}, \
        "sessions opened until the detach are cut; the grant's own expiry cut is no longer needed"
    assert stored.ended_at == revoked_at, "the revoke still happened when it happened"
