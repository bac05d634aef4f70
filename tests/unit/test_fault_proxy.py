"""The fault proxy answers as IAM and STS do: botocore turns each injected error into the ClientError that AWS's own
answer gives (code, HTTP status, message), and the retry policy judges it as it would judge AWS's."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from chalicelib.aws.retry import retryable
from tools.fault_proxy import FaultProxy

NOWHERE = "http://127.0.0.1:9"  # faulted calls never reach the emulator


@pytest.fixture
def proxy() -> Iterator[FaultProxy]:
    started = FaultProxy(NOWHERE)
    yield started
    started.stop()


def client(proxy: FaultProxy, service: str) -> Any:
    return boto3.client(service, endpoint_url=proxy.endpoint, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"total_max_attempts": 1}))


def refusal(call: Callable[[], object]) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value


@pytest.mark.parametrize("code, status, message, retried", [
    ("Throttling", 400, "Rate exceeded", True),
    ("LimitExceeded", 409, "Cannot exceed quota for PolicySize: 10240", False),
    ("DeleteConflict", 409, "Cannot delete a policy attached to entities.", False),
    ("ExpiredToken", 403, "The security token included in the request is expired", False),
    ("ServiceUnavailable", 503, "Service is unable to handle request.", True),
])
def test_iam_errors_reach_botocore_as_aws_sends_them(proxy, code: str, status: int, message: str,
                                                      retried: bool) -> None:
    proxy.fail("PutRolePolicy", code=code)
    iam = client(proxy, "iam")

    error = refusal(lambda: iam.put_role_policy(RoleName="r", PolicyName="p", PolicyDocument="{}"))

    assert error.response["Error"]["Code"] == code
    assert error.response["Error"]["Message"] == message
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == status
    assert retryable(error) is retried
    if code in ("LimitExceeded", "DeleteConflict"):  # modelled errors: botocore's own exception class
        assert type(error).__name__ == f"{code}Exception"


def test_sts_calls_are_chosen_apart_from_iam_ones(proxy) -> None:
    proxy.fail("AssumeRole", times=2, code="Throttling", service="sts")
    sts = client(proxy, "sts")

    error = refusal(lambda: sts.assume_role(RoleArn="arn:aws:iam::222222222222:role/r",
                                            RoleSessionName="someone"))

    assert (error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]) == (
        "Throttling", 400)
    assert proxy.seen["AssumeRole"] == 1 and proxy.faults["AssumeRole"].times == 1


def test_a_fault_for_one_service_lets_the_other_through(proxy) -> None:
    proxy.fail("GetRolePolicy", code="ExpiredToken", service="sts")  # IAM's GetRolePolicy is not STS's
    iam = client(proxy, "iam")

    with pytest.raises(Exception, match="the fault proxy could not reach 127.0.0.1:9"):  # forwarded, to nowhere
        iam.get_role_policy(RoleName="r", PolicyName="p")

    assert proxy.faults["GetRolePolicy"].times == 1, "the fault is still waiting for STS"


def test_an_unknown_code_needs_its_status_and_a_bad_service_is_named(proxy) -> None:
    with pytest.raises(ValueError, match="no known HTTP status for the error code 'Nope'"):
        proxy.fail("GetRolePolicy", code="Nope")
    with pytest.raises(ValueError, match="service 's3'"):
        proxy.fail("GetRolePolicy", service="s3")
    proxy.fail("GetRolePolicy", code="NoSuchEntity", status=404, message="The role policy p was not found.")
    error = refusal(lambda: client(proxy, "iam").get_role_policy(RoleName="r", PolicyName="p"))
    assert type(error).__name__ == "NoSuchEntityException" and error.response["Error"]["Message"].endswith(
        "not found.")
