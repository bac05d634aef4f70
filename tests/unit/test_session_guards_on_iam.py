"""The session guards of switch roles (chalicelib/sessions.py) on the real IAM adapter and scripted IAM/STS clients:
which role a change touches (the one its ARN names), that it keeps the cuts already there and keeps them as long as
the role's sessions may last, what a drift audit reports, and the reason a pending guard write carries into the
request's events."""
from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest

from chalicelib.aws import clients
from chalicelib.aws.session_guard import IamSessionGuard
from chalicelib.domain.session_guard import POLICY_NAME, Guard
from chalicelib.ports import GuardPending, RoleAudit
from chalicelib.sessions import SessionGuards
from chalicelib.store.locks import Busy
from tests import fakes
from tests.unit.test_iam_grants_refusals import ScriptedIam
from tests.unit.test_session_guard_refusals import World

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
ACCOUNT = "222222222222"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/switch-role-for-S3"
WHERE = f"on role switch-role-for-S3 in account {ACCOUNT}"


class Leases:
    """The table's leases as the guards take them: the names held, or Busy when `busy`."""

    def __init__(self, busy: bool = False) -> None:
        self.names: list[str] = []
        self.busy = busy

    @contextmanager
    def held(self, name: str) -> Iterator[None]:
        if self.busy:
            raise Busy(f"lease {name} held by someone else")
        self.names.append(name)
        yield


def guards(monkeypatch: pytest.MonkeyPatch, iam: ScriptedIam, leases: Leases | None = None) -> SessionGuards:
    monkeypatch.setattr(clients, "client", World(iam).client)
    return SessionGuards(fakes.catalog(), IamSessionGuard(sleep=lambda s: None, clock=lambda: NOW), leases or Leases(),
                         lambda: NOW)


def stored(document: dict[str, Any]) -> dict[str, Any]:
    return {"PolicyDocument": document}


def written(iam: ScriptedIam) -> list[dict[str, Any]]:
    return [json.loads(kw["PolicyDocument"]) for op, kw in iam.calls if op == "put_role_policy"]


def test_a_change_reads_and_writes_the_guard_of_the_role_its_arn_names_under_that_roles_lease(monkeypatch):
    iam, leases = ScriptedIam(get_role={"Role": {}}, get_role_policy="NoSuchEntity"), Leases()
    guards(monkeypatch, iam, leases).change(ACCOUNT, ROLE_ARN, lambda g, now: g.revoked("alice", now, None))
    assert iam.operations() == ["get_role", "get_role_policy", "put_role_policy"]
    assert {kw["RoleName"] for _, kw in iam.calls} == {"switch-role-for-S3"}
    assert leases.names == [f"guard#{ROLE_ARN}"]


def test_a_change_keeps_the_cuts_already_on_the_role(monkeypatch):
    before = Guard().revoked("bob", NOW - timedelta(minutes=10), None)
    iam = ScriptedIam(get_role={"Role": {}}, get_role_policy=stored(before.policy()))
    guards(monkeypatch, iam).change(ACCOUNT, ROLE_ARN, lambda g, now: g.revoked("alice", now, None))
    assert written(iam) == [before.revoked("alice", NOW, None).fitted(NOW).policy()]


@pytest.mark.parametrize("max_session_s,kept", [(12 * 3600, True), (3600, False)])
def test_a_cut_stands_as_long_as_a_session_of_the_role_may_last(monkeypatch, max_session_s, kept):
    """A revoke three hours ago still cuts sessions of a role allowing 12 h ones; of a 1 h role, none is left."""
    before = Guard().revoked("bob", NOW - timedelta(hours=3), None)
    iam = ScriptedIam(get_role={"Role": {"MaxSessionDuration": max_session_s}},
                      get_role_policy=stored(before.policy()))
    guards(monkeypatch, iam).prune(ACCOUNT, ROLE_ARN)
    assert written(iam) == ([] if kept else [Guard().policy()])


def test_an_audit_names_the_roles_other_inline_policies_and_its_session_length(monkeypatch):
    iam = ScriptedIam(list_role_policies={"PolicyNames": ["zeta", POLICY_NAME, "alpha"]},
                      get_role_policy=stored(Guard().revoked("bob", NOW, None).policy()),
                      get_role={"Role": {"MaxSessionDuration": 7200}})
    assert guards(monkeypatch, iam).audit(ACCOUNT, ROLE_ARN) == RoleAudit(("alpha", "zeta"), False,
                                                                           timedelta(hours=2))


def test_an_audit_finds_a_statement_the_broker_did_not_write_in_the_guard(monkeypatch):
    document = Guard().revoked("bob", NOW, None).policy()
    document["Statement"].append({"Sid": "Mine", "Effect": "Allow", "Action": "*", "Resource": "*"})
    iam = ScriptedIam(list_role_policies={"PolicyNames": [POLICY_NAME]}, get_role_policy=stored(document),
                      get_role={"Role": {}})
    assert guards(monkeypatch, iam).audit(ACCOUNT, ROLE_ARN) == RoleAudit((), True, timedelta(hours=1))


def test_an_audit_of_a_role_without_a_guard_does_not_read_one(monkeypatch):
    iam = ScriptedIam(list_role_policies={"PolicyNames": ["alpha"]}, get_role={"Role": {}})
    assert guards(monkeypatch, iam).audit(ACCOUNT, ROLE_ARN) == RoleAudit(("alpha",), False, timedelta(hours=1))
    assert iam.operations() == ["list_role_policies", "get_role"]


@pytest.mark.parametrize("call", [
    lambda g: g.read(ACCOUNT, ROLE_ARN),
    lambda g: g.audit(ACCOUNT, ROLE_ARN),
    lambda g: g.change(ACCOUNT, ROLE_ARN, lambda guard, now: guard),
], ids=["read", "audit", "change"])
def test_a_guard_the_target_account_refuses_to_show_is_pending_with_iams_reason(monkeypatch, call):
    iam = ScriptedIam(get_role={"Role": {}}, list_role_policies={"PolicyNames": [POLICY_NAME]},
                      get_role_policy="AccessDenied")
    with pytest.raises(GuardPending) as pending:
        call(guards(monkeypatch, iam))
    assert str(pending.value) == f"could not read the session guard {WHERE}: AccessDenied: no"


def test_a_role_whose_lease_is_held_elsewhere_is_pending_saying_so(monkeypatch):
    with pytest.raises(GuardPending) as pending:
        guards(monkeypatch, ScriptedIam(), Leases(busy=True)).prune(ACCOUNT, ROLE_ARN)
    assert str(pending.value) == f"lease guard#{ROLE_ARN} held by someone else"
