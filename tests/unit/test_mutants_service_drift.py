"""What drift repair leaves for an operator and an auditor (chalicelib/service/drift.py on tests/fakes.py): the exact
lines it reports, the `drift_repaired` events and their details, the security alerts' text, the log lines naming what
could not be done yet, and that one policy or role it cannot read or fix never stops it checking the others."""
from __future__ import annotations

import dataclasses
import logging
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.catalog import parse_catalog
from chalicelib.domain.events import SYSTEM
from chalicelib.domain.requests import AccessRequest, Event
from chalicelib.domain.session_guard import POLICY_NAME
from chalicelib.ports import Change, GrantError, GuardPending, RoleAudit, Written
from tests import fakes
from tests.fakes import as_, cuts, granted, reads_of, revoke_cut

REQUESTER = "s3-access"
ACCOUNT, ROLE = "222222222222", "arn:aws:iam::222222222222:role/switch-role-for-S3"
OTHER_ROLE = "arn:aws:iam::222222222222:role/switch-role-for-EC2"
STRAY = "01" + "7" * 24
LOGGER = "chalicelib.service.drift"


class PickyGrants(fakes.MemoryGrants):
    """IAM as the broker sees it, with the odd policy it cannot read, remove or list the holders of, and listings
    whose AttachmentCount says what ListEntitiesForPolicy's users do not (a group holds it), or is not given."""

    def __init__(self) -> None:
        super().__init__()
        self.unreadable: set[str] = set()
        self.unremovable: set[str] = set()
        self.holders_unknown: set[str] = set()
        self.holders_unknown_once: set[str] = set()
        self.counts: dict[str, int | None] = {}  # arn -> AttachmentCount listed (None: the key is absent)

    def document(self, policy_arn: str, version_id: str) -> dict[str, Any] | None:
        if policy_arn in self.unreadable:
            raise GrantError("Throttling: GetPolicyVersion")
        return super().document(policy_arn, version_id)

    def remove(self, policy_arn: str, iam_user: str | None = None) -> None:
        if policy_arn in self.unremovable:
            raise GrantError("AccessDenied: iam:DeletePolicy")
        super().remove(policy_arn, iam_user)

    def attached_users(self, policy_arn: str) -> list[str]:
        if policy_arn in self.holders_unknown_once:
            self.holders_unknown_once.discard(policy_arn)
            raise GrantError("Throttling: ListEntitiesForPolicy")
        if policy_arn in self.holders_unknown:
            raise GrantError("Throttling: ListEntitiesForPolicy")
        return super().attached_users(policy_arn)

    def listed(self) -> list[dict[str, Any]]:
        found = []
        for policy in super().listed():
            if policy["Arn"] in self.counts:
                count = self.counts[policy["Arn"]]
                policy = {k: v for k, v in policy.items() if k != "AttachmentCount"}
                if count is not None:
                    policy["AttachmentCount"] = count
            found.append(policy)
        return found


class TamperedGuards(fakes.MemorySessionGuards):
    """Session guards whose audit says a guard holds statements the broker did not write, on the roles named."""

    def __init__(self, clock: fakes.Clock) -> None:
        super().__init__(clock)
        self.tampered: set[str] = set()
        self.unwritable: set[str] = set()
        self.unaudited: set[str] = set()

    def audit(self, account: str, role_arn: str) -> RoleAudit:
        if role_arn in self.unaudited:
            raise GuardPending(f"the guard role of account {account} cannot be assumed")
        found = super().audit(account, role_arn)
        return RoleAudit(found.foreign_policies, role_arn in self.tampered, found.max_session)

    def change(self, account: str, role_arn: str, change: Change) -> Written:
        if role_arn in self.unwritable:
            raise GuardPending("AccessDenied: iam:PutRolePolicy")
        return super().change(account, role_arn, change)


def picky(wired: fakes.Fakes) -> tuple[fakes.Fakes, PickyGrants]:
    grants = PickyGrants()
    return wired.rewired(grants=grants), grants


def with_guards(wired: fakes.Fakes) -> tuple[fakes.Fakes, TamperedGuards]:
    guards = TamperedGuards(wired.clock)
    return dataclasses.replace(wired.rewired(sessions=guards), guards=guards), guards


def two_roles() -> fakes.Fakes:
    spec = {"account": ACCOUNT, "approvers": ["s3-approvers"], "approvals_required": 1, "default_duration": "1h",
            "max_duration": "4h"}
    catalog = parse_catalog({"source_account": "111111111111", "security_channel": "C01SECURITY",
                             "people": fakes.DEMO_PEOPLE, "groups": {"s3-approvers": ["bob", "carol"]},
                             "profiles": {"ec2-prod": {**spec, "role": "switch-role-for-EC2"},
                                          "s3-prod": {**spec, "role": "switch-role-for-S3"}}})
    return fakes.broker(catalog)


def stray(wired: fakes.Fakes, request_id: str = STRAY, user: str = "alice") -> str:
    return wired.grants.apply(request_id, user, ROLE, wired.clock() + timedelta(hours=1))


def repairs(wired: fakes.Fakes, request_id: str) -> list[Event]:
    return [e for e in wired.store.events(request_id) if e.kind == "drift_repaired"]


def logged(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == level]


def foreign_alert(arn: str, users: str, request_id: str | None = None) -> str:
    return (f"access-broker removed {arn}: it was not exactly a grant the broker made"
            f"{' for request ' + request_id if request_id else ''}; it was attached to {users}. Find out who wrote "
            f"it (CloudTrail: CreatePolicy, CreatePolicyVersion, AttachUserPolicy under /access-broker/).")


def orphan_alert(arn: str, users: str) -> str:
    return (f"access-broker removed {arn}: a grant no request of this stage made, attached to {users}. Find out who "
            f"wrote it (CloudTrail: CreatePolicy, AttachUserPolicy under this stage's /access-broker/ path).")


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker()


# -- policies drift cannot read yet, and every repair of a pass reported


def test_a_policy_not_readable_yet_is_logged_and_the_others_still_checked(
        wired: fakes.Fakes, caplog: pytest.LogCaptureFixture) -> None:
    wired, grants = picky(wired)
    first, second = stray(wired, "01" + "1" * 24), stray(wired, "01" + "2" * 24)
    grants.unreadable = {first}
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert wired.broker.repair_drift() == [f"{second}: removed (request unknown request)"]
    assert list(grants.policies) == [first], "checked again next pass"
    assert logged(caplog, logging.WARNING) == [
        f"drift: policy {first} not readable yet: Throttling: GetPolicyVersion"]


def test_a_policy_deleted_meanwhile_is_skipped_and_the_others_still_checked(wired: fakes.Fakes) -> None:
    wired, grants = picky(wired)
    first, second = stray(wired, "01" + "1" * 24), stray(wired, "01" + "2" * 24)
    original = grants.document
    grants.document = lambda arn, version: None if arn == first else original(arn, version)
    assert wired.broker.repair_drift() == [f"{second}: removed (request unknown request)"]


def test_every_impostor_and_orphan_of_a_pass_is_reported_and_every_tampered_grant_applied_again(
        wired: fakes.Fakes) -> None:
    one, two = granted(wired), granted(wired)
    foreign = wired.grants.apply("01" + "8" * 24, "alice", OTHER_ROLE, wired.clock() + timedelta(hours=1))
    orphan1, orphan2 = stray(wired, "01" + "1" * 24), stray(wired, "01" + "2" * 24)
    for grant in (one, two):
        wired.grants.attached[grant.grant.policy_arn] = {"alice"}
    repaired = wired.broker.repair_drift()
    assert sorted(repaired) == sorted([
        f"{one.grant.policy_arn}: removed, not a grant (tampered_grant_removed)",
        f"{two.grant.policy_arn}: removed, not a grant (tampered_grant_removed)",
        f"{foreign}: removed, not a grant (foreign_policy_removed)",
        f"{orphan1}: removed (request unknown request)",
        f"{orphan2}: removed (request unknown request)",
        f"{one.id}: policy missing, re-applied",
        f"{two.id}: policy missing, re-applied"])
    for grant in (one, two):
        assert wired.grants.attached_users(grant.grant.policy_arn) == [REQUESTER]


# -- tampered grants: what IAM lists about who holds them


def test_a_live_grant_held_by_a_group_as_well_is_tampered(wired: fakes.Fakes) -> None:
    wired, grants = picky(wired)
    grant = granted(wired)
    arn = grant.grant.policy_arn
    grants.counts[arn] = 2  # its requester's user, and a group ListEntitiesForPolicy's users do not show
    assert wired.broker.repair_drift() == [f"{arn}: removed, not a grant (tampered_grant_removed)",
                                           f"{grant.id}: policy missing, re-applied"]


@pytest.mark.parametrize("count", [1, None], ids=["held once", "count not listed"])
def test_a_live_grant_held_once_or_with_no_count_listed_is_left_alone(wired: fakes.Fakes, count: int | None) -> None:
    wired, grants = picky(wired)
    grant = granted(wired)
    grants.counts[grant.grant.policy_arn] = count
    assert wired.broker.repair_drift() == [] and wired.notes.alerts == []


def test_a_live_grant_whose_holders_cannot_be_listed_is_left_until_next_pass(wired: fakes.Fakes) -> None:
    wired, grants = picky(wired)
    grant = granted(wired)
    grants.holders_unknown = {grant.grant.policy_arn}
    assert wired.broker.repair_drift() == [] and wired.notes.alerts == []
    grants.holders_unknown = set()
    assert grants.attached_users(grant.grant.policy_arn) == [REQUESTER]


def test_a_live_grant_whose_holders_were_not_listed_once_is_not_taken_for_tampered(wired: fakes.Fakes) -> None:
    wired, grants = picky(wired)
    grant = granted(wired)
    grants.holders_unknown_once = {grant.grant.policy_arn}
    assert wired.broker.repair_drift() == [] and wired.notes.alerts == []


# -- impostors: the event, the alert, and a removal IAM refuses


def test_a_tampered_grant_s_removal_is_on_its_request_and_its_alert_names_the_request(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    arn = grant.grant.policy_arn
    wired.grants.attached[arn] = {"alice", "mallory"}
    wired.broker.repair_drift()
    (removed,) = [e for e in repairs(wired, grant.id) if e.details["action"] == "tampered_grant_removed"]
    assert removed.version == grant.version and removed.details == {
        "action": "tampered_grant_removed", "policy_arn": arn, "attached_to": ["alice", "mallory"]}
    assert ("drift_repaired", grant.id) in wired.notes.sent, "its people hear of it"
    assert wired.notes.alerts == [foreign_alert(arn, "alice, mallory", grant.id)]


def test_a_foreign_policy_attached_to_nobody_is_said_so(wired: fakes.Fakes) -> None:
    arn = wired.grants.apply(STRAY, "alice", OTHER_ROLE, wired.clock() + timedelta(hours=1))
    wired.grants.attached[arn] = set()
    assert wired.broker.repair_drift() == [f"{arn}: removed, not a grant (foreign_policy_removed)"]
    assert wired.notes.alerts == [foreign_alert(arn, "nobody")]


def test_a_foreign_policy_iam_refuses_to_remove_is_logged_and_reported_next_pass(
        wired: fakes.Fakes, caplog: pytest.LogCaptureFixture) -> None:
    wired, grants = picky(wired)
    arn = grants.apply(STRAY, "alice", OTHER_ROLE, wired.clock() + timedelta(hours=1))
    grants.unremovable = {arn}
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert wired.broker.repair_drift() == []
    assert wired.notes.alerts == [] and arn in grants.policies
    assert logged(caplog, logging.ERROR) == [
        f"drift: policy {arn} is not a grant and could not be removed yet: AccessDenied: iam:DeletePolicy"]


def test_a_tampered_grant_iam_refuses_to_remove_is_not_applied_again(wired: fakes.Fakes) -> None:
    wired, grants = picky(wired)
    grant = granted(wired)
    arn = grant.grant.policy_arn
    grants.attached[arn] = {"alice"}
    grants.unremovable = {arn}
    assert wired.broker.repair_drift() == []
    assert grants.attached_users(arn) == ["alice"]


# -- orphans: the event, the alert, and a removal IAM refuses


def test_an_ended_request_s_orphan_is_recorded_on_it_with_its_state(wired: fakes.Fakes) -> None:
    wired, grants = picky(wired)
    grant = granted(wired)
    arn = grant.grant.policy_arn
    grants.refuse = "Throttling: rate exceeded"
    wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    grants.refuse = None
    grants.holders_unknown = {arn}  # who holds it does not matter: it is this stage's own
    stored = wired.store.get(grant.id)
    assert wired.broker.repair_drift() == [f"{arn}: removed (request revoked)"]
    (removed,) = [e for e in repairs(wired, grant.id) if e.details["action"] == "orphan_policy_removed"]
    assert removed.version == stored.version and removed.details == {
        "action": "orphan_policy_removed", "policy_arn": arn, "state": "revoked"}
    assert ("drift_repaired", grant.id) in wired.notes.sent
    assert wired.notes.alerts == []


def test_an_orphan_no_request_made_is_recorded_under_its_id_and_said(wired: fakes.Fakes) -> None:
    arn = stray(wired)
    wired.grants.attached[arn] = {"mallory", "alice"}
    wired.broker.repair_drift()
    (removed,) = repairs(wired, STRAY)
    assert (removed.version, removed.actor) == (0, SYSTEM)
    assert removed.details == {"action": "orphan_policy_removed", "policy_arn": arn, "state": "unknown request"}
    assert wired.notes.alerts == [orphan_alert(arn, "alice, mallory")]


def test_an_orphan_attached_to_nobody_is_said_so(wired: fakes.Fakes) -> None:
    arn = stray(wired)
    wired.grants.attached[arn] = set()
    wired.broker.repair_drift()
    assert wired.notes.alerts == [orphan_alert(arn, "nobody")]


def test_an_orphan_iam_refuses_to_remove_is_logged_and_tried_next_pass(
        wired: fakes.Fakes, caplog: pytest.LogCaptureFixture) -> None:
    wired, grants = picky(wired)
    arn = stray(wired)
    grants.unremovable = {arn}
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert wired.broker.repair_drift() == []
    assert logged(caplog, logging.WARNING) == [
        f"drift: orphan policy {arn} not removed yet: AccessDenied: iam:DeletePolicy"]
    assert repairs(wired, STRAY) == [] and wired.notes.alerts == []


# -- a detach confirmed late


def refused_detach(wired: fakes.Fakes, duration: str = "2h") -> AccessRequest:
    grant = granted(wired, duration)
    wired.clock.advance(minutes=10)
    wired.grants.refuse = "Throttling: rate exceeded"
    revoked = wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    wired.grants.refuse = None
    assert revoked.detach_pending
    return revoked


def test_a_detach_confirmed_late_records_its_cut_written_and_in_force_after_propagation(wired: fakes.Fakes) -> None:
    wired = wired.rewired(propagation=timedelta(seconds=30))
    revoked = refused_detach(wired)
    detached_at = wired.clock.advance(minutes=20)
    reads = reads_of(wired)
    wired.broker.repair_drift()
    assert reads == [revoked.id], "the request is read once, to find it ended"
    stored = wired.store.get(revoked.id)
    assert stored.cut_in_force_at == detached_at + timedelta(seconds=30) and not stored.guard_pending
    detached = [e for e in repairs(wired, revoked.id) if e.details.get("action") == "grant_policy_detached"]
    assert [e.details for e in detached] == [{"action": "grant_policy_detached", "session_guard": "written"}]


def test_a_detach_confirmed_while_the_target_account_refuses_owes_its_cut(wired: fakes.Fakes) -> None:
    revoked = refused_detach(wired)
    wired.clock.advance(minutes=20)
    wired, guards = with_guards(wired)
    guards.unwritable = {ROLE}
    wired.broker.repair_drift()
    stored = wired.store.get(revoked.id)
    assert stored.cut_in_force_at is None and stored.guard_pending and not stored.detach_pending
    detached = [e for e in repairs(wired, revoked.id) if e.details.get("action") == "grant_policy_detached"]
    assert [e.details for e in detached] == [{"action": "grant_policy_detached", "session_guard": "pending"}]
    failed = [e for e in wired.store.events(revoked.id) if e.kind == "session_guard_failed"]
    assert [e.details for e in failed] == [{"cut": "detach", "role_arn": ROLE,
                                            "reason": "AccessDenied: iam:PutRolePolicy"}]


def test_a_detach_confirmed_late_keeps_the_expiry_cut_of_the_person_s_other_live_grant(wired: fakes.Fakes) -> None:
    other = granted(wired, "3h")
    revoked = refused_detach(wired, "1h")
    detached_at = wired.clock.advance(minutes=20)
    assert wired.broker.repair_drift() == [f"{revoked.grant.policy_arn}: removed (request revoked)"], \
        "nothing else to repair: the other grant's expiry cut was kept, not lost and written again"
    assert other.grant is not None and revoked.ended_at is not None
    assert fakes.expiry_cut(other) in cuts(wired, other), "the 3h grant's sessions still end at its end"
    assert revoke_cut(detached_at) in cuts(wired, other)


# -- session guards drift cannot read, roles it cannot audit, guards someone wrote into


def test_a_guard_not_readable_is_logged_and_the_other_roles_still_checked(caplog: pytest.LogCaptureFixture) -> None:
    wired = two_roles()
    wired, guards = with_guards(wired)
    s3 = granted(wired, profile="s3-prod")
    ec2 = granted(wired, profile="ec2-prod")
    guards.guards.clear()  # someone deleted both guards
    original = guards.read

    def read(account: str, role_arn: str) -> Any:
        if role_arn == ROLE:
            raise GuardPending("the guard role of account 222222222222 cannot be assumed")
        return original(account, role_arn)

    guards.read = read
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        repaired = wired.broker.repair_drift()
    assert repaired == [f"{ec2.id}: session guard expiry restored"]
    assert s3.id not in " ".join(repaired)
    assert (f"drift: session guard of {ROLE} not readable: the guard role of account 222222222222 cannot be "
            f"assumed") in logged(caplog, logging.WARNING)


def test_a_guard_that_stands_does_not_stop_drift_checking_the_next_role() -> None:
    wired = two_roles()
    s3 = granted(wired, profile="s3-prod")
    granted(wired, profile="ec2-prod")  # newer: checked first, and its guard stands
    del wired.guards.guards[(ACCOUNT, ROLE)]
    assert wired.broker.repair_drift() == [f"{s3.id}: session guard expiry restored"]


def test_an_ended_grant_s_missing_cut_is_reported_as_a_cut(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.broker.revoke(as_(wired, REQUESTER), grant.id)
    wired.guards.guards.clear()
    assert wired.broker.repair_drift() == [f"{grant.id}: session guard cut restored"]


def test_a_grant_at_its_very_end_owes_no_expiry_cut_to_drift(wired: fakes.Fakes) -> None:
    grant = granted(wired)
    wired.guards.guards.clear()
    wired.clock.now = grant.grant.expires_at
    assert wired.broker.repair_drift() == []


def test_a_role_not_audited_is_logged_and_the_other_roles_still_audited(caplog: pytest.LogCaptureFixture) -> None:
    wired = two_roles()
    wired, guards = with_guards(wired)
    guards.unaudited = {OTHER_ROLE}  # sorted first
    guards.foreign[(ACCOUNT, ROLE)] = ("backdoor",)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        wired.broker.repair_drift()
    assert len(wired.notes.alerts) == 1 and "backdoor" in wired.notes.alerts[0]
    assert logged(caplog, logging.WARNING) == [
        f"drift: inline policies of {OTHER_ROLE} not readable: the guard role of account 222222222222 cannot be "
        f"assumed"]


def test_every_foreign_inline_policy_is_named_in_the_alert(wired: fakes.Fakes) -> None:
    wired.guards.foreign[(ACCOUNT, ROLE)] = ("backdoor", "extra")
    wired.broker.repair_drift()
    (alert,) = wired.notes.alerts
    assert f"on {ROLE}: backdoor, extra. The guard role" in alert


def test_a_tampered_guard_is_written_back_as_the_cuts_alone_and_said(wired: fakes.Fakes) -> None:
    wired, guards = with_guards(wired)
    grant = granted(wired)
    guards.tampered = {ROLE}
    repaired = wired.broker.repair_drift()
    assert repaired == [f"{ROLE}: session guard held statements the broker did not write; written back"]
    assert list(guards.guards) == [(ACCOUNT, ROLE)] and cuts(wired, grant) == {fakes.expiry_cut(grant)}
    assert wired.notes.alerts == [
        f"access-broker rewrote the session guard ({POLICY_NAME}) of {ROLE}: it held statements the broker did not "
        f"write. Find out who wrote them (CloudTrail: PutRolePolicy on {ROLE})."]


def test_every_tampered_guard_of_a_pass_is_reported() -> None:
    wired = two_roles()
    wired, guards = with_guards(wired)
    guards.tampered = {ROLE, OTHER_ROLE}
    assert wired.broker.repair_drift() == [
        f"{OTHER_ROLE}: session guard held statements the broker did not write; written back",
        f"{ROLE}: session guard held statements the broker did not write; written back"]


def test_a_tampered_guard_that_cannot_be_written_back_is_logged_not_said(
        wired: fakes.Fakes, caplog: pytest.LogCaptureFixture) -> None:
    wired, guards = with_guards(wired)
    guards.tampered, guards.unwritable = {ROLE}, {ROLE}
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert wired.broker.repair_drift() == []
    assert wired.notes.alerts == []
    assert logged(caplog, logging.ERROR) == [
        f"drift: the session guard of {ROLE} holds statements the broker did not write, and could not be written "
        f"back yet: AccessDenied: iam:PutRolePolicy"]
