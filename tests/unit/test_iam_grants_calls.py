"""The grants' removal and change of expiry as IAM sees each call: every one names the grant's own policy, the
listing of who holds it asks for users only, and the new end is the tag IAM keeps (what an operator reads). On the
scripted IAM client of test_iam_grants_refusals. (Mutants of chalicelib/aws/iam_grants.py that checked only which
operations were called.)"""
from __future__ import annotations

import pytest

from tests.unit.test_iam_grants_refusals import ARN, ROLE, UNTIL, ScriptedIam, grants

pytestmark = pytest.mark.unit


def test_removing_a_grant_from_everyone_names_its_policy_in_every_call() -> None:
    iam = ScriptedIam(delete_policy=["DeleteConflict", {}],
                      list_policy_versions={"Versions": [{"VersionId": "v1", "IsDefaultVersion": True}]},
                      list_entities_for_policy={"PolicyUsers": [{"UserName": "ann"}, {"UserName": "bob"}]})
    grants(iam).remove(ARN)
    assert iam.calls == [
        ("list_entities_for_policy", {"PolicyArn": ARN, "EntityFilter": "User"}),
        ("detach_user_policy", {"UserName": "ann", "PolicyArn": ARN}),
        ("detach_user_policy", {"UserName": "bob", "PolicyArn": ARN}),
        ("delete_policy", {"PolicyArn": ARN}),
        ("list_policy_versions", {"PolicyArn": ARN}),
        ("delete_policy", {"PolicyArn": ARN}),
    ]


def test_a_new_end_is_tagged_on_the_grants_policy() -> None:
    iam = ScriptedIam(list_policy_versions={"Versions": [{"VersionId": "v2", "IsDefaultVersion": True}]})
    grants(iam).set_expiry("req1", ROLE, UNTIL)
    assert iam.calls[-1] == ("tag_policy", {"PolicyArn": ARN, "Tags": [
        {"Key": "access-broker:expires-at", "Value": "2026-11-28T12:00:00Z"}]})
