"""What the domain says, pinned where make mutate found nothing pinning it: the grant's policy document as IAM stores
it, the input each refusal names (a form shows the message under that field), comments as approvers write them, the
directory's membership as the table keeps it, and the transitions of what a grant still owes its sessions."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import access_rules as rules
from chalicelib.domain import sessions_owed
from chalicelib.domain.catalog import Person
from chalicelib.domain.directory import Membership
from chalicelib.domain.durations import parse_duration
from chalicelib.domain.errors import Conflict, DomainError, InvalidInput
from chalicelib.domain.events import EventKind
from chalicelib.domain.grant_policy import POLICY_PATH, is_grant, policy_document, request_id_of
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
