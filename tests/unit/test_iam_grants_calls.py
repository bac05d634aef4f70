"""The grants' removal and change of expiry as IAM sees each call: every one names the grant's own policy, the
listing of who holds it asks for users only, and the new end is the tag IAM keeps (what an operator reads); a user
named in another case than IAM's is refused with the name to write; a group IAM does not know is reported. On the
scripted IAM client of test_iam_grants_refusals. (Mutants of chalicelib/aws/iam_grants.py that checked only which
operations were called.)"""
from __future__ import annotations

import pytest

from chalicelib.aws.directory import IamDirectory
from chalicelib.aws.iam_grants import GrantError
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


def test_a_user_named_in_another_case_than_iams_is_refused_with_the_name_to_write() -> None:
    iam = ScriptedIam(get_user={"User": {"UserName": "Ann"}})
    with pytest.raises(GrantError) as caught:
        grants(iam).apply("req1", "ann", ROLE, UNTIL)
    assert "Write iam_user: Ann in the catalog." in str(caught.value)
    assert iam.operations() == ["get_user"]


def test_a_group_iam_does_not_know_is_reported_unknown_and_the_others_read() -> None:
    iam = ScriptedIam(get_group=[{"Users": [{"UserName": "ann"}]}, "NoSuchEntity"],
                      list_user_tags={"Tags": [{"Key": "slack", "Value": "U1"}]})
    groups = IamDirectory(iam, sleep=lambda s: None, jitter=lambda: 1.0).read(["eng", "gone"])
    assert (dict(groups.members), groups.unknown) == ({"eng": ("ann",)}, ("gone",))
