"""What the Broker answers without changing anything: who a caller is (an IAM user of the source account, a Slack
user), which profiles they may request, which requests they may see and list (mine, by state, awaiting me), the audit
log scoped to what they approve, and the console link while its grant lasts."""
from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import pytest

from chalicelib.access_rules import Caller
from chalicelib.catalog import parse_catalog
from chalicelib.domain.catalog import Catalog
from chalicelib.domain.errors import Forbidden, Gone, NotFound
from chalicelib.domain.events import EventKind
from chalicelib.domain.requests import AccessRequest, State
from chalicelib.service import funnel
from tests import fakes
from tests.fakes import as_

TOOL = "arn:aws:iam::111111111111:role/audit-bot"


def two_profiles(auditors: bool = True) -> Catalog:
    """s3-prod approved by bob and carol, db-prod by carol alone; dave audits (when `auditors`)."""
    profile = {"account": "222222222222", "approvals_required": 1, "default_duration": "1h", "max_duration": "4h"}
    groups = {"s3-approvers": ["bob", "carol"], **({"auditors": ["dave"]} if auditors else {})}
    return parse_catalog({
        "source_account": "111111111111", "security_channel": "C01SECURITY", "trusted_tools": [TOOL],
        "people": {**fakes.DEMO_PEOPLE, "erin": {"slack_user_id": "U01ERIN"}}, "groups": groups,
        "profiles": {"s3-prod": {**profile, "role": "switch-role-for-S3", "approvers": ["s3-approvers"]},
                     "db-prod": {**profile, "role": "db", "approvers": ["carol"],
                                 "requesters": ["s3-access", "alice"]}},
    })


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker(two_profiles())


def ask(wired: fakes.Fakes, who: str = "s3-access", profile: str = "s3-prod") -> AccessRequest:
    wired.clock.advance(seconds=1)  # newest first is by creation
    return wired.broker.request_access(as_(wired, who), profile, "1h", "fixing the export job")


def ids(requests: list[AccessRequest]) -> list[str]:
    return [r.id for r in requests]


# -- who is asking


@pytest.mark.parametrize("arn, person", [
    ("arn:aws:iam::111111111111:user/bob", "bob"),
    ("arn:aws:iam::111111111111:user/engineering/oncall/bob", "bob"),  # a user's path is not its name
    ("arn:aws:iam::111111111111:user/BOB", "bob"),  # IAM user names are unique without case
    ("arn:aws:iam::111111111111:user/team:ops/bob", "bob"),  # a path may hold any printable ASCII, `:` too
    ("arn:aws:iam::999999999999:user/bob", None),
    ("arn:aws:iam::111111111111:role/bob", None),
    ("arn:aws:sts::111111111111:assumed-role/bob/session", None),
    ("arn:aws-cn:iam::111111111111:user/bob", None),
    ("arn:aws:iam::111111111111:user/mallory", None),
    ("bob", None),
])
def test_only_an_iam_user_of_the_source_account_is_a_person(wired: fakes.Fakes, arn: str, person: str | None) -> None:
    caller = wired.broker.caller_from_arn(arn)
    assert caller.principal == arn and caller.channel == "api"
    assert (caller.person.id if caller.person else None) == person


def test_the_channel_is_kept(wired: fakes.Fakes) -> None:
    assert wired.broker.caller_from_arn("arn:aws:iam::111111111111:user/bob", "slack").channel == "slack"


def test_a_slack_user_is_the_person_with_that_slack_id(wired: fakes.Fakes) -> None:
    assert wired.broker.caller_from_slack("U01BOB") == Caller("slack:U01BOB", wired.broker.catalog.people["bob"],
                                                             "slack")
    assert wired.broker.caller_from_slack("U0NOBODY") == Caller("slack:U0NOBODY", None, "slack")


def test_profiles_for_are_the_ones_a_person_may_request(wired: fakes.Fakes) -> None:
    assert [p.name for p in wired.broker.profiles_for(as_(wired, "alice"))] == ["s3-prod", "db-prod"]
    assert [p.name for p in wired.broker.profiles_for(as_(wired, "bob"))] == ["s3-prod"]
    assert wired.broker.profiles_for(wired.broker.caller_from_arn(TOOL)) == []


# -- one request


def test_a_request_and_its_events_are_for_its_requester_approvers_and_trusted_tools(wired: fakes.Fakes) -> None:
    request = ask(wired, profile="db-prod")
    for caller in (as_(wired, "s3-access"), as_(wired, "carol"), wired.broker.caller_from_arn(TOOL)):
        assert wired.broker.get(caller, request.id) == request
        assert [e.kind for e in wired.broker.events(caller, request.id)] == ["created"]
    for caller in (as_(wired, "bob"), wired.broker.caller_from_arn("arn:aws:iam::111111111111:user/mallory")):
        with pytest.raises(NotFound) as hidden:
            wired.broker.get(caller, request.id)
        assert hidden.value.detail == f"no request with id '{request.id}'"
        with pytest.raises(NotFound):
            wired.broker.events(caller, request.id)


# -- lists


def test_my_requests_in_every_state_or_in_one(wired: fakes.Fakes) -> None:
    first, second = ask(wired), ask(wired, profile="db-prod")
    ask(wired, who="alice")
    wired.broker.approve(as_(wired, "carol"), second.id)
    me = as_(wired, "s3-access")
    assert ids(wired.broker.list(me).items) == ids(wired.broker.list(me, mine=True).items) == [second.id, first.id]
    assert ids(wired.broker.list(me, state=State.ACTIVE, mine=True).items) == [second.id]
    assert ids(wired.broker.list(me, state=State.PENDING, mine=True).items) == [first.id]


def test_my_requests_page_by_page(wired: fakes.Fakes) -> None:
    first, second = ask(wired), ask(wired)
    me = as_(wired, "s3-access")
    page = wired.broker.list(me, limit=1)
    assert ids(page.items) == [second.id] and page.next
    last = wired.broker.list(me, limit=1, cursor=page.next)
    assert ids(last.items) == [first.id] and last.next is None


def test_a_list_pages_by_fifty_unless_asked_otherwise(wired: fakes.Fakes) -> None:
    made = [ask(wired) for _ in range(51)]
    page = wired.broker.list(as_(wired, "s3-access"))
    assert ids(page.items) == ids(made[:0:-1]) and page.next
    assert ids(wired.broker.list(as_(wired, "s3-access"), cursor=page.next).items) == [made[0].id]


def test_requests_in_a_state_are_the_ones_i_may_see(wired: fakes.Fakes) -> None:
    s3, db = ask(wired), ask(wired, who="alice", profile="db-prod")
    daves = ask(wired, who="dave")
    wired.broker.approve(as_(wired, "bob"), ask(wired).id)  # active: not pending
    pending = State.PENDING
    assert ids(wired.broker.list(as_(wired, "bob"), state=pending).items)[-1:] == [s3.id]
    assert db.id not in ids(wired.broker.list(as_(wired, "bob"), state=pending).items)
    assert ids(wired.broker.list(as_(wired, "alice"), state=pending).items) == [db.id]
    assert ids(wired.broker.list(as_(wired, "dave"), state=pending).items) == [daves.id], "an auditor lists his own"


def test_requests_in_a_state_page_by_page(wired: fakes.Fakes) -> None:
    first, second = ask(wired), ask(wired)
    bob = as_(wired, "bob")
    page = wired.broker.list(bob, state=State.PENDING, limit=1)
    assert ids(page.items) == [second.id] and page.next
    last = wired.broker.list(bob, state=State.PENDING, limit=1, cursor=page.next)
    assert ids(last.items) == [first.id] and last.next is None


def test_awaiting_me_is_what_i_approve_and_may_still_decide() -> None:
    wired = fakes.broker(dataclasses.replace(two_profiles(), profiles={
        name: dataclasses.replace(p, approvals_required=2) if name == "s3-prod" else p
        for name, p in two_profiles().profiles.items()}))
    approved_by_me, fresh = ask(wired), ask(wired, who="alice")
    not_mine_to_decide = ask(wired, who="alice", profile="db-prod")
    ask(wired, who="bob")  # my own
    wired.broker.approve(as_(wired, "bob"), approved_by_me.id)
    assert ids(wired.broker.list(as_(wired, "bob"), awaiting_me=True).items) == [fresh.id]
    carol = ids(wired.broker.list(as_(wired, "carol"), awaiting_me=True).items)
    assert not_mine_to_decide.id in carol and approved_by_me.id in carol and len(carol) == 4


def test_awaiting_me_only_lists_pending_requests_page_by_page(wired: fakes.Fakes) -> None:
    first, second = ask(wired), ask(wired)
    wired.broker.deny(as_(wired, "carol"), ask(wired).id)
    bob = as_(wired, "bob")
    assert ids(wired.broker.list(bob, awaiting_me=True).items) == [second.id, first.id]
    page = wired.broker.list(bob, awaiting_me=True, limit=1)
    assert ids(page.items) == [second.id] and page.next
    last = wired.broker.list(bob, awaiting_me=True, limit=1, cursor=page.next)
    assert ids(last.items) == [first.id] and last.next is None


@pytest.mark.parametrize("options", [{}, {"awaiting_me": True}, {"state": State.PENDING}])
def test_someone_outside_the_catalog_lists_nothing(wired: fakes.Fakes, options: dict[str, object]) -> None:
    ask(wired)
    with pytest.raises(Forbidden, match="is not mapped to a person"):
        wired.broker.list(wired.broker.caller_from_arn(TOOL), **options)


# -- the audit log


def window(wired: fakes.Fakes) -> tuple[datetime, datetime]:
    return wired.clock() - timedelta(days=1), wired.clock() + timedelta(days=1)


def audited(wired: fakes.Fakes, caller: Caller, limit: int = 100, cursor: str | None = None) -> list[str]:
    return [f"{e.request_id}:{e.kind}" for e in wired.broker.audit(caller, *window(wired), limit, cursor).items]


def test_an_approver_audits_the_profiles_they_approve_and_nothing_else(wired: fakes.Fakes) -> None:
    s3, db = ask(wired), ask(wired, profile="db-prod")
    funnel.record_repair(wired.broker.deps, None, "orphan-policy", "policy_removed",
                         {"policy_arn": "arn:aws:iam::1:policy/x"})
    assert audited(wired, as_(wired, "bob")) == [f"{s3.id}:created"]
    assert audited(wired, as_(wired, "carol")) == [f"{s3.id}:created", f"{db.id}:created"]


@pytest.mark.parametrize("who", ["dave", TOOL, "arn:aws:sts::111111111111:assumed-role/audit-bot/nightly"])
def test_auditors_and_trusted_tools_audit_everything(wired: fakes.Fakes, who: str) -> None:
    s3, db = ask(wired), ask(wired, profile="db-prod")
    funnel.record_repair(wired.broker.deps, None, "orphan-policy", "policy_removed",
                         {"policy_arn": "arn:aws:iam::1:policy/x"})
    caller = wired.broker.caller_from_arn(who if who.startswith("arn:") else f"arn:aws:iam::111111111111:user/{who}")
    assert audited(wired, caller) == [f"{s3.id}:created", f"{db.id}:created", "orphan-policy:drift_repaired"]


def test_an_approver_reads_the_brokers_own_notes_on_their_profiles_requests(wired: fakes.Fakes) -> None:
    s3 = ask(wired)
    funnel.note(wired.broker.deps, s3, EventKind.NOTIFY_FAILED, {"event": "created", "error": "SlackApiError"})
    funnel.record_repair(wired.broker.deps, s3, s3.id, "policy_restored", {"policy_arn": "arn:aws:iam::1:policy/x"})
    assert sorted(audited(wired, as_(wired, "bob"))) == [f"{s3.id}:created", f"{s3.id}:drift_repaired",
                                                         f"{s3.id}:notify_failed"]


def test_an_auditor_s_export_pages_through_everything(wired: fakes.Fakes) -> None:
    made = [ask(wired), ask(wired, profile="db-prod"), ask(wired)]
    dave = wired.broker.caller_from_arn("arn:aws:iam::111111111111:user/dave")
    seen, cursor = [], None
    for _ in range(len(made) + 1):
        page = wired.broker.audit(dave, *window(wired), 1, cursor)
        seen += [e.request_id for e in page.items]
        if not (cursor := page.next):
            break
    assert seen == [r.id for r in made], "each page goes on where the last one stopped, to the end"


def test_an_approver_s_audit_pages_through_their_profiles_only(wired: fakes.Fakes) -> None:
    s3 = ask(wired)
    ask(wired, profile="db-prod")
    second = ask(wired)
    page = wired.broker.audit(as_(wired, "bob"), *window(wired), 1, None)
    assert [e.request_id for e in page.items] == [s3.id] and page.next
    rest = wired.broker.audit(as_(wired, "bob"), *window(wired), 1, page.next)
    assert [e.request_id for e in rest.items] == [second.id] and rest.next is None, \
        "db-prod's event is not bob's to see, nor does a page (or its cursor) stand for it"


@pytest.mark.parametrize("auditors", [True, False])
def test_the_audit_log_is_refused_to_people_who_approve_nothing(auditors: bool) -> None:
    wired = fakes.broker(two_profiles(auditors))
    ask(wired)
    callers = [as_(wired, "alice"), wired.broker.caller_from_arn("arn:aws:iam::111111111111:user/mallory"),
               wired.broker.caller_from_slack("U01ERIN")]
    for caller in callers:
        with pytest.raises(Forbidden) as refused:
            wired.broker.audit(caller, *window(wired), 10, None)
        assert refused.value.detail == ("the audit log is for approvers and trusted tools (and the catalog's "
                                        "`auditors` group)")


def test_without_an_auditors_group_an_approver_still_audits_their_profiles() -> None:
    wired = fakes.broker(two_profiles(auditors=False))
    s3 = ask(wired)
    ask(wired, profile="db-prod")
    assert audited(wired, as_(wired, "bob")) == [f"{s3.id}:created"]
    with pytest.raises(Forbidden):
        audited(wired, as_(wired, "dave"))


# -- the console link


def link_of(request: AccessRequest) -> str:
    assert request.grant is not None
    return request.grant.console_url.rsplit("/", 1)[-1]


def test_the_console_link_stops_with_the_grant_saying_why(wired: fakes.Fakes) -> None:
    grant = wired.broker.approve(as_(wired, "bob"), ask(wired).id)
    assert grant.grant is not None
    assert wired.broker.console_redirect(link_of(grant)) == (
        "https://signin.aws.amazon.com/switchrole?account=222222222222&roleName=switch-role-for-S3"
        "&displayName=s3-prod")
    wired.broker.revoke(as_(wired, "s3-access"), grant.id)
    with pytest.raises(Gone) as ended:
        wired.broker.console_redirect(link_of(grant))
    assert ended.value.detail == f"the grant of request {grant.id} has ended (revoked); request access again"


def test_a_link_that_outlives_its_grant_stops_at_the_grant_s_end(wired: fakes.Fakes) -> None:
    grant = wired.broker.approve(as_(wired, "bob"), ask(wired).id)
    assert grant.grant is not None
    longer = wired.broker.tokens.sign(grant.id, grant.grant.expires_at + timedelta(hours=1))
    wired.clock.now = grant.grant.expires_at - timedelta(seconds=1)
    assert wired.broker.console_redirect(longer) == grant.grant.switch_role_url
    wired.clock.now = grant.grant.expires_at  # the sweeper has not recorded the expiry yet
    with pytest.raises(Gone) as ended:
        wired.broker.console_redirect(longer)
    assert ended.value.detail == f"the grant of request {grant.id} has ended (active); request access again"


def test_a_link_to_a_request_never_granted_is_gone(wired: fakes.Fakes) -> None:
    request = ask(wired)
    token = wired.broker.tokens.sign(request.id, wired.clock() + timedelta(hours=1))
    with pytest.raises(Gone, match=r"has ended \(pending\)"):
        wired.broker.console_redirect(token)
