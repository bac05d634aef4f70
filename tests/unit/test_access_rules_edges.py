"""chalicelib/access_rules.py at its edges: who a caller is, who may see and decide a request, and what a valid request
names (requester, profile, duration, reason, break-glass), with the message a refused person reads."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib import access_rules as rules
from chalicelib.access_rules import Caller
from chalicelib.catalog import parse_catalog
from chalicelib.domain.catalog import Catalog
from chalicelib.domain.errors import Conflict, Forbidden, Unprocessable
from chalicelib.domain.requests import AccessRequest, Approval

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
TOOL = "arn:aws:iam::111111111111:role/ticket-bot"


def a_catalog() -> Catalog:
    return parse_catalog({
        "source_account": "111111111111", "trusted_tools": [TOOL],
        "people": {"alice": {"iam_user": "alice"}, "bob": {"iam_user": "bob"}, "carol": {"iam_user": "carol"},
                   "erin": {"slack_user_id": "U01ERIN"}},
        "groups": {"approvers": ["bob", "carol"]},
        "profiles": {
            "s3-prod": {"account": "222222222222", "role": "s3", "approvers": ["approvers"], "min_duration": "30m",
                        "default_duration": "1h", "max_duration": "4h"},
            "db-prod": {"account": "222222222222", "role": "db", "approvers": ["carol"], "requesters": ["alice"],
                        "break_glass": True},
            "admin": {"account": "222222222222", "role": "admin", "approvers": ["carol"], "requesters": ["bob"]},
        },
    })


CATALOG = a_catalog()


def person(pid: str) -> Caller:
    return Caller(f"arn:aws:iam::111111111111:user/{pid}", CATALOG.people[pid], "api")


STRANGER = Caller("arn:aws:iam::111111111111:user/mallory", None, "api")
TOOL_CALLER = Caller(TOOL, None, "api")


def request_for(profile: str = "s3-prod", requester: str = "alice", approvals: tuple[str, ...] = ()) -> AccessRequest:
    return AccessRequest(id="r1", profile=profile, requester=requester, requester_iam_user=requester,
                         account="222222222222", role_arn="arn:aws:iam::222222222222:role/s3", reason="export job",
                         duration_seconds=3600, approvals_required=1, created_at=NOW,
                         approvals=tuple(Approval(by, NOW) for by in approvals))


# -- who is asking


def test_the_actor_is_the_person_or_else_the_principal() -> None:
    assert person("bob").actor == "bob"
    assert TOOL_CALLER.actor == TOOL


def test_someone_not_in_the_catalog_is_told_how_to_add_them() -> None:
    assert rules.person_of(person("bob")) is CATALOG.people["bob"]
    with pytest.raises(Forbidden) as refused:
        rules.person_of(STRANGER)
    assert refused.value.detail == ("arn:aws:iam::111111111111:user/mallory is not mapped to a person; add them under "
                                    "`people` in the catalog (iam_user or slack_user_id)")


def test_a_profile_gone_from_the_catalog_can_change_nothing() -> None:
    assert rules.profile_of(CATALOG, "admin").name == "admin"
    with pytest.raises(Conflict) as refused:
        rules.profile_of(CATALOG, "retired")
    assert refused.value.detail == "profile 'retired' is no longer in the catalog; nothing can change this request"


# -- who sees and decides


@pytest.mark.parametrize("caller, sees", [
    (person("alice"), True), (person("bob"), True), (person("carol"), True), (TOOL_CALLER, True),
    (Caller("arn:aws:sts::111111111111:assumed-role/ticket-bot/run-7", None, "api"), True),
    (STRANGER, False), (Caller("slack:U01ERIN", CATALOG.people["erin"], "slack"), False),
])
def test_a_request_is_seen_by_its_requester_its_approvers_and_trusted_tools(caller: Caller, sees: bool) -> None:
    assert rules.may_see(CATALOG, caller, request_for()) is sees


def test_a_request_whose_profile_left_the_catalog_is_seen_by_those_who_approved_it() -> None:
    gone = request_for(profile="retired", approvals=("carol",))
    assert [p for p in ("alice", "bob", "carol") if rules.may_see(CATALOG, person(p), gone)] == ["alice", "carol"]


def test_only_the_profile_s_approvers_decide_and_the_requester_hears_the_domain_s_own_answer() -> None:
    request = request_for()
    for decider in ("bob", "carol", "alice"):  # alice is the requester: the domain refuses her own request
        rules.require_approver(CATALOG, CATALOG.people[decider], request)
    with pytest.raises(Forbidden) as refused:
        rules.require_approver(CATALOG, CATALOG.people["erin"], request)
    assert refused.value.detail == "only approvers of profile s3-prod may decide: bob, carol"
    with pytest.raises(Forbidden, match="only approvers of profile admin may decide: carol$"):
        rules.require_approver(CATALOG, CATALOG.people["bob"], request_for(profile="admin", requester="alice"))
    with pytest.raises(Conflict, match="'retired' is no longer in the catalog"):
        rules.require_approver(CATALOG, CATALOG.people["bob"], request_for(profile="retired"))


# -- who the request is for


def test_a_person_asks_for_themselves() -> None:
    assert rules.requester_of(CATALOG, person("alice"), None) is CATALOG.people["alice"]


def test_a_caller_not_in_the_catalog_is_told_how_to_add_them() -> None:
    with pytest.raises(Unprocessable) as refused:
        rules.requester_of(CATALOG, STRANGER, None)
    assert refused.value.detail == ("arn:aws:iam::111111111111:user/mallory is not mapped to a person; add an entry "
                                    "under `people` in the catalog with its iam_user (or slack_user_id)")


def test_a_trusted_tool_asks_for_a_person_of_the_catalog() -> None:
    assert rules.requester_of(CATALOG, TOOL_CALLER, "bob") is CATALOG.people["bob"]
    with pytest.raises(Forbidden) as refused:
        rules.requester_of(CATALOG, person("alice"), "bob")
    assert refused.value.detail == "only trusted tools may request on behalf of someone; leave out `requester`"


@pytest.mark.parametrize("requester, shown", [("mallory", "'mallory'"), (7, "7"), (["bob"], "['bob']")])
def test_a_trusted_tool_naming_nobody_in_the_catalog_is_told_so(requester: object, shown: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        rules.requester_of(CATALOG, TOOL_CALLER, requester)
    assert refused.value.detail == f"requester {shown} is not a person in the catalog"


@pytest.mark.parametrize("caller, requester", [(Caller("slack:U01ERIN", CATALOG.people["erin"], "slack"), None),
                                               (TOOL_CALLER, "erin")])
def test_a_person_without_an_iam_user_cannot_be_granted_anything(caller: Caller, requester: str | None) -> None:
    with pytest.raises(Unprocessable) as refused:
        rules.requester_of(CATALOG, caller, requester)
    assert refused.value.detail == "person 'erin' has no IAM user; set people.erin.iam_user in the catalog"


# -- what they ask for


def test_a_profile_is_requestable_by_its_requesters() -> None:
    assert rules.requestable(CATALOG, CATALOG.people["alice"], "db-prod").name == "db-prod"


@pytest.mark.parametrize("pid, name, names", [
    ("alice", "admin", ["s3-prod", "db-prod"]), ("bob", "db-prod", ["s3-prod", "admin"]),
    ("carol", 42, ["s3-prod"]), ("carol", None, ["s3-prod"]),
])
def test_a_profile_one_may_not_request_is_unknown_and_the_answer_lists_the_ones_one_may(
        pid: str, name: object, names: list[str]) -> None:
    with pytest.raises(Unprocessable) as refused:
        rules.requestable(CATALOG, CATALOG.people[pid], name)
    assert refused.value.detail == f"unknown profile {name!r}; profiles you may request: {', '.join(names)}"
    assert refused.value.extra == {"profiles": names}


def test_someone_who_may_request_nothing_is_told_none() -> None:
    nobody = parse_catalog({"source_account": "111111111111", "people": {"alice": {"iam_user": "alice"},
                                                                         "bob": {"iam_user": "bob"}},
                            "profiles": {"p": {"account": "222222222222", "role": "r", "approvers": ["bob"],
                                               "requesters": ["bob"]}}})
    with pytest.raises(Unprocessable) as refused:
        rules.requestable(nobody, nobody.people["alice"], "p")
    assert refused.value.detail == "unknown profile 'p'; profiles you may request: none"
    assert refused.value.extra == {"profiles": []}


@pytest.mark.parametrize("asked, seconds", [(None, 3600), ("30m", 1800), ("4h", 14400)])
def test_a_duration_within_the_profile_s_range_counts_ends_included(asked: str | None, seconds: int) -> None:
    assert rules.duration_for(CATALOG.profiles["s3-prod"], asked) == seconds


@pytest.mark.parametrize("asked, shown", [("29m", "29m"), ("4h1s", "4h1s"), ("1d", "24h")])
def test_a_duration_outside_the_range_names_the_range(asked: str, shown: str) -> None:
    with pytest.raises(Unprocessable) as refused:
        rules.duration_for(CATALOG.profiles["s3-prod"], asked)
    assert refused.value.detail == f"duration {shown} is outside what profile s3-prod allows: 30m to 4h"


# -- why they ask


@pytest.mark.parametrize("typed, kept", [
    ("  export job \n", "export job"),
    ("a\u061cb\u200ec\u200fd\u202ae\u202bf\u202cg\u202dh\u202ei\u2066j\u2067k\u2068l\u2069m", "abcdefghijklm"),
    ("x" * 1000, "x" * 1000),
    ("\u202e" + "x" * 1000, "x" * 1000),  # the controls are gone before the length counts
])
def test_a_reason_is_kept_as_it_reads(typed: str, kept: str) -> None:
    assert rules.reason_of(typed) == kept
    assert rules.without_bidi_controls(typed).strip() == kept


@pytest.mark.parametrize("reason", [None, 5, "", " \t\n", "\u202e\u2066 \u2069"])
def test_a_missing_reason_says_what_to_write(reason: object) -> None:
    with pytest.raises(Unprocessable) as refused:
        rules.reason_of(reason)
    assert refused.value.detail == "reason is required: say in a few words why you need access"


def test_a_reason_over_a_thousand_characters_is_refused_saying_its_length() -> None:
    with pytest.raises(Unprocessable) as refused:
        rules.reason_of("y" * 1001)
    assert refused.value.detail == "reason is 1001 characters; keep it to 1000"


# -- break-glass


def test_break_glass_needs_a_break_glass_profile() -> None:
    rules.allow_break_glass(CATALOG.profiles["db-prod"], "r" * 20)
    with pytest.raises(Forbidden) as refused:
        rules.allow_break_glass(CATALOG.profiles["s3-prod"], "r" * 200)
    assert refused.value.detail == ("profile s3-prod has no break-glass access; leave out break_glass and ask for "
                                    "approval")


def test_break_glass_needs_a_reason_of_at_least_twenty_characters() -> None:
    with pytest.raises(Unprocessable) as refused:
        rules.allow_break_glass(CATALOG.profiles["db-prod"], "r" * 19)
    assert refused.value.detail == ("break-glass needs a reason of at least 20 characters (this one has 19): say what "
                                    "is broken and why it cannot wait for an approver")
