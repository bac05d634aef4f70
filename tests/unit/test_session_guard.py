"""The session guard's cuts (domain/session_guard.py): what each change writes, merging, pruning, the budget. Pure."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chalicelib.domain.session_guard import (
    EXPIRY,
    MARGIN,
    MAX_SESSION,
    NO_CUT,
    REVOKE,
    ROLE,
    ROLE_EXPIRY,
    Cut,
    Guard,
    size,
    written_by_broker,
)

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def statements(guard: Guard) -> list[dict]:
    return [s for s in guard.policy()["Statement"] if s != NO_CUT]


def test_a_grant_writes_an_expiry_cut_for_its_person_only() -> None:
    guard = Guard().granted("alice", NOW + HOUR, NOW)

    (statement,) = statements(guard)
    assert statement["Effect"] == "Deny" and statement["Action"] == "*" and statement["Resource"] == "*"
    assert statement["Condition"] == {
        "StringLike": {"aws:userid": ["*:alice"]},
        "DateGreaterThanEquals": {"aws:CurrentTime": "2026-12-01T13:00:00Z"},
        "DateLessThan": {"aws:TokenIssueTime": "2026-12-01T13:00:00Z"},
    }


def test_people_who_share_a_cut_share_a_statement() -> None:
    guard = Guard().granted("alice", NOW + HOUR, NOW).granted("bob", NOW + HOUR, NOW)

    (statement,) = statements(guard)
    assert statement["Condition"]["StringLike"]["aws:userid"] == ["*:alice", "*:bob"]


def test_a_revoke_cuts_at_once_with_a_margin_and_drops_the_expiry_cut() -> None:
    at = NOW + timedelta(minutes=10, seconds=7)
    guard = Guard().granted("alice", NOW + HOUR, NOW).revoked("alice", at, still_until=None)

    assert guard.cuts == {Cut(datetime(2026, 12, 1, 12, 16, tzinfo=timezone.utc), REVOKE, "alice")}
    (statement,) = statements(guard)
    assert statement["Condition"] == {"StringLike": {"aws:userid": ["*:alice"]},
                                      "DateLessThan": {"aws:TokenIssueTime": "2026-12-01T12:16:00Z"}}
    assert "aws:CurrentTime" not in str(statement)  # in force at once


def test_a_revoke_keeps_an_expiry_cut_for_the_persons_other_live_grant() -> None:
    guard = (Guard().granted("alice", NOW + HOUR, NOW).granted("alice", NOW + 2 * HOUR, NOW)
             .revoked("alice", NOW, still_until=NOW + HOUR))

    assert Cut(NOW + HOUR, EXPIRY, "alice") in guard.cuts
    assert not any(c.kind == EXPIRY and c.at == NOW + 2 * HOUR for c in guard.cuts)


def test_a_new_grant_inside_the_margin_lowers_the_cut_to_its_start() -> None:
    revoked = Guard().granted("alice", NOW + HOUR, NOW).revoked("alice", NOW, still_until=None)
    later = NOW + timedelta(minutes=2)

    regranted = revoked.granted("alice", later + HOUR, later)

    assert Cut(later, REVOKE, "alice") in regranted.cuts  # sessions from before the new grant stay cut
    assert not any(c.kind == REVOKE and c.at > later for c in regranted.cuts)
    assert Cut(later + HOUR, EXPIRY, "alice") in regranted.cuts


def test_a_new_grant_leaves_other_peoples_cuts_alone() -> None:
    guard = Guard().revoked("bob", NOW, still_until=None).granted("alice", NOW + HOUR, NOW + timedelta(minutes=1))

    assert Cut(datetime(2026, 12, 1, 12, 5, tzinfo=timezone.utc), REVOKE, "bob") in guard.cuts


def test_overlapping_grants_and_extensions_use_the_latest_end() -> None:
    guard = Guard().granted("alice", NOW + 2 * HOUR, NOW).granted("alice", NOW + HOUR, NOW)
    assert [c for c in guard.cuts if c.user == "alice"] == [Cut(NOW + 2 * HOUR, EXPIRY, "alice")]

    extended = guard.ending("alice", NOW + 3 * HOUR, NOW)
    assert [c for c in extended.cuts if c.user == "alice"] == [Cut(NOW + 3 * HOUR, EXPIRY, "alice")]


def test_an_end_already_past_stays_beside_a_new_grant() -> None:
    """Sessions from before the first end stay cut; the new grant's sessions get their own expiry."""
    guard = Guard().granted("alice", NOW, NOW - HOUR).granted("alice", NOW + 2 * HOUR, NOW + timedelta(minutes=1))

    assert {Cut(NOW, EXPIRY, "alice"), Cut(NOW + 2 * HOUR, EXPIRY, "alice")} <= guard.cuts


def test_cuts_are_pruned_once_no_session_can_match_them() -> None:
    guard = Guard().revoked("alice", NOW, still_until=None).granted("bob", NOW + HOUR, NOW)
    revoke_cut = NOW + MARGIN

    assert guard.pruned(revoke_cut + MAX_SESSION - timedelta(seconds=1)).cuts == guard.cuts
    assert guard.pruned(revoke_cut + MAX_SESSION).cuts == {Cut(NOW + HOUR, EXPIRY, "bob")}
    assert guard.pruned(NOW + HOUR + MAX_SESSION).policy() == {"Version": "2012-10-17", "Statement": [NO_CUT]}


def test_a_role_allowing_longer_sessions_keeps_its_cuts_as_long_as_they_may_last() -> None:
    guard = Guard().revoked("alice", NOW, still_until=None)
    revoke_cut = NOW + MARGIN
    two_hours = 2 * HOUR

    assert guard.pruned(revoke_cut + MAX_SESSION, two_hours).cuts == guard.cuts, \
        "a session of a 2-hour role issued just before the cut is still live an hour after it"
    assert guard.pruned(revoke_cut + two_hours - timedelta(seconds=1), two_hours).cuts == guard.cuts
    assert guard.pruned(revoke_cut + two_hours, two_hours).cuts == set()


def test_an_empty_guard_is_a_statement_no_request_meets_read_back_as_no_cut() -> None:
    empty = Guard().policy()

    assert empty["Statement"] == [NO_CUT] and NO_CUT["Effect"] == "Deny"
    assert NO_CUT["Condition"] == {"DateLessThan": {"aws:TokenIssueTime": "1970-01-01T00:00:00Z"}}
    assert Guard.from_policy(empty) == Guard() and written_by_broker(empty)


def test_a_guard_holding_anything_the_broker_did_not_write_is_told_apart() -> None:
    ours = Guard().granted("alice", NOW + HOUR, NOW).policy()
    allow = {"Sid": "Backdoor", "Effect": "Allow", "Action": "iam:*", "Resource": "*"}
    widened = {**ours, "Statement": [{**ours["Statement"][0], "Action": "s3:GetObject"}]}

    assert written_by_broker(ours) and written_by_broker(None)
    assert not written_by_broker({**ours, "Statement": [*ours["Statement"], allow]}), "an Allow added"
    assert not written_by_broker(widened), "a cut narrowed to one action"


def test_the_same_change_twice_writes_the_same_document() -> None:
    once = Guard().granted("alice", NOW + HOUR, NOW).revoked("alice", NOW, None)
    twice = once.granted("alice", NOW + HOUR, NOW).revoked("alice", NOW, None)

    assert twice.granted("alice", NOW + HOUR, NOW).policy() == once.granted("alice", NOW + HOUR, NOW).policy()
    assert once.revoked("alice", NOW, None).policy() == once.policy()


def test_the_document_reads_back_as_written_and_foreign_statements_are_dropped() -> None:
    guard = Guard().granted("alice", NOW + HOUR, NOW).revoked("bob", NOW, None).granted("carol", NOW + HOUR, NOW)
    document = guard.policy()
    assert document is not None
    document["Statement"].append({"Sid": "Sneaky", "Effect": "Allow", "Action": "*", "Resource": "*"})

    assert Guard.from_policy(document).cuts == guard.cuts
    assert Guard.from_policy(None).cuts == frozenset()


def test_too_many_people_fold_into_the_whole_role_cut() -> None:
    guard = Guard()
    for n in range(60):  # each revoke in its own minute: no two share a statement
        guard = guard.revoked(f"person-{n:02d}", NOW + timedelta(minutes=n), None)
    guard = guard.granted("alice", NOW + HOUR, NOW + timedelta(minutes=59)).granted(
        "bob", NOW + 3 * HOUR, NOW + timedelta(minutes=59))
    now = NOW + timedelta(minutes=59)
    assert size(guard.policy()) > 8192

    folded = guard.fitted(now)

    assert folded.folded
    ahead = {Cut(NOW + timedelta(minutes=n + 5), REVOKE, f"person-{n:02d}") for n in range(55, 60)}
    assert folded.cuts == {Cut(now, ROLE), *ahead,  # what is in force, for everyone; revokes still ahead, named
                           Cut(NOW + HOUR, EXPIRY, "alice"), Cut(NOW + 3 * HOUR, EXPIRY, "bob")}
    by_sid = {s["Sid"]: s["Condition"] for s in statements(folded)}
    assert by_sid["AccessBrokerRoleCut20261201T125900Z"] == {
        "DateLessThan": {"aws:TokenIssueTime": "2026-12-01T12:59:00Z"}}  # everyone's sessions, at once
    assert folded.guards_grant("alice", NOW + HOUR) and folded.guards_grant("bob", NOW + 3 * HOUR)
    assert guard.fitted(now, budget=10**6) is guard


def test_a_whole_role_expiry_that_passed_becomes_a_role_cut() -> None:
    guard = Guard(frozenset({Cut(NOW, ROLE_EXPIRY)}))

    assert guard.pruned(NOW).cuts == {Cut(NOW, ROLE)}


def test_what_drift_repair_checks() -> None:
    guard = Guard().granted("alice", NOW + HOUR, NOW).revoked("bob", NOW, None)

    assert guard.guards_grant("alice", NOW + HOUR)
    assert not guard.guards_grant("carol", NOW + HOUR)
    assert guard.cuts_ended("bob", NOW)
    assert not guard.cuts_ended("alice", NOW + 2 * HOUR)
