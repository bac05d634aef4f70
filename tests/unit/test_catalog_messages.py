"""What an operator reads when the catalog is wrong: the whole message, naming the key, the value and the fix, for
every section; what it is right about when left out (durations' defaults); and a typo (a mapping or a list where a
name belongs) refused like any other, never a crash. (Mutants of chalicelib/catalog.py and catalog_people.py that no
test noticed; the crash was found by them.)"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from chalicelib.catalog import parse_catalog, precompiled_path
from chalicelib.domain.errors import CatalogError

pytestmark = pytest.mark.unit

Change = Callable[[dict[str, Any]], Any]


def base() -> dict[str, Any]:
    return {"source_account": "111111111111", "people": {"ann": {"iam_user": "ann"}, "ben": {}},
            "profiles": {"logs": {"account": "333333333333", "role": "ReadLogs", "approvers": ["ben"]}}}


def profile(**changes: Any) -> Change:
    return lambda doc: doc["profiles"]["logs"].update(changes)


def directory(**spec: Any) -> Change:
    return lambda doc: doc.update(directory={"iam_groups": ["engineers"], **spec})


TOOLS = "trusted_tools: must be a list of IAM ARNs like arn:aws:iam::111111111111:role/tool"
GROUPS = "directory.iam_groups: must be a non-empty list of IAM group names"


@pytest.mark.parametrize("change,message", [
    (lambda d: d.update(slack={"team_id": "bad"}), "slack.team_id: 'bad' is not a Slack team_id like T01ABCDEF"),
    (lambda d: d.update(slack={"team_id": 7}), "slack.team_id: 7 is not a Slack team_id like T01ABCDEF"),
    (lambda d: d.update(slack={"api_app_id": "bad"}),
     "slack.api_app_id: 'bad' is not a Slack api_app_id like A01ABCDEF"),
    (lambda d: d.update(slack={"team": "T01ABCDEF"}), "slack: unknown key 'team'; known keys are api_app_id, team_id"),
    (lambda d: d.update(slack=["T01ABCDEF"]), "slack: must be a mapping, got list"),
    (lambda d: d["people"].update(cat={"slack_user_id": "U01BEN"}, dan={"slack_user_id": "U01BEN"}),
     "people.cat and people.dan have the same slack_user_id ('U01BEN' and 'U01BEN'): each person needs their own; "
     "merge the two entries or correct one of them"),
    (lambda d: d.update(groups={"ann": ["ben"]}), "groups.ann: a group cannot share its name with a person"),
    (lambda d: d.update(slak={}),
     "catalog: unknown key 'slak'; known keys are directory, groups, iam_propagation, on_call, partition, people, "
     "permissions_boundary, profiles, security_channel, slack, source_account, target_accounts, trusted_tools"),
    (lambda d: d.update(profiles=[]), "profiles: must be a mapping, got list"),
    (lambda d: d.update(people=["ann"]), "people: must be a mapping, got list"),
    (lambda d: d.update(people={}),
     "people: the catalog needs at least one person (or a `directory` to take them from)"),
    (lambda d: d.update(groups=["x"]), "groups: must be a mapping, got list"),
    (lambda d: d.update(target_accounts=["x"]), "target_accounts: must be a mapping, got list"),
    (lambda d: d.update(target_accounts={"333333333333": {"guard_role": 7}}),
     "target_accounts.333333333333.guard_role: 7 is not a role ARN in account 333333333333 (like "
     "arn:aws:iam::333333333333:role/access-broker-guard)"),
    (lambda d: d.update(trusted_tools="arn:aws:iam::111111111111:role/tool"), TOOLS),
    (lambda d: d.update(trusted_tools=[7]), TOOLS),
    (lambda d: d.update(trusted_tools=["role/tool"]), TOOLS),
    (lambda d: d.update(partition="aws-moon"), "partition: 'aws-moon' is not one of aws, aws-cn, aws-us-gov"),
    (lambda d: d.update(security_channel="#security"),
     "security_channel: '#security' is not a Slack channel id like C01ABCDEF"),
    (lambda d: d.update(iam_propagation="10m"),
     "iam_propagation: '10m' must be under the session guard's margin of 5 minutes"),
    (profile(color=7), "profiles.logs.color: 7 must be a 6-digit hex colour like F2B0A9"),
    (profile(color="red"), "profiles.logs.color: 'red' must be a 6-digit hex colour like F2B0A9"),
    (lambda d: d["profiles"].update({"Logs!": d["profiles"]["logs"]}),
     "profiles.Logs!: profile names are lowercase letters, digits, '.', '_' or '-'"),
    (profile(min_duration="2h"), "profiles.logs.min_duration: 2h is above default_duration 1h"),
    (profile(min_duration="30m", default_duration="20m"),
     "profiles.logs.min_duration: 30m is above default_duration 20m"),
    (profile(approvals_required=True),
     "profiles.logs.approvals_required: must be a whole number from 1 to the number of approvers (1)"),
    (profile(approvals_required=0),
     "profiles.logs.approvals_required: must be a whole number from 1 to the number of approvers (1)"),
    (profile(approvers=[]), "profiles.logs.approvers: must be a non-empty list of person ids or group names"),
    (profile(approvers=[{"iam_group": "admins"}]), "profiles.logs.approvers: unknown person or group {'iam_group': "
                                                   "'admins'}"),
    (profile(requesters=[["ann"]]), "profiles.logs.requesters: unknown person or group ['ann']"),
    (profile(account=["333333333333"]), "profiles.logs.account: ['333333333333'] is not a 12-digit AWS account id "
                                        "(quote it in YAML: \"012345678901\")"),
    (lambda d: d["people"].update({"Bad Name": {}}),
     "people.Bad Name: person ids are lowercase letters, digits, '.', '_' or '-'"),
    (lambda d: d["people"]["ann"].update(iam_user=7), "people.ann.iam_user: 7 is not a valid IAM user name"),
    (lambda d: d["people"]["ann"].update(iam_user="bad user!"),
     "people.ann.iam_user: 'bad user!' is not a valid IAM user name"),
    (lambda d: d["people"]["ann"].update(slack_user_id="ann"),
     "people.ann.slack_user_id: 'ann' is not a Slack user id like U01ABCDEF"),
    (lambda d: d.update(groups={"team": "ann"}),
     "groups.team: must be a list of person ids, {iam_group: NAME} or {slack_usergroup: ID}"),
    (lambda d: d.update(groups={"team": [7]}), "groups.team: unknown person 7; add them under people first"),
    (lambda d: d.update(groups={"team": [{"iam_group": "admins"}]}),
     "groups.team: unknown person {'iam_group': 'admins'}; add them under people first"),
    (lambda d: d.update(groups={"team": {"iam_group": "bad group!"}}),
     "groups.team.iam_group: 'bad group!' is not an IAM group name"),
    (lambda d: d.update(groups={"team": {"slack_usergroup": "admins"}}),
     "groups.team.slack_usergroup: 'admins' is not a Slack user group id like S0DBAPPROVE"),
    (lambda d: d.update(directory=["engineers"]), "directory: must be a mapping, got list"),
    (directory(slack_tag="x"), "directory: unknown key 'slack_tag'; known keys are email_tag, iam_groups, refresh, "
                               "slack_groups_may_approve, slack_id_tag"),
    (lambda d: d.update(directory={"iam_groups": ["bad group!"]}), GROUPS),
    (lambda d: d.update(directory={"iam_groups": [7]}), GROUPS),
    (directory(email_tag="bad tag!"), "directory.email_tag: 'bad tag!' is not an IAM tag key"),
    (directory(refresh="soon"), "directory.refresh: duration 'soon' is not understood: use minutes or hours like "
                                "`90m`, `2h`, `1h30m`, or ISO 8601 like `PT2H`"),
    (directory(slack_groups_may_approve="yes"), "directory.slack_groups_may_approve: must be true or false"),
])
def test_a_wrong_catalog_says_exactly_what_and_where(change: Change, message: str) -> None:
    doc = base()
    change(doc)
    with pytest.raises(CatalogError) as caught:
        parse_catalog(doc)
    assert str(caught.value) == message


def test_a_catalog_that_is_not_a_mapping_says_so() -> None:
    with pytest.raises(CatalogError) as caught:
        parse_catalog([base()])
    assert str(caught.value) == "catalog: must be a mapping, got list"


def test_approvals_required_from_a_directory_group_names_no_number() -> None:
    doc = {**base(), "directory": {"iam_groups": ["engineers"], "refresh": "1m"},
           "groups": {"admins": {"iam_group": "admins"}}}
    profile(approvers=["admins"], approvals_required=0)(doc)
    with pytest.raises(CatalogError) as caught:
        parse_catalog(doc)
    assert str(caught.value) == ("profiles.logs.approvals_required: must be a whole number from 1 to the number of "
                                 "approvers (as the directory holds them)")
    profile(approvals_required=2)(doc)
    catalog = parse_catalog(doc)
    assert catalog.directory is not None and catalog.directory.refresh == 60, "a minute is refresh enough"


def test_auto_approval_reaches_from_the_profile_minimum_to_its_maximum() -> None:
    def auto(longest: str) -> Any:
        doc = {**base(), "on_call": {"pagerduty_token_parameter": "/access-broker/{stage}/pagerduty-token"}}
        profile(min_duration="30m", max_duration="2h", auto_approve={"on_call": ["P0SCHED1"], "max_duration": longest})(
            doc)
        return parse_catalog(doc).profiles["logs"].auto_approve.max_duration

    assert (auto("30m"), auto("2h")) == (1800, 7200)
    for outside in ("29m", "121m"):
        with pytest.raises(CatalogError, match="auto_approve.max_duration: .* is outside the profile's 30m to 2h"):
            auto(outside)


def test_a_token_parameter_name_may_be_as_long_as_ssm_allows_and_name_the_stage() -> None:
    def on_call(name: str) -> Any:
        return parse_catalog({**base(), "on_call": {"pagerduty_token_parameter": name}}).on_call

    longest = "/" + "a" * 1010
    assert on_call(longest).pagerduty_token_parameter == longest
    with pytest.raises(CatalogError, match=r"^on_call.pagerduty_token_parameter: '/a+… \(1012 characters\) is not"):
        on_call(longest + "a")
    assert on_call("/access-broker/{stage}/pagerduty-token")


def test_what_a_profile_leaves_out() -> None:
    def durations(**spec: Any) -> tuple[int, ...]:
        doc = base()
        profile(**spec)(doc)
        p = parse_catalog(doc).profiles["logs"]
        return p.default_duration, p.min_duration, p.max_duration, p.approval_timeout, p.reminder_after

    assert durations() == (3600, 900, 4 * 3600, 3600, 900)
    assert durations(break_glass=True) == (3600, 900, 3600, 3600, 900)
    assert durations(default_duration="10m") == (600, 600, 4 * 3600, 3600, 900), "no minimum above the default"
    assert durations(default_duration="2h", max_duration="2h") == (7200, 900, 7200, 3600, 900)
    assert durations(min_duration="1h") == (3600, 3600, 4 * 3600, 3600, 900)


def test_names_shown_to_people_and_the_slack_workspace_read_back() -> None:
    doc = base()
    profile(display_name="L" * 80)(doc)
    doc["slack"] = {"team_id": "T01ABCDEF", "api_app_id": "A01ABCDEF"}
    catalog = parse_catalog(doc)
    assert catalog.profiles["logs"].display_name == "L" * 64
    assert (catalog.slack.team_id, catalog.slack.api_app_id) == ("T01ABCDEF", "A01ABCDEF")


def test_the_build_writes_the_precompiled_catalog_next_to_the_yaml() -> None:
    assert precompiled_path(Path("/app/chalicelib/catalog/prod.yaml")) == Path("/app/chalicelib/catalog/prod.yaml.json")
