"""The grants' IAM calls as IAM sees them (the policy's name, path, description and tags, which calls and in which
order) and each refusal IAM can answer, on a scripted IAM client: what the world's IAM never refuses. (Mutants of
chalicelib/aws/iam_grants.py that the world's tests did not notice.)"""
from __future__ import annotations

import urllib.parse
from datetime import datetime, timezone
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.aws.iam_grants import GrantError, IamGrants

pytestmark = pytest.mark.unit

ROLE = "arn:aws:iam::222222222222:role/switch-role-for-S3"
UNTIL = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
ARN = "arn:aws:iam::111111111111:policy/access-broker/dev/access-broker-req1"


class ScriptedIam:
    """Answers each operation from `answers` (a dict, or a list taken in turn); an answer that is a string is refused
    with that error code, an exception is raised as it is. Every call is recorded."""

    def __init__(self, **answers: Any) -> None:
        self.answers, self.calls = answers, []

    def __getattr__(self, operation: str) -> Any:
        def call(**kwargs: Any) -> Any:
            self.calls.append((operation, kwargs))
            answer = self.answers.get(operation, {})
            if isinstance(answer, list):
                answer = answer.pop(0)
            if isinstance(answer, Exception):
                raise answer
            if isinstance(answer, str):
                raise ClientError({"Error": {"Code": answer, "Message": "no"}}, operation)
            return answer
        return call

    def operations(self) -> list[str]:
        return [operation for operation, _ in self.calls]


def grants(iam: ScriptedIam, **kw: Any) -> IamGrants:
    return IamGrants("111111111111", "dev", client=iam, sleep=lambda s: None, **kw)


def ann(**answers: Any) -> ScriptedIam:
    return ScriptedIam(**{"get_user": {"User": {"UserName": "ann"}}, **answers})


def test_a_grant_policy_is_named_described_and_tagged_for_its_request() -> None:
    iam = ann()
    assert grants(iam, owner="access-broker-prod").apply("req1", "ann", ROLE, UNTIL) == ARN
    assert iam.operations() == ["get_user", "create_policy", "attach_user_policy"]
    created = iam.calls[1][1]
    assert (created["PolicyName"], created["Path"], created["Description"]) == (
        "access-broker-req1", "/access-broker/dev/", "access-broker grant for request req1")
    assert created["Tags"] == [{"Key": "access-broker:request-id", "Value": "req1"},
                               {"Key": "access-broker:expires-at", "Value": "2026-11-28T12:00:00Z"},
                               {"Key": "access-broker:owner", "Value": "access-broker-prod"}]
    assert iam.calls[2][1] == {"UserName": "ann", "PolicyArn": ARN}

    untagged = ann()
    grants(untagged).apply("req1", "ann", ROLE, UNTIL)
    assert [t["Key"] for t in untagged.calls[1][1]["Tags"]] == ["access-broker:request-id", "access-broker:expires-at"]


@pytest.mark.parametrize("answers,message", [
    ({"get_user": "NoSuchEntity"}, "IAM refused to find IAM user ann: NoSuchEntity: no"),
    ({"create_policy": "AccessDenied"}, "IAM refused to create the grant policy: AccessDenied: no"),
    ({"attach_user_policy": "LimitExceeded"},
     "IAM refused to attach the grant policy to IAM user ann: LimitExceeded: no"),
])
def test_a_refused_grant_says_which_step_iam_refused(answers: dict[str, Any], message: str) -> None:
    with pytest.raises(GrantError) as caught:
        grants(ann(**answers)).apply("req1", "ann", ROLE, UNTIL)
    assert str(caught.value) == message


def test_a_policy_left_by_an_earlier_attempt_is_attached_again() -> None:
    iam = ann(create_policy="EntityAlreadyExists")
    assert grants(iam).apply("req1", "ann", ROLE, UNTIL) == ARN
    assert iam.operations()[-1] == "attach_user_policy"


def test_removing_from_one_user_a_policy_attached_elsewhere_too_detaches_it_from_all() -> None:
    iam = ScriptedIam(delete_policy=["DeleteConflict", "DeleteConflict", {}],
                      list_policy_versions={"Versions": [{"VersionId": "v1", "IsDefaultVersion": True}]},
                      list_entities_for_policy={"PolicyUsers": [{"UserName": "ann"}, {"UserName": "bob"}]})
    grants(iam).remove(ARN, "ann")
    assert iam.operations() == ["detach_user_policy", "delete_policy", "list_policy_versions", "delete_policy",
                                "list_entities_for_policy", "detach_user_policy", "detach_user_policy", "delete_policy"]
    assert [kw["UserName"] for op, kw in iam.calls if op == "detach_user_policy"] == ["ann", "ann", "bob"]


def test_removing_a_grant_ignores_what_is_already_gone() -> None:
    iam = ScriptedIam(detach_user_policy="NoSuchEntity", delete_policy="NoSuchEntity")
    grants(iam).remove(ARN, "ann")
    assert iam.operations() == ["detach_user_policy", "delete_policy"]
    gone = ScriptedIam(list_entities_for_policy="NoSuchEntity", delete_policy=["DeleteConflict", {}],
                       list_policy_versions="NoSuchEntity")
    grants(gone).remove(ARN)
    assert gone.operations() == ["list_entities_for_policy", "delete_policy", "list_policy_versions", "delete_policy"]


def test_old_versions_are_deleted_before_the_policy_and_never_the_default() -> None:
    iam = ScriptedIam(delete_policy=["DeleteConflict", {}], list_policy_versions={"Versions": [
        {"VersionId": "v1", "IsDefaultVersion": False}, {"VersionId": "v2", "IsDefaultVersion": True}]})
    grants(iam).remove(ARN, "ann")
    assert [kw for op, kw in iam.calls if op == "delete_policy_version"] == [{"PolicyArn": ARN, "VersionId": "v1"}]


@pytest.mark.parametrize("answers", [{"detach_user_policy": "AccessDenied"}, {"delete_policy": "AccessDenied"},
                                     {"delete_policy": ["DeleteConflict"], "list_policy_versions": "AccessDenied"}])
def test_a_refused_removal_says_so(answers: dict[str, Any]) -> None:
    with pytest.raises(GrantError) as caught:
        grants(ScriptedIam(**answers)).remove(ARN, "ann")
    assert str(caught.value) == "IAM refused to remove the grant policy: AccessDenied: no"


def test_a_refused_change_of_expiry_says_so() -> None:
    with pytest.raises(GrantError) as caught:
        grants(ScriptedIam(create_policy_version="LimitExceeded")).set_expiry("req1", ROLE, UNTIL)
    assert str(caught.value) == "IAM refused to change the grant policy's expiry: LimitExceeded: no"


def test_a_policy_outside_the_stages_path_is_never_touched() -> None:
    for arn in ("arn:aws:iam::111111111111:policy/access-broker/prod/access-broker-req1",
                "arn:aws:iam::111111111111:policy/access-broker/dev/deeper/access-broker-req1"):
        iam = ScriptedIam()
        with pytest.raises(GrantError) as caught:
            grants(iam).remove(arn, "ann")
        assert str(caught.value) == f"refusing to touch {arn}: it is not under /access-broker/dev/"
        assert iam.calls == []


def test_the_owner_of_a_grant_policy_is_its_tag() -> None:
    tagged = {"Policy": {"Tags": [{"Key": "access-broker:request-id", "Value": "req1"},
                                  {"Key": "access-broker:owner", "Value": "access-broker-prod"}]}}
    assert grants(ScriptedIam(get_policy=tagged)).owner_of(ARN) == "access-broker-prod"
    assert grants(ScriptedIam(get_policy={"Policy": {}})).owner_of(ARN) is None
    assert grants(ScriptedIam(get_policy="NoSuchEntity")).owner_of(ARN) is None
    iam = ScriptedIam(get_policy=tagged)
    grants(iam).owner_of(ARN)
    assert iam.calls == [("get_policy", {"PolicyArn": ARN})]
    with pytest.raises(GrantError) as caught:
        grants(ScriptedIam(get_policy="AccessDenied")).owner_of(ARN)
    assert str(caught.value) == "IAM refused to read the grant policy's tags: AccessDenied: no"


def test_a_policy_version_is_read_as_iam_encodes_it() -> None:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}
    encoded = urllib.parse.quote('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", '
                                 '"Action": "sts:AssumeRole"}]}')
    for answer in (encoded, document):
        iam = ScriptedIam(get_policy_version={"PolicyVersion": {"Document": answer}})
        assert grants(iam).document(ARN, "v1") == document
    assert grants(ScriptedIam(get_policy_version="NoSuchEntity")).document(ARN, "v1") is None
    with pytest.raises(GrantError) as caught:
        grants(ScriptedIam(get_policy_version="AccessDenied")).document(ARN, "v1")
    assert str(caught.value) == "IAM refused to read a policy under the broker's path: AccessDenied: no"


def test_the_stages_policies_are_listed_local_and_under_its_path() -> None:
    iam = ScriptedIam(list_policies={"Policies": [{"Arn": ARN}]})
    assert grants(iam).owned_policies() == [ARN]
    assert iam.calls == [("list_policies", {"Scope": "Local", "PathPrefix": "/access-broker/dev/"})]
    assert grants(ScriptedIam(), partition="aws-cn").policy_arn("req1").startswith("arn:aws-cn:iam::111111111111:")
    assert grants(ScriptedIam()).policy_arn("req1") == ARN


def test_throttling_is_waited_out_with_jitter_and_silence_becomes_a_grant_error() -> None:
    slept: list[float] = []
    iam = ann(create_policy=["Throttling", "Throttling", {}])
    IamGrants("111111111111", "dev", client=iam, sleep=slept.append, jitter=lambda: 1.0).apply(
        "req1", "ann", ROLE, UNTIL)
    assert slept == [0.25, 0.5]
    slept.clear()
    IamGrants("111111111111", "dev", client=ann(create_policy=["Throttling", {}]), sleep=slept.append,
              jitter=lambda: 0.0).apply("req1", "ann", ROLE, UNTIL)
    assert slept == [0.125]

    down = EndpointConnectionError(endpoint_url="https://iam.amazonaws.com")
    with pytest.raises(GrantError) as caught:
        grants(ScriptedIam(get_user=[down] * 5)).apply("req1", "ann", ROLE, UNTIL)
    assert str(caught.value) == (
        'IAM did not answer (get_user): Could not connect to the endpoint URL: "https://iam.amazonaws.com"')
