"""The catalog's model (domain/catalog.py): which callers count as a trusted tool, and the questions the broker asks of
a loaded catalog ("who is this Slack user", "who may request what", "which guard role in that account"). Pure: no
AWS. Written against the mutants of the module that `make mutate` found surviving."""
from __future__ import annotations

import dataclasses

import pytest

from chalicelib.domain.catalog import Catalog, GuardRole, Person, Profile, TrustedTools

TOOL_ROLE = "arn:aws:iam::111111111111:role/automation/deploy/Pipeline-Tool"
TOOL_USER = "arn:aws:iam::111111111111:user/ci-bot"


def session(name: str = "Pipeline-Tool", account: str = "111111111111", partition: str = "aws") -> str:
    """The caller ARN API Gateway reports for a session of a role: no path."""
    return f"arn:{partition}:sts::{account}:assumed-role/{name}/build-42"


def profile(name: str, *, requesters: set[str], approvers: set[str], account: str = "222222222222") -> Profile:
    return Profile(name=name, account=account, role="switch-role", display_name=name, color=None,
                   default_duration=3600, min_duration=900, max_duration=4 * 3600, approvers=frozenset(approvers),
                   approvals_required=1, requesters=frozenset(requesters), approval_channel=None,
                   approval_timeout=3600, reminder_after=1800, extension_allowed=True, extension_auto_approve=False,
                   break_glass=False)


ANN = Person("ann", "Ann.Smith", "U01ANN", None)
BEN = Person("ben", None, "U01BEN", "ben@example.com")
CID = Person("cid", "cid", None, None)


def catalog(trusted_tools: object = frozenset(), partition: str = "aws", **changes: object) -> Catalog:
    built = Catalog(source_account="111111111111", partition=partition, security_channel=None,
                    trusted_tools=trusted_tools,  # a plain set, as callers may pass
                    people={p.id: p for p in (ANN, BEN, CID)}, groups={},
                    profiles={"logs": profile("logs", requesters={"ann", "ben"}, approvers={"cid"}),
                              "db": profile("db", requesters={"ann"}, approvers={"ben", "cid"}, account="333333333333"),
                              "s3": profile("s3", requesters={"ben"}, approvers={"ann"})})
    return dataclasses.replace(built, **changes) if changes else built


# -- trusted tools: an ARN listed matches itself; a listed role also matches its sessions


@pytest.mark.parametrize("caller", [
    TOOL_ROLE,
    TOOL_USER,
    session(),
    session("pipeline-tool"),  # IAM role names are unique without case
    session("PIPELINE-TOOL"),
])
def test_a_listed_tool_and_its_role_sessions_are_trusted(caller: str) -> None:
    assert caller in TrustedTools([TOOL_ROLE, TOOL_USER])


@pytest.mark.parametrize("caller", [
    session(account="999999999999"),
    session(partition="aws-cn"),
    session("Pipeline"),
    session("Pipeline-Tool-2"),
    "arn:aws:sts::111111111111:assumed-role/ci-bot/build-42",  # a session named like a listed *user*
    "arn:aws:iam::111111111111:role/Pipeline-Tool",  # the role without its path is another ARN
    "arn:aws:sts::111111111111:assumed-role/Pipeline-Tool",  # no session name: not a session ARN
    "arn:aws:iam::111111111111:user/CI-BOT",  # user ARNs match exactly
    "",
])
def test_other_callers_are_not_trusted(caller: str) -> None:
    assert caller not in TrustedTools([TOOL_ROLE, TOOL_USER])


@pytest.mark.parametrize("caller", [None, 42, ("arn:aws:iam::111111111111:user/ci-bot",)])
def test_a_caller_that_is_not_an_arn_string_is_not_trusted(caller: object) -> None:
    assert caller not in TrustedTools([TOOL_ROLE, TOOL_USER])


def test_no_trusted_tools_trusts_no_one() -> None:
    assert session() not in TrustedTools()
    assert TOOL_ROLE not in TrustedTools()


def test_trusted_tools_read_as_the_set_of_arns_the_catalog_lists() -> None:
    tools = TrustedTools([TOOL_USER, TOOL_ROLE, TOOL_USER])

    assert list(tools) == [TOOL_ROLE, TOOL_USER] and len(tools) == 2
    assert tools == TrustedTools([TOOL_ROLE, TOOL_USER]) and hash(tools) == hash(TrustedTools([TOOL_ROLE, TOOL_USER]))
    assert tools != TrustedTools([TOOL_ROLE]) and tools != {TOOL_ROLE, TOOL_USER}
    assert repr(tools) == f"TrustedTools([{TOOL_ROLE!r}, {TOOL_USER!r}])"


def test_a_catalog_given_a_plain_set_of_arns_matches_role_sessions_too() -> None:
    built = catalog(trusted_tools={TOOL_ROLE})

    assert built.trusted_tools == TrustedTools([TOOL_ROLE])
    assert session() in built.trusted_tools
    assert catalog(trusted_tools=TrustedTools([TOOL_ROLE])).trusted_tools == TrustedTools([TOOL_ROLE])


# -- who is this caller


def test_a_slack_user_maps_to_their_person_and_an_unknown_one_to_no_one() -> None:
    assert catalog().person_by_slack_id("U01BEN") == BEN
    assert catalog().person_by_slack_id("U01NOBODY") is None
    assert catalog().person_by_slack_id("u01ben") is None  # Slack ids are exact


def test_an_iam_user_maps_to_their_person_without_case_and_an_unknown_one_to_no_one() -> None:
    assert catalog().person_by_iam_user("ann.smith") == ANN
    assert catalog().person_by_iam_user("ANN.SMITH") == ANN
    assert catalog().person_by_iam_user("ann") is None
    assert catalog().person_by_iam_user("") is None  # ben has no IAM user: nothing matches an empty name


# -- who may request or approve what


def test_the_profiles_a_person_may_request_and_approve() -> None:
    built = catalog()

    assert [p.name for p in built.requestable_by("ann")] == ["logs", "db"]
    assert [p.name for p in built.approvable_by("ann")] == ["s3"]
    assert [p.name for p in built.approvable_by("cid")] == ["logs", "db"]
    assert built.requestable_by("cid") == [] and built.approvable_by("nobody") == []


# -- the guard role in each target account, and the sign-in host


def test_each_target_account_gets_the_default_guard_role_in_the_catalogs_partition() -> None:
    built = catalog(partition="aws-us-gov")

    assert built.guard_roles() == [
        GuardRole("arn:aws-us-gov:iam::222222222222:role/access-broker-guard", "access-broker-111111111111"),
        GuardRole("arn:aws-us-gov:iam::333333333333:role/access-broker-guard", "access-broker-111111111111")]


def test_an_account_named_in_target_accounts_uses_its_own_guard_role() -> None:
    own = GuardRole("arn:aws:iam::333333333333:role/sec/guard", "x-ext")
    built = catalog(target_accounts={"333333333333": own})

    assert built.guard_roles() == [
        GuardRole("arn:aws:iam::222222222222:role/access-broker-guard", "access-broker-111111111111"), own]


@pytest.mark.parametrize("partition, host", [("aws", "signin.aws.amazon.com"), ("aws-cn", "signin.amazonaws.cn"),
                                             ("aws-us-gov", "signin.amazonaws-us-gov.com")])
def test_the_sign_in_host_is_the_partitions(partition: str, host: str) -> None:
    assert catalog(partition=partition).signin_host == host


def test_a_profile_names_its_role_arn_in_its_partition_and_its_allowed_range() -> None:
    logs = dataclasses.replace(profile("logs", requesters=set(), approvers=set()), partition="aws-cn")

    assert logs.role_arn == "arn:aws-cn:iam::222222222222:role/switch-role"
    assert logs.allowed_range() == "15m to 4h"
