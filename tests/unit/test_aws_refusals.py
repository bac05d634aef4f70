"""What an operator reads when AWS refuses the grants or the session guard, which refusals are tried again, and whose
keys a client built from an STS answer signs with. (Mutants of chalicelib/aws/ that the world's tests did not notice:
the world's IAM rarely refuses, and never without an error code.)"""
from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.aws import clients, iam_grants, session_guard
from chalicelib.aws.retry import error_code, retryable
from chalicelib.aws.session_guard import GuardTarget

pytestmark = pytest.mark.unit

TARGET = GuardTarget("222222222222", "switch-role-for-S3", "arn:aws:iam::222222222222:role/access-broker-guard", "x")


def refused(response: dict[str, Any]) -> ClientError:
    return ClientError(response, "PutRolePolicy")


def test_a_refusal_of_the_grants_names_the_action_the_code_and_iams_message() -> None:
    action = "attach the grant policy"
    no = refused({"Error": {"Code": "AccessDenied", "Message": "no"}})
    assert iam_grants._explain(action, no) == "IAM refused to attach the grant policy: AccessDenied: no"
    assert iam_grants._explain(action, refused({})) == "IAM refused to attach the grant policy: error:"


def test_a_refusal_of_the_session_guard_names_the_role_its_account_the_code_and_the_message() -> None:
    exc = refused({"Error": {"Code": "AccessDenied", "Message": "the guard role may not"}})
    assert session_guard._explain("write the session guard", TARGET, exc) == (
        "could not write the session guard on role switch-role-for-S3 in account 222222222222: AccessDenied: "
        "the guard role may not")
    assert session_guard._explain("read", TARGET, refused({})) == (
        "could not read on role switch-role-for-S3 in account 222222222222: : ")


@pytest.mark.parametrize("response,again", [
    ({"Error": {"Code": "Throttling"}}, True),
    ({"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, False),
    ({"Error": {"Code": "Whatever"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, True),
    ({"ResponseMetadata": {"HTTPStatusCode": 500}}, True),
    ({"Error": {"Code": "NoSuchEntity"}}, False),
    ({}, False),
])
def test_throttling_and_5xx_are_tried_again_and_nothing_else(response: dict[str, Any], again: bool) -> None:
    assert retryable(refused(response)) is again


def test_an_answer_without_a_code_has_an_empty_one() -> None:
    assert error_code(refused({})) == ""
    assert error_code(refused({"Error": {"Code": "Throttling"}})) == "Throttling"


def test_a_client_from_an_sts_answer_signs_with_its_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    iam = clients.client("iam", credentials={"AccessKeyId": "ASIAGUARD", "SecretAccessKey": "guard-secret",
                                             "SessionToken": "guard-token"})
    frozen = iam._request_signer._credentials.get_frozen_credentials()
    assert (frozen.access_key, frozen.secret_key, frozen.token) == ("ASIAGUARD", "guard-secret", "guard-token")
