"""The session guard's reads of the switch role as IAM sees them: its MaxSessionDuration and its inline policies (every
page) are asked of the switch role by name. On the scripted clients of test_session_guard_refusals. (Mutants of
chalicelib/aws/session_guard.py that checked only the answers, which a scripted IAM gives whatever is asked.)"""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.unit.test_iam_grants_refusals import ScriptedIam
from tests.unit.test_session_guard_refusals import TARGET, World, guard

pytestmark = pytest.mark.unit


def test_the_roles_longest_session_is_read_from_the_switch_role(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(ScriptedIam(get_role={"Role": {"MaxSessionDuration": 7200}}))
    assert guard(monkeypatch, world).max_session(TARGET) == timedelta(hours=2)
    assert world.iam.calls == [("get_role", {"RoleName": "switch-role-for-S3"})]


def test_every_page_of_the_switch_roles_inline_policies_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(ScriptedIam(list_role_policies=[
        {"PolicyNames": ["a", "b"], "IsTruncated": True, "Marker": "m1"},
        {"PolicyNames": ["access-broker-session-guard"], "IsTruncated": False}]))
    assert guard(monkeypatch, world).inline_policies(TARGET) == ["a", "b", "access-broker-session-guard"]
    assert world.iam.calls == [("list_role_policies", {"RoleName": "switch-role-for-S3"}),
                               ("list_role_policies", {"RoleName": "switch-role-for-S3", "Marker": "m1"})]
