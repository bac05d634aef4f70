"""What the domain says, pinned where make mutate found nothing pinning it: the grant's policy document as IAM stores
it, the input each refusal names (a form shows the message under that field), comments as approvers write them, the
directory's membership as the table keeps it, and the transitions of what a grant still owes its sessions."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import access_rules as rules
from chalicelib.domain import sessions_owed
from chalicelib.domain.catalog import Person
from chalicelib.domain.directory import Membership
from chalicelib.domain.durations import parse_duration
from chalicelib.domain.errors import Conflict, DomainError, InvalidInput
from chalicelib.domain.events import EventKind
from chalicelib.domain.grant_policy import POLICY_PATH, is_grant, policy_document, policy_path, request_id_of
from tests import fakes
from tests.fakes import as_, ask, granted

NOW = datetime(2026, 12, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
ROLE = "arn:aws:iam::222222222222:role/switch-role-for-S3"


def test_the_grant_policy_is_exactly_what_iam_stores() -> None:
    assert policy_document(ROLE, NOW) == {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AccessBrokerGrant", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE,
            "Condition": {"DateLessThan": {"aws:CurrentTime": "2026-12-01T12:00:00Z"},
                          "StringEquals": {"sts:RoleSessionName": "${aws:username}"}}}]}
    assert is_grant(policy_document(ROLE, NOW), {ROLE}) and not is_grant(policy_document(ROLE, NOW), set())
    assert not is_grant({"Statement": [{"Resource": ROLE}]}, {ROLE})
    assert request_id_of(f"arn:aws:iam::111111111111:policy{POLICY_PATH}access-broker-01abc") == "01abc"


def test_a_grant_is_recognised_on_a_host_whose_clock_is_not_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make run` on a laptop in Berlin: drift repair must not take every grant for an impostor."""
    import time

    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        assert is_grant(policy_document(ROLE, NOW), {ROLE})
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_stage_that_cannot_name_an_iam_path_is_refused_saying_why() -> None:
    with pytest.raises(ValueError, match=r"stage 'prod stage'.*/access-broker/<stage>/.*1 to 64 letters, digits"):
        policy_path("prod stage")


@pytest.mark.parametrize("check, field", [
    (lambda: parse_duration(""), "duration"),
    (lambda: parse_duration(None), "duration"),
    (lambda: parse_duration("soon"), "duration"),
    (lambda: parse_duration("0m"), "duration"),
    (lambda: parse_duration("400d"), "duration"),
    (lambda: rules.reason_of(""), "reason"),
    (lambda: rules.reason_of("x" * 1001), "reason"),
    (lambda: rules.reason_of("fixing \x1b[2K the job"), "reason"),
    (lambda: rules.comment_of("x" * 1001), "comment"),
    (lambda: rules.comment_of("ok \x07"), "comment"),
])
def test_each_refusal_names_the_input_it_is_about(check, field: str) -> None:
    with pytest.raises(DomainError) as refused:
        check()
    assert refused.value.field == field


def test_durations_people_type_are_read_as_meant() -> None:
    assert [parse_duration(t) for t in (" 90m ", "1h30m", "PT2H", "p1d", "45s")] == [5400, 5400, 7200, 86400, 45]


def test_a_comment_is_kept_as_written_less_bidi_controls_and_none_is_empty() -> None:
    assert rules.comment_of(None) == "" and rules.comment_of("") == ""
    assert rules.comment_of("looks good\nship it\t(bob)") == "looks good\nship it\t(bob)"
    assert rules.comment_of("ok\u202etxt") == "oktxt"
    assert rules.comment_of("x" * 1000) == "x" * 1000
    with pytest.raises(InvalidInput, match="comment is 1001 characters; keep it to 1000"):
        rules.comment_of("x" * 1001)
    with pytest.raises(InvalidInput, match="U\\+0007 at position 4"):
        rules.comment_of("ok \x07")


def test_the_membership_is_kept_and_read_back_whole() -> None:
    membership = Membership(
        people={"dana": Person("dana", "dana", "U0DANA", "dana@example.com"),
                "fran": Person("fran", "fran", None, None)},
        groups={"sre": frozenset({"dana"}), "db": frozenset()}, refreshed_at=NOW,
        slack_ids={"erin@example.com": "U0ERIN", "gus@example.com": None}, notices=("a notice",),
        failing="IAM GetGroup failed: Throttling", checked_at=NOW + timedelta(minutes=3))
    stored = membership.to_json()
    assert stored == {"people": {"dana": ["dana", "U0DANA", "dana@example.com"], "fran": ["fran", None, None]},
                      "groups": {"sre": ["dana"], "db": []}, "refreshed_at": NOW.isoformat(),
                      "slack_ids": {"erin@example.com": "U0ERIN", "gus@example.com": None},
                      "notices": ["a notice"], "failing": "IAM GetGroup failed: Throttling",
                      "checked_at": (NOW + timedelta(minutes=3)).isoformat()}
    assert Membership.from_json(stored) == membership
    assert membership.checked == NOW + timedelta(minutes=3)
    failed = Membership({}, {}, NOW).failed("x" * 400, NOW + timedelta(hours=1))
    assert failed.failing == "x" * 300 and failed.checked == NOW + timedelta(hours=1) and failed.refreshed_at == NOW


def test_a_refused_guard_retry_counts_and_a_lapsed_cut_is_given_up_once() -> None:
    wired = fakes.broker()
    grant = granted(wired)
    with pytest.raises(Conflict, match="is not pending"):
        sessions_owed.still_pending(grant, NOW)
    wired.guards.unreachable = True
    revoked = wired.broker.revoke(as_(wired, "s3-access"), grant.id)
    assert not sessions_owed.lapsed(revoked, revoked.ended_at + timedelta(hours=1, minutes=4, seconds=59))
    assert sessions_owed.lapsed(revoked, revoked.ended_at + timedelta(hours=1, minutes=5))
    later = revoked.ended_at + timedelta(hours=2)
    retried, kind = sessions_owed.still_pending(revoked, later)
    assert (retried.guard_retries, retried.updated_at, kind) == (1, later, EventKind.SESSION_GUARD_PENDING)
    with pytest.raises(Conflict, match="still owes"):
        sessions_owed.given_up(revoked, revoked.ended_at)
    given_up, kind = sessions_owed.given_up(revoked, later)
    assert (given_up.guard_pending, given_up.cut_lapsed, kind) == (False, True, EventKind.SESSION_CUT_LAPSED)
    with pytest.raises(Conflict):
        sessions_owed.given_up(given_up, later)


def test_a_detach_is_awaited_only_once_and_confirmed_only_when_awaited() -> None:
    wired = fakes.broker()
    pending = ask(wired)
    with pytest.raises(Conflict, match="no detach to wait for"):
        sessions_owed.detach_unconfirmed(pending, NOW)
    ended = wired.broker.revoke(as_(wired, "s3-access"), granted(wired).id)
    waiting, kind = sessions_owed.detach_unconfirmed(ended, NOW)
    assert waiting.detach_pending and kind == EventKind.CLEANUP_PENDING and waiting.updated_at == NOW
    with pytest.raises(Conflict):
        sessions_owed.detach_unconfirmed(waiting, NOW)
    with pytest.raises(Conflict):
        sessions_owed.detach_confirmed(ended, NOW, NOW)
    confirmed, kind = sessions_owed.detach_confirmed(waiting, NOW, NOW + timedelta(seconds=15))
    assert (confirmed.detach_pending, confirmed.cut_in_force_at, confirmed.guard_pending, kind) == (
        False, NOW + timedelta(seconds=15), False, EventKind.DRIFT_REPAIRED)
    owed, _ = sessions_owed.detach_confirmed(waiting, NOW, None)
    assert owed.guard_pending, "a cut the target account did not take is owed"


# -- on-call approval, rounds, and the directory's joins, by their whole outcome


def test_an_on_call_approval_records_who_approved_and_why() -> None:
    wired = fakes.broker()
    request = ask(wired)
    approved, kind = request.auto_approve(NOW, "P0SCHED1", "PS3ACCESS")
    assert (approved.state.value, approved.decided_by, approved.decision_comment, kind) == (
        "approved", "on-call", "on call in P0SCHED1", EventKind.AUTO_APPROVED)
    assert approved.grant is not None and approved.grant.expires_at == NOW + timedelta(hours=1)
    with pytest.raises(Conflict) as refused:
        approved.auto_approve(NOW, "P0SCHED1", "PS3ACCESS")
    assert "only a request that is pending can be auto-approved" in str(refused.value)
    skipped, kind = request.skip_auto_approval(NOW)
    assert (skipped.state, skipped.updated_at, kind) == (request.state, NOW, EventKind.AUTO_APPROVE_SKIPPED)
    with pytest.raises(Conflict, match="only a request that is pending can be left to people"):
        approved.skip_auto_approval(NOW)


def test_a_click_on_another_round_says_what_is_being_decided_now() -> None:
    from chalicelib.domain.rounds import REQUEST, require_round

    wired = fakes.broker()
    grant = granted(wired)
    asked = wired.broker.extend(as_(wired, "s3-access"), grant.id, "30m")
    with pytest.raises(Conflict) as refused:
        require_round(asked, REQUEST)
    assert str(refused.value) == (f"request {grant.id} has moved on to another approval round since that message "
                                  f"(its extension by 30m is being decided now); nothing changed: look at the latest "
                                  f"message about it") and refused.value.extra == {"state": "active"}
    require_round(asked, None)  # the API decides whatever is open


def test_the_directory_s_join_keeps_every_part_of_each_person_and_group() -> None:
    from chalicelib.catalog import parse_catalog
    from chalicelib.domain.directory import DirectoryUser, effective, join

    catalog = parse_catalog({
        "source_account": "111111111111", "directory": {"iam_groups": ["engineers"]},
        "people": {"bob": {"iam_user": "bob", "email": "bob@example.com"}},
        "groups": {"sre": {"iam_group": "sre"}, "pair": ["bob"]},
        "profiles": {"p": {"account": "222222222222", "role": "r", "approvers": ["sre", "bob"],
                           "requesters": ["pair"]}}})
    users = {"engineers": [DirectoryUser("dana", {"email": "dana@example.com", "slack-user-id": "U0DANA"}),
                           DirectoryUser("hal", {"email": "x" * 100, "slack-user-id": "y" * 100}),
                           DirectoryUser("bo2", {"email": "BOB@example.com"})],
             "sre": [DirectoryUser("dana")]}
    membership = join(catalog, users, {}, {}, NOW)
    assert membership.people["dana"] == Person("dana", "dana", "U0DANA", "dana@example.com")
    assert membership.people["bo2"].email is None, "an email another person has joins neither"
    assert f"IAM user 'hal': tag email {'x' * 80!r} is not an email; ignored" in membership.notices
    assert f"IAM user 'hal': tag slack-user-id {'y' * 80!r} is not a Slack user id; ignored" in membership.notices
    joined = effective(catalog, membership, NOW)
    assert joined.groups == {"pair": frozenset({"bob"}), "sre": frozenset({"dana"})}
    assert joined.profiles["p"].approvers == {"dana", "bob"} and joined.profiles["p"].requesters == {"bob"}
    assert joined.directory_unavailable is None
    unread = effective(catalog, None, NOW)
    assert unread.directory_unavailable == ("the directory has not been read yet (the sweeper reads it within a "
                                            "minute of starting); try again shortly")
    assert unread.groups["sre"] == frozenset() and unread.profiles["p"].approvers == {"bob"}
    stale = effective(catalog, membership.failed("IAM GetGroup failed: Throttling", NOW), NOW + timedelta(hours=25))
    assert stale.directory_unavailable == ("the directory could not be read since 2026-12-01 12:00 UTC: IAM GetGroup "
                                           "failed: Throttling; directory people are refused until it can be")
    assert "dana" not in stale.people and stale.people["bob"].email == "bob@example.com"


def test_a_source_that_could_not_be_read_says_which_call_failed_and_when_to_retry() -> None:
    from chalicelib.domain.directory_reads import DirectoryUnavailable

    failed = DirectoryUnavailable("Slack", "users.lookupByEmail", "ratelimited", "slow down", retry_after=30)
    assert str(failed) == "Slack users.lookupByEmail failed: ratelimited: slow down (retry after 30 s)"
    assert (failed.source, failed.operation, failed.error, failed.retry_after) == (
        "Slack", "users.lookupByEmail", "ratelimited", 30)
    assert str(DirectoryUnavailable("IAM", "GetGroup", "Throttling")) == "IAM GetGroup failed: Throttling"


def test_a_guard_caught_up_starts_its_retries_over() -> None:
    wired = fakes.broker()
    request = dataclasses.replace(granted(wired), guard_pending=True, guard_retries=3)
    caught_up, _ = request.guarded(False, NOW)
    assert caught_up.guard_retries == 0 and not caught_up.guard_pending


def test_an_extension_past_the_total_names_the_duration_field() -> None:
    wired = fakes.broker()
    grant = granted(wired, "4h")
    with pytest.raises(DomainError) as refused:
        wired.broker.extend(as_(wired, "s3-access"), grant.id, "30m")
    assert refused.value.field == "duration" and refused.value.extra == {"max_extension_seconds": 0}


def test_not_on_call_counts_the_on_call_users_without_an_email_in_words() -> None:
    from chalicelib.domain.catalog import AutoApprove
    from chalicelib.domain.on_call import NotOnCall, decide

    rules_ = AutoApprove(("P0SCHED1",), 3600)
    one = decide(rules_, 600, "s3-access@example.com", NotOnCall(without_email=1), NOW)
    two = decide(rules_, 600, "s3-access@example.com", NotOnCall(without_email=2), NOW)
    assert one.details()["detail"] == "not on call now in P0SCHED1 (1 on-call user had no email in PagerDuty)"
    assert two.details()["detail"] == "not on call now in P0SCHED1 (2 on-call users had no email in PagerDuty)"


def test_a_fold_that_fits_exactly_is_taken_and_none_fitting_gives_the_coarsest() -> None:
    from chalicelib.domain.session_guard import EXPIRY, REVOKE, Cut, Guard, size

    at = NOW.replace(microsecond=0)
    ahead = Cut(at + timedelta(minutes=3), REVOKE, "ahead")
    guard = Guard(frozenset({Cut(at - timedelta(minutes=1), REVOKE, "old"), ahead,
                             *(Cut(at + timedelta(minutes=20, seconds=n), EXPIRY, f"user-{n}") for n in range(5))}))
    folds = guard.folds(at)
    assert guard.fitted(at, size(folds[0].policy())) == folds[0], "a fold exactly at the budget fits"
    assert guard.fitted(at, 10) == folds[-1], "nothing fits: the coarsest"
    assert ahead in folds[2].cuts, "a revoke ahead keeps its minute"


def test_every_refusal_of_an_ask_names_its_field() -> None:
    from chalicelib.access_rules import Caller

    wired = fakes.broker(fakes.catalog(break_glass=True))
    catalog = wired.broker.catalog
    tool = Caller("arn:aws:iam::111111111111:role/tool", None, "api")
    tools = dataclasses.replace(catalog, trusted_tools=frozenset({tool.principal}),
                                people={**catalog.people, "noiam": Person("noiam", None, None, None)})
    profile = catalog.profiles["s3-prod"]
    cases = [(lambda: rules.requester_of(catalog, tool, None), "requester"),
             (lambda: rules.requester_of(tools, tool, "nobody"), "requester"),
             (lambda: rules.requester_of(tools, tool, "noiam"), "requester"),
             (lambda: rules.requestable(catalog, catalog.people["alice"], "nope"), "profile"),
             (lambda: rules.duration_for(profile, "9h"), "duration"),
             (lambda: rules.allow_break_glass(profile, "too short"), "reason")]
    for check, field in cases:
        with pytest.raises(DomainError) as refused:
            check()
        assert refused.value.field == field, refused.value.detail


def test_a_control_character_is_named_with_its_code_and_position() -> None:
    with pytest.raises(DomainError) as refused:
        rules.reason_of("fixing\x1b the job")
    assert refused.value.detail == ("reason holds the control character U+001B at position 7; write it as plain text "
                                    "(newlines and tabs are fine)")
