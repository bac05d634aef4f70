"""The session guard's model at its edges (domain/session_guard.py): which cuts each change keeps, moves or drops at
the exact second that decides it, the document IAM gets (order, ids, budget), and reading back a document someone
edited by hand. Pure: no AWS. Written against the mutants of the module that `make mutate` found surviving."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

import pytest

from chalicelib.domain.session_guard import (
    BUDGET,
    EVERYONE,
    EXPIRY,
    MAX_SESSION,
    REVOKE,
    ROLE,
    ROLE_EXPIRY,
    Cut,
    Guard,
    size,
)

NOW = datetime(2026, 12, 1, 12, 0, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)
SECOND = timedelta(seconds=1)


def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def guard(*cuts: Cut) -> Guard:
    return Guard(frozenset(cuts))


def deny(sid: str, **condition: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Deny", "Action": "*", "Resource": "*", "Condition": condition}


def document(*statements: Any) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


# -- a grant starts: cuts still ahead that would kill its sessions come down to its start


def test_a_grant_lowers_a_whole_role_cut_still_ahead_to_its_start() -> None:
    lowered = guard(Cut(at(3), ROLE)).granted("alice", at(60), NOW)

    assert lowered.cuts == {Cut(NOW, ROLE), Cut(at(60), EXPIRY, "alice")}


def test_a_grant_starts_at_its_second_whatever_the_microseconds() -> None:
    lowered = guard(Cut(at(3), REVOKE, "alice")).granted("alice", at(60), NOW + timedelta(microseconds=999_999))

    assert lowered.cuts == {Cut(NOW, REVOKE, "alice"), Cut(at(60), EXPIRY, "alice")}


def test_a_grant_leaves_cuts_already_in_force_and_ends_where_they_are() -> None:
    """A revoke cut in the past already denies only sessions issued before it; an expiry or whole-role expiry ahead
    is an end, not a revoke, and is not lowered."""
    cuts = (Cut(at(-3), REVOKE, "alice"), Cut(at(-2), ROLE), Cut(at(30), EXPIRY, "bob"), Cut(at(40), ROLE_EXPIRY))

    after = guard(*cuts).granted("alice", at(60), NOW)

    assert after.cuts == {*cuts, Cut(at(60), EXPIRY, "alice")}


# -- an end is recorded: one future expiry per person, at the latest end


def test_an_end_at_exactly_now_is_past_and_stays_beside_the_future_expiry() -> None:
    after = guard(Cut(at(60), EXPIRY, "alice")).ending("alice", NOW, NOW)

    assert after.cuts == {Cut(NOW, EXPIRY, "alice"), Cut(at(60), EXPIRY, "alice")}


def test_an_expiry_at_exactly_now_is_past_and_stays_when_a_later_end_is_recorded() -> None:
    after = guard(Cut(NOW, EXPIRY, "alice")).ending("alice", at(60), NOW)

    assert after.cuts == {Cut(NOW, EXPIRY, "alice"), Cut(at(60), EXPIRY, "alice")}


def test_an_end_moves_only_its_own_persons_expiry() -> None:
    cuts = (Cut(at(30), EXPIRY, "bob"), Cut(at(90), REVOKE, "alice"), Cut(at(90), ROLE_EXPIRY))

    after = guard(*cuts, Cut(at(30), EXPIRY, "alice")).ending("alice", at(60), NOW)

    assert after.cuts == {*cuts, Cut(at(60), EXPIRY, "alice")}


def test_an_end_is_cut_to_its_second() -> None:
    after = Guard().ending("alice", at(60) + timedelta(microseconds=500_000), NOW)

    assert after.cuts == {Cut(at(60), EXPIRY, "alice")}


# -- a revoke: in force at once for sessions issued before it plus the margin, rounded up to the minute


@pytest.mark.parametrize("revoked_at, cut_at", [
    (NOW, at(5)),  # on the minute: stays on it
    (NOW + SECOND, at(6)),
    (NOW + timedelta(seconds=59), at(6)),
])
def test_a_revoke_cut_rounds_up_to_the_next_whole_minute(revoked_at: datetime, cut_at: datetime) -> None:
    assert Guard().revoked("alice", revoked_at, None).cuts == {Cut(cut_at, REVOKE, "alice")}


def test_a_revoke_keeps_expiries_already_past_and_other_peoples() -> None:
    kept = (Cut(NOW, EXPIRY, "alice"), Cut(at(30), EXPIRY, "bob"), Cut(at(20), ROLE_EXPIRY))

    after = guard(*kept, Cut(at(30), EXPIRY, "alice")).revoked("alice", NOW, None)

    assert after.cuts == {*kept, Cut(at(5), REVOKE, "alice")}


def test_a_revoke_keeps_an_expiry_at_the_second_of_the_other_grants_end() -> None:
    after = Guard().revoked("alice", NOW, still_until=at(60) + timedelta(microseconds=1))

    assert after.cuts == {Cut(at(5), REVOKE, "alice"), Cut(at(60), EXPIRY, "alice")}


def test_another_grant_ending_by_the_revoke_adds_no_expiry() -> None:
    assert Guard().revoked("alice", NOW, still_until=NOW).cuts == {Cut(at(5), REVOKE, "alice")}


# -- pruning: a cut goes once no live session can match it; whole-role cuts collapse to the latest


def test_a_whole_role_expiry_turns_into_a_role_cut_when_it_arrives_not_before() -> None:
    role_expiry = guard(Cut(at(10), ROLE_EXPIRY))

    assert role_expiry.pruned(at(10) - SECOND).cuts == {Cut(at(10), ROLE_EXPIRY)}
    assert role_expiry.pruned(at(10)).cuts == {Cut(at(10), ROLE)}


def test_a_whole_role_expiry_that_turned_is_pruned_an_hour_after() -> None:
    role_expiry = guard(Cut(at(10), ROLE_EXPIRY))

    assert role_expiry.pruned(at(10) + MAX_SESSION - SECOND).cuts == {Cut(at(10), ROLE)}
    assert role_expiry.pruned(at(10) + MAX_SESSION).cuts == set()


def test_only_the_latest_of_several_whole_role_cuts_is_kept() -> None:
    cuts = (Cut(at(1), ROLE), Cut(at(2), ROLE), Cut(at(3), ROLE))

    assert guard(*cuts, Cut(at(60), EXPIRY, "alice")).pruned(NOW).cuts == {Cut(at(3), ROLE), Cut(at(60), EXPIRY,
                                                                                                    "alice")}
    assert guard(*cuts[:2]).pruned(NOW).cuts == {Cut(at(2), ROLE)}


def test_a_whole_role_expiry_turning_joins_the_whole_role_cuts() -> None:
    assert guard(Cut(at(1), ROLE), Cut(at(2), ROLE_EXPIRY)).pruned(at(2)).cuts == {Cut(at(2), ROLE)}


def test_changes_keep_the_folded_mark_of_the_guard_they_change() -> None:
    folded = Guard(frozenset({Cut(at(60), ROLE_EXPIRY)}), folded=True)

    assert folded.granted("alice", at(30), NOW).folded
    assert folded.ending("alice", at(30), NOW).folded
    assert folded.revoked("alice", NOW, None).folded
    assert folded.pruned(NOW).folded
    assert folded.fitted(NOW).folded
    assert not Guard().granted("alice", at(30), NOW).revoked("alice", NOW, None).pruned(NOW).fitted(NOW).folded


# -- folding past the budget: what is in force becomes everyone's cut; revokes still ahead stay named; future
#    expiries share slots (a minute, 5, 15, an hour) and only last lose their names; none under-cuts


def test_folding_treats_an_expiry_at_exactly_now_as_in_force() -> None:
    folded = guard(Cut(NOW, EXPIRY, "alice"), Cut(at(30), EXPIRY, "bob"), Cut(at(60), EXPIRY, "carol")).folded_now(NOW)

    assert folded.cuts == {Cut(NOW, ROLE), Cut(at(60), ROLE_EXPIRY)}
    assert folded.folded


def test_folding_cuts_everyone_at_the_latest_cut_in_force_and_never_at_a_revoke_still_ahead() -> None:
    cuts = (Cut(at(-20), EXPIRY, "alice"), Cut(at(-10), ROLE_EXPIRY), Cut(at(3), REVOKE, "bob"),
            Cut(at(-1), ROLE), Cut(at(-30), REVOKE, "carol"))

    assert guard(*cuts).folds(NOW)[0].cuts == {Cut(at(-1), ROLE), Cut(at(3), REVOKE, "bob")}
    assert guard(*cuts).folded_now(NOW).cuts == {Cut(at(-1), ROLE), Cut(at(3), REVOKE, "bob")}


def test_the_coarsest_fold_keeps_a_whole_role_expiry_at_or_after_every_end() -> None:
    folded = guard(Cut(at(60), EXPIRY, "alice"), Cut(at(45), ROLE_EXPIRY), Cut(at(95), EXPIRY, "bob")).folded_now(NOW)

    assert folded.cuts == {Cut(at(60), ROLE_EXPIRY), Cut(at(45), ROLE_EXPIRY), Cut(at(120), ROLE_EXPIRY)}
    assert folded.guards_grant("alice", at(60)) and folded.guards_grant("bob", at(95))
    times = [(f"20261201T{t}00Z", f"2026-12-01T{t[:2]}:{t[2:]}:00Z") for t in ("1245", "1300", "1400")]
    assert folded.policy() == document(*[deny(f"AccessBrokerRoleExpiry{sid}", DateLessThan={"aws:TokenIssueTime": t},
                                              DateGreaterThanEquals={"aws:CurrentTime": t}) for sid, t in times])


def test_29_distinct_ends_on_one_role_fold_without_cutting_anyone_late() -> None:
    """The review's case: ends a minute and some seconds apart fill the budget; the fold must leave each person a
    cut at or after their own end (the old fold kept one at the earliest end: later ends were not cut at all)."""
    ends = {f"engineer-{n:02d}-with-a-long-iam-user-name": at(10 + n * 1.5) + n * SECOND for n in range(29)}
    full = Guard()
    for user, end in ends.items():
        full = full.granted(user, end, NOW)
    assert size(full.policy()) > BUDGET

    folded = full.fitted(NOW)

    assert folded.folded and size(folded.policy()) <= BUDGET
    assert all(folded.guards_grant(user, end) for user, end in ends.items())
    assert all(min(c.at for c in folded.cuts if c.at >= end) - end < timedelta(minutes=5) for end in ends.values()), \
        "the fold that fits is the finest: each end is cut within the slot it shares"


def test_a_guard_exactly_at_the_budget_is_kept_and_one_character_over_is_folded() -> None:
    alice = guard(Cut(at(-5), REVOKE, "alice"), Cut(at(60), EXPIRY, "bob"))
    budget = size(alice.policy())

    assert alice.fitted(NOW, budget) is alice
    assert alice.fitted(NOW, budget - 1).cuts == {Cut(at(-5), ROLE), Cut(at(60), EXPIRY, "bob")}


# -- what drift repair reads


def test_an_expiry_guards_a_grant_ending_at_or_before_it() -> None:
    alice = guard(Cut(at(60), EXPIRY, "alice"))

    assert alice.guards_grant("alice", at(60) + timedelta(microseconds=999))
    assert alice.guards_grant("alice", at(59))
    assert not alice.guards_grant("alice", at(60) + SECOND)
    assert not alice.guards_grant("bob", at(59))


def test_a_whole_role_expiry_guards_only_grants_ending_at_or_before_it() -> None:
    role_expiry = guard(Cut(at(60), ROLE_EXPIRY))

    assert role_expiry.guards_grant("anyone", at(60))
    assert role_expiry.guards_grant("anyone", at(59))
    assert not role_expiry.guards_grant("anyone", at(61)), "sessions opened after it would outlive the grant's end"
    assert not guard(Cut(at(90), ROLE), Cut(at(90), REVOKE, "alice")).guards_grant("alice", at(60))


def test_an_ended_grant_stands_cut_by_its_own_cut_or_a_whole_role_one_at_or_after_its_end() -> None:
    assert guard(Cut(at(60), EXPIRY, "alice")).cuts_ended("alice", at(60) + timedelta(microseconds=999))
    assert not guard(Cut(at(60), EXPIRY, "alice")).cuts_ended("alice", at(60) + SECOND)
    assert not guard(Cut(at(60), EXPIRY, "bob")).cuts_ended("alice", at(60))
    assert guard(Cut(at(60), ROLE)).cuts_ended("alice", at(60))
    assert guard(Cut(at(60), ROLE_EXPIRY)).cuts_ended("alice", at(30))


# -- the document IAM gets


def test_the_document_is_the_iam_policy_with_statements_in_time_order_then_kind() -> None:
    written = guard(Cut(at(60), EXPIRY, "bob"), Cut(at(5), REVOKE, "carol"), Cut(at(5), EXPIRY, "dave"),
                    Cut(at(60), EXPIRY, "alice"), Cut(at(1), ROLE)).policy()

    assert written == document(
        deny("AccessBrokerRoleCut20261201T120100Z", DateLessThan={"aws:TokenIssueTime": "2026-12-01T12:01:00Z"}),
        deny("AccessBrokerExpiry20261201T120500Z", DateLessThan={"aws:TokenIssueTime": "2026-12-01T12:05:00Z"},
             DateGreaterThanEquals={"aws:CurrentTime": "2026-12-01T12:05:00Z"},
             StringLike={"aws:userid": ["*:dave"]}),
        deny("AccessBrokerRevoke20261201T120500Z", DateLessThan={"aws:TokenIssueTime": "2026-12-01T12:05:00Z"},
             StringLike={"aws:userid": ["*:carol"]}),
        deny("AccessBrokerExpiry20261201T130000Z", DateLessThan={"aws:TokenIssueTime": "2026-12-01T13:00:00Z"},
             DateGreaterThanEquals={"aws:CurrentTime": "2026-12-01T13:00:00Z"},
             StringLike={"aws:userid": ["*:alice", "*:bob"]}),
    )
    assert list(written) == ["Version", "Statement"]


@pytest.fixture
def host_in_paris(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_cuts_are_written_in_utc_whatever_the_hosts_time_zone(host_in_paris: None) -> None:
    """`make run` on a laptop in Paris writes the same document as the Lambda in UTC."""
    written = Guard().ending("alice", datetime(2026, 12, 1, 14, 0, tzinfo=timezone(timedelta(hours=1))), NOW).policy()

    assert written is not None and written["Statement"][0]["Sid"] == "AccessBrokerExpiry20261201T130000Z"


SAME_MINUTE = """
import json
from datetime import datetime, timezone
from chalicelib.domain.session_guard import Cut, Guard
at = datetime(2026, 12, 1, 12, 5, tzinfo=timezone.utc)
kinds = [Cut(at, "expiry", "dave"), Cut(at, "revoke", "carol"), Cut(at, "role"), Cut(at, "role_expiry")]
print(json.dumps(Guard(frozenset(kinds)).policy()))
"""
HERE = Guard(frozenset({Cut(at(5), EXPIRY, "dave"), Cut(at(5), REVOKE, "carol"), Cut(at(5), ROLE),
                        Cut(at(5), ROLE_EXPIRY)}))


def test_the_same_cuts_write_the_same_document_in_every_process() -> None:
    """The broker rewrites IAM only when the document changes: cuts of every kind in one minute must come out in
    one order whatever a process's hash seed (each Lambda cold start has its own)."""
    root = Path(__file__).resolve().parents[2]
    documents = {subprocess.run([sys.executable, "-c", SAME_MINUTE], cwd=root, check=True, capture_output=True,
                                text=True, env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout
                 for seed in range(4)}

    assert documents == {json.dumps(HERE.policy()) + "\n"}  # and in this one
    (only,) = documents
    assert [s["Sid"] for s in json.loads(only)["Statement"]] == [
        "AccessBrokerExpiry20261201T120500Z", "AccessBrokerRevoke20261201T120500Z",
        "AccessBrokerRoleCut20261201T120500Z", "AccessBrokerRoleExpiry20261201T120500Z"]


def test_size_counts_the_document_without_whitespace() -> None:
    assert size({"Version": "2012-10-17", "Statement": []}) == len('{"Version":"2012-10-17","Statement":[]}')
    assert size(None) == 0
    assert size({}) == 0


# -- reading back: what policy() wrote, and nothing else


def test_whole_role_cuts_read_back_as_written() -> None:
    folded = guard(Cut(at(5), ROLE), Cut(at(60), ROLE_EXPIRY), Cut(at(7), REVOKE, "alice"),
                   Cut(at(60), EXPIRY, "bob"))

    read = Guard.from_policy(folded.policy())

    assert read.cuts == folded.cuts
    assert not read.folded


@pytest.mark.parametrize("foreign", [
    "not a statement",
    ["AccessBrokerRevoke20261201T120500Z"],
    {"Effect": "Deny", "Condition": {"StringLike": {"aws:userid": ["*:mallory"]}}},
    {"Sid": 20261201, "Effect": "Deny"},
    {**deny("AccessBrokerRevoke20261201T120500Z", StringLike={"aws:userid": ["*:mallory"]}), "Effect": "Allow"},
    {**deny("AccessBrokerRoleCut20261201T120500Z"), "Effect": "Allow"},
    deny("XAccessBrokerRevoke20261201T120500Z", StringLike={"aws:userid": ["*:mallory"]}),
    deny("AccessBrokerRevoke20261201T120500Zs", StringLike={"aws:userid": ["*:mallory"]}),
    deny("AccessBrokerRevoke20261201T1205Z", StringLike={"aws:userid": ["*:mallory"]}),
])
def test_statements_the_broker_did_not_write_are_dropped(foreign: Any) -> None:
    ours = Cut(at(60), EXPIRY, "alice")

    read = Guard.from_policy(document(foreign, *guard(ours).policy()["Statement"]))

    assert read.cuts == {ours}


@pytest.mark.parametrize("condition", [
    None,
    {"DateLessThan": {"aws:TokenIssueTime": "2026-12-01T12:05:00Z"}},
    {"StringLike": {}},
    {"StringLike": {"aws:userid": []}},
    {"StringLike": {"aws:userid": ["alice", "*alice", 7, None]}},
])
def test_a_personal_statement_naming_no_one_reads_as_no_cut(condition: dict[str, Any] | None) -> None:
    statement = {"Sid": "AccessBrokerRevoke20261201T120500Z", "Effect": "Deny", "Action": "*", "Resource": "*"}
    if condition is not None:
        statement["Condition"] = condition

    assert Guard.from_policy(document(statement)).cuts == set()


def test_a_single_user_id_written_as_a_string_is_read() -> None:
    read = Guard.from_policy(document(deny("AccessBrokerRevoke20261201T120500Z",
                                           StringLike={"aws:userid": "*:alice"})))

    assert read.cuts == {Cut(at(5), REVOKE, "alice")}


def test_user_ids_are_read_after_the_wildcard_role_id_and_its_colon() -> None:
    read = Guard.from_policy(document(deny("AccessBrokerExpiry20261201T130000Z",
                                           StringLike={"aws:userid": ["*:a", "*:bob.smith@corp", "*:"]})))

    assert read.cuts == {Cut(at(60), EXPIRY, "a"), Cut(at(60), EXPIRY, "bob.smith@corp"), Cut(at(60), EXPIRY, "")}


@pytest.mark.parametrize("empty", [None, {}, {"Version": "2012-10-17"}, document()])
def test_no_document_or_no_statements_read_as_an_empty_guard(empty: dict[str, Any] | None) -> None:
    assert Guard.from_policy(empty) == Guard()


def test_read_back_cuts_are_utc_instants() -> None:
    (cut,) = Guard.from_policy(document(deny("AccessBrokerRoleCut20261201T120500Z"))).cuts

    assert cut == Cut(at(5), ROLE, EVERYONE)
    assert cut.at.utcoffset() == timedelta(0)
