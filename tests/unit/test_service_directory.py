"""People and groups from the directory (issue 21) as the service runs them on tests/fakes.py: a catalog of a few
lines serves people from IAM groups and approvers from IAM groups and Slack user groups, through both doors; one
human, one person; the request path reads one table item and asks neither IAM nor Slack; leaving a group takes effect
within `refresh`; a failed refresh keeps the last good membership for 24 h, then refuses directory people, saying
why; nothing here is ever an error to the caller beyond a refusal."""
from __future__ import annotations

import pytest

from chalicelib.access_rules import Caller
from chalicelib.catalog import parse_catalog
from chalicelib.domain.catalog import Catalog
from chalicelib.domain.directory import DirectoryUser
from chalicelib.domain.errors import CatalogError, Conflict, Forbidden, NotFound, Unprocessable
from chalicelib.domain.requests import AccessRequest, State
from chalicelib.service.broker import Broker
from tests import fakes

ROLE = "switch-role-for-S3"


def user(name: str, email: str | None = None, slack: str | None = None, **tags: str) -> DirectoryUser:
    return DirectoryUser(name, {**({"email": email} if email else {}), **({"slack-user-id": slack} if slack else {}),
                                **tags})


DANA = user("dana", "dana@example.com", "U0DANA")  # tagged with both
ERIN = user("erin", "erin@example.com")  # email only: her Slack id is looked up
FRAN = user("fran")  # neither: a person over HTTP only
SRE_LEAD = user("sam", "sam@example.com", "U0SAM")


def catalog(**directory: object) -> Catalog:
    return parse_catalog({
        "source_account": "111111111111", "security_channel": "C01SECURITY",
        "directory": {"iam_groups": ["engineers"], "refresh": "4m", **directory},
        "people": {"bob": {"iam_user": "bob", "slack_user_id": "U01BOB", "email": "bob@example.com"}},
        "groups": {"sre": {"iam_group": "sre"}, "db-approvers": {"slack_usergroup": "S0DBAPPROVE"}},
        "profiles": {"s3-prod": {"account": "222222222222", "role": ROLE, "approvers": ["sre", "bob"]},
                     "db-prod": {"account": "222222222222", "role": ROLE, "approvers": ["db-approvers"]}}})


class Directory:
    """A broker whose catalog takes people from the directory, with IAM and Slack as the test sets them."""

    def __init__(self, catalog_: Catalog | None = None) -> None:
        self.iam = fakes.MemoryIam({"engineers": [DANA, ERIN, FRAN, SRE_LEAD], "sre": [SRE_LEAD]})
        self.slack = fakes.MemorySlack({"erin@example.com": "U0ERIN"}, {"S0DBAPPROVE": ["U0ERIN", "U0NOBODY"]})
        self.memberships = fakes.MemoryMemberships()
        wired = fakes.broker(catalog_ or catalog())
        self.wired = wired.rewired(memberships=self.memberships, iam_directory=self.iam, slack_directory=self.slack)
        self.broker: Broker = self.wired.broker

    def arn(self, name: str) -> Caller:
        return self.broker.caller_from_arn(f"arn:aws:iam::111111111111:user/{name}")

    def slack_user(self, slack_id: str) -> Caller:
        return self.broker.caller_from_slack(slack_id)

    def ask(self, name: str, profile: str = "s3-prod", via_slack: str | None = None) -> AccessRequest:
        who = self.slack_user(via_slack) if via_slack else self.arn(name)
        return self.broker.request_access(who, profile, "1h", "fixing the export job")

    def later(self, **delta: float) -> None:
        self.wired.clock.advance(**delta)


@pytest.fixture
def directory() -> Directory:
    d = Directory()
    d.broker.sweep(repair=False)  # the sweeper's first pass reads the directory
    return d


def test_people_from_an_iam_group_request_through_both_doors(directory: Directory) -> None:
    by_api = directory.ask("dana")
    by_slack = directory.ask("dana", via_slack="U0DANA")
    assert by_api.requester == by_slack.requester == "dana" and by_api.requester_iam_user == "dana"
    assert directory.ask("erin", via_slack="U0ERIN").requester == "erin", "a Slack id found by email joins too"
    assert directory.ask("fran").state == State.PENDING, "with no email and no Slack id: over HTTP"
    assert directory.slack_user("U0FRAN").person is None


def test_approvers_from_an_iam_group_and_a_slack_user_group(directory: Directory) -> None:
    request = directory.ask("dana")
    assert directory.broker.approve(directory.arn("sam"), request.id).state == State.ACTIVE
    db = directory.ask("dana", profile="db-prod")
    assert directory.broker.approve(directory.slack_user("U0ERIN"), db.id).state == State.ACTIVE
    other = directory.ask("dana", profile="db-prod")
    with pytest.raises(NotFound):  # over the API, a request one may not decide is one they may not see
        directory.broker.approve(directory.arn("sam"), other.id)


def test_nobody_approves_their_own_request_whichever_door_they_use(directory: Directory) -> None:
    mine = directory.ask("sam", via_slack="U0SAM")
    with pytest.raises(Forbidden, match="own request"):
        directory.broker.approve(directory.arn("sam"), mine.id)


def test_two_approvals_need_two_humans_whichever_doors_the_one_human_uses() -> None:
    two = catalog()
    profile = two.profiles["s3-prod"]
    d = Directory(fakes.dataclasses.replace(two, profiles={**two.profiles, "s3-prod": fakes.dataclasses.replace(
        profile, approvals_required=2)}))
    d.broker.sweep(repair=False)
    request = d.ask("dana")
    assert d.broker.approve(d.slack_user("U0SAM"), request.id).state == State.PENDING
    with pytest.raises(Conflict, match="you already approved"):
        d.broker.approve(d.arn("sam"), request.id)  # the same human over the API: one person, one approval
    assert d.broker.approve(d.arn("bob"), request.id).state == State.ACTIVE


def test_the_request_path_reads_one_table_item_and_asks_neither_iam_nor_slack() -> None:
    d = Directory()
    d.broker.sweep(repair=False)
    d.memberships.reads, looked_up = 0, len(d.slack.looked_up)
    d.iam.unavailable = "IAM must not be asked on the request path"
    cold = Broker(d.broker.written)  # a new process: the same table, a broker built anew
    who = cold.caller_from_slack("U0DANA")
    assert who.person is not None
    cold.request_access(who, "s3-prod", "1h", "fixing the export job")
    assert d.memberships.reads == 1 and len(d.slack.looked_up) == looked_up


def test_a_refresh_looks_up_in_slack_only_people_new_since_the_last(directory: Directory) -> None:
    assert directory.slack.looked_up == ["erin@example.com"], "only the one with an email and no Slack id tag"
    before = list(directory.slack.looked_up)
    directory.iam.groups["engineers"].append(user("gus", "gus@example.com"))
    directory.later(minutes=2)
    directory.broker.sweep(repair=False)
    assert directory.slack.looked_up == [*before, "gus@example.com"]


def test_leaving_an_iam_group_takes_away_what_it_gave_within_refresh(directory: Directory) -> None:
    request = directory.ask("dana")
    directory.iam.groups["sre"] = []
    directory.later(minutes=2)
    directory.broker.sweep(repair=False)
    directory.later(minutes=2)
    with pytest.raises(NotFound):
        directory.broker.approve(directory.arn("sam"), request.id)


def test_a_catalog_entry_wins_over_the_directory_for_its_iam_user() -> None:
    d = Directory()
    d.iam.groups["engineers"].append(user("bob", "bob-other@example.com", "U0OTHER"))
    d.broker.sweep(repair=False)
    assert d.arn("bob").person.slack_user_id == "U01BOB"
    assert d.slack_user("U0OTHER").person is None


def test_one_human_one_person_a_shared_slack_id_joins_neither_and_is_said_once() -> None:
    d = Directory()
    d.iam.groups["engineers"] += [user("dana2", "dana2@example.com", "U0DANA")]
    report = d.broker.sweep(repair=False)
    assert d.slack_user("U0DANA").person is None, "a Slack id that would join two IAM users joins neither"
    assert d.arn("dana").person is not None and d.arn("dana2").person is not None, "both still come over HTTP"
    alerts = [a for a in d.wired.notes.alerts if "U0DANA" in a.upper()]
    assert len(alerts) == 1 and "dana, dana2" in alerts[0]
    assert report.done["directory_notices"] >= 1
    d.later(minutes=2)
    d.broker.sweep(repair=False)
    assert len([a for a in d.wired.notes.alerts if "U0DANA" in a.upper()]) == 1, "said once, not every pass"


def test_unknown_groups_and_malformed_tags_give_nobody_and_are_said() -> None:
    d = Directory()
    del d.iam.groups["sre"]
    d.slack.user_groups.clear()
    d.iam.groups["engineers"].append(user("hal", "not-an-email", "lowercase-id"))
    report = d.broker.sweep(repair=False)
    said = " | ".join(d.wired.notes.alerts)
    assert "IAM group 'sre' does not exist" in said and "Slack user group 'S0DBAPPROVE' does not exist" in said
    assert "'not-an-email' is not an email" in said and "'lowercase-id' is not a Slack user id" in said
    assert report.done["directory_notices"] == 4 and report.errors == 0
    hal = d.arn("hal").person
    assert hal is not None and hal.email is None and hal.slack_user_id is None
    request = d.ask("dana")
    with pytest.raises(NotFound):
        d.broker.approve(d.arn("sam"), request.id)  # sre is empty: only bob approves now
    assert d.broker.approve(d.arn("bob"), request.id).state == State.ACTIVE
    d.iam.unavailable = "IAM answered Throttling: Rate exceeded"
    d.later(minutes=3)
    report = d.broker.sweep(repair=False)
    assert report.done["directory_refresh_failed"] == 1
    assert report.done["directory_notices"] == 4, "the last good membership's notices still stand"


def test_a_failed_refresh_keeps_the_last_good_membership_for_a_day_then_refuses_saying_why(
        directory: Directory) -> None:
    directory.iam.unavailable = "IAM answered Throttling: Rate exceeded"
    directory.later(minutes=3)
    report = directory.broker.sweep(repair=False)
    assert report.errors == 1 and report.done["directory_refresh_failed"] == 1
    assert directory.ask("dana").requester == "dana", "the last good membership holds"
    directory.later(hours=24)
    directory.broker.sweep(repair=False)
    with pytest.raises(Forbidden, match="directory could not be read since .*Throttling"):
        directory.ask("dana")
    refused = directory.slack_user("U0DANA")
    assert refused.person is None and "Throttling" in refused.unmapped_why
    assert directory.ask("bob").requester == "bob", "catalog people are not the directory's: unaffected"
    directory.iam.unavailable = ""
    directory.later(minutes=3)
    directory.broker.sweep(repair=False)
    assert directory.ask("dana").requester == "dana"


def test_before_the_first_refresh_directory_people_are_refused_saying_why() -> None:
    d = Directory()
    with pytest.raises(Forbidden, match="has not been read yet"):
        d.ask("dana")


@pytest.mark.parametrize("change, key", [
    (lambda doc: doc["directory"].update(refresh="30s"), "directory.refresh"),
    (lambda doc: doc["directory"].update(iam_groups=[]), "directory.iam_groups"),
    (lambda doc: doc["directory"].update(email_tag=""), "directory.email_tag"),
    (lambda doc: doc["directory"].update(colour="red"), "directory"),
    (lambda doc: doc["groups"].update(x={"iam_group": "a", "slack_usergroup": "S0A"}), "groups.x"),
    (lambda doc: doc["groups"].update(x={"slack_usergroup": "not-an-id"}), "groups.x.slack_usergroup"),
    (lambda doc: doc["directory"].update(slack_groups_may_approve=False), "profiles.db-prod.approvers"),
    (lambda doc: doc.pop("directory"), "groups.sre.iam_group"),
])
def test_directory_keys_are_checked_at_load_naming_the_key(change, key) -> None:
    doc = {"source_account": "111111111111", "directory": {"iam_groups": ["engineers"]},
           "people": {"bob": {"iam_user": "bob"}},
           "groups": {"sre": {"iam_group": "sre"}, "db-approvers": {"slack_usergroup": "S0DBAPPROVE"}},
           "profiles": {"db-prod": {"account": "222222222222", "role": ROLE, "approvers": ["db-approvers"]}}}
    parse_catalog(doc)
    change(doc)
    with pytest.raises(CatalogError) as refused:
        parse_catalog(doc)
    assert str(refused.value).startswith(f"{key}:"), str(refused.value)


def test_a_catalog_may_keep_slack_admins_from_choosing_approvers() -> None:
    with pytest.raises(CatalogError, match="profiles.db-prod.approvers: Slack user group S0DBAPPROVE may not"):
        catalog(slack_groups_may_approve=False)
    only_iam = parse_catalog({"source_account": "111111111111",
                              "directory": {"iam_groups": ["engineers"], "slack_groups_may_approve": False},
                              "groups": {"sre": {"iam_group": "sre"}},
                              "profiles": {"s3-prod": {"account": "222222222222", "role": ROLE, "approvers": ["sre"]}}})
    assert only_iam.profiles["s3-prod"].approver_refs == ("sre",)


def test_a_catalog_without_a_directory_is_as_it_was() -> None:
    wired = fakes.broker()
    assert wired.broker.deps.catalog is wired.broker.written.catalog
    assert wired.broker.sweep(repair=False).done.get("directory_refreshed") is None


def test_the_membership_is_refreshed_at_half_the_catalog_s_refresh(directory: Directory) -> None:
    directory.later(minutes=1, seconds=59)
    assert "directory_refreshed" not in directory.broker.sweep(repair=False).done
    directory.later(seconds=1)
    assert directory.broker.sweep(repair=False).done["directory_refreshed"] == 1


def test_when_a_directory_user_leaves_their_live_grant_runs_to_its_end(directory: Directory) -> None:
    grant = directory.broker.approve(directory.arn("bob"), directory.ask("dana").id)
    directory.iam.groups["engineers"].remove(DANA)
    directory.later(minutes=2)
    directory.broker.sweep(repair=False)
    directory.later(minutes=2)
    assert directory.wired.store.get(grant.id).state == State.ACTIVE
    with pytest.raises(Unprocessable, match="dana is not mapped to a person"):
        directory.ask("dana")
    directory.later(hours=1)
    directory.broker.sweep(repair=False)
    assert directory.wired.store.get(grant.id).state == State.EXPIRED, "it still ends at its end"
