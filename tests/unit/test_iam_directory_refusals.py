"""The IAM directory reader on a scripted IAM: what an operator reads when IAM refuses or never answers, the waits
between throttled attempts, and a user deleted between the two reads left out without hiding the others. (Mutants of
chalicelib/aws/directory.py that the world's tests did not notice.)"""
from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.aws.directory import IamDirectory
from chalicelib.domain.directory_reads import DirectoryUnavailable
from tests.unit.test_iam_grants_refusals import ScriptedIam

pytestmark = pytest.mark.unit


def read(iam: ScriptedIam, slept: list[float] | None = None, jitter: float = 1.0) -> Any:
    return IamDirectory(iam, sleep=(slept if slept is not None else []).append, jitter=lambda: jitter).read(["eng"])


@pytest.mark.parametrize("answer,message", [
    ("AccessDenied", "IAM GetGroup failed: AccessDenied: no"),
    (ClientError({"Error": {"Code": "Whatever"}}, "GetGroup"), "IAM GetGroup failed: Whatever"),
    (ClientError({"ResponseMetadata": {"HTTPStatusCode": 400}}, "GetGroup"), "IAM GetGroup failed: error"),
    ([EndpointConnectionError(endpoint_url="https://iam.amazonaws.com")] * 5,
     'IAM GetGroup failed: unreachable: did not answer (GetGroup): Could not connect to the endpoint URL: '
     '"https://iam.amazonaws.com"'),
])
def test_a_directory_iam_will_not_give_says_which_call_and_why(answer: Any, message: str) -> None:
    with pytest.raises(DirectoryUnavailable) as caught:
        read(ScriptedIam(get_group=answer))
    assert str(caught.value) == message


def test_throttled_reads_wait_with_jitter() -> None:
    members = {"Users": [{"UserName": "ann"}]}
    for jitter, waits in ((1.0, [0.25, 0.5]), (0.0, [0.125, 0.25])):
        slept: list[float] = []
        read(ScriptedIam(get_group=["Throttling", "Throttling", members], list_user_tags={"Tags": []}), slept, jitter)
        assert slept == waits


def test_a_user_deleted_between_the_reads_is_left_out_and_the_others_kept() -> None:
    iam = ScriptedIam(get_group={"Users": [{"UserName": "ann"}, {"UserName": "bob"}, {"UserName": "cat"}]},
                      list_user_tags=["NoSuchEntity", {"Tags": [{"Key": "email", "Value": "bob@example.com"}]},
                                      {"Tags": []}])
    found = read(iam)
    assert found.members == {"eng": ("bob", "cat")}
    assert found.tags == {"bob": {"email": "bob@example.com"}, "cat": {}}
