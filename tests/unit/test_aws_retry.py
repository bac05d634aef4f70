"""The one retry policy for calls to AWS (chalicelib/aws/retry.py), as the grants and the session guard use it."""
from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.aws.retry import ATTEMPTS, retried


class GaveUp(Exception):
    pass


def refusal(code: str, status: int = 400) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "PutRolePolicy")


class Calls:
    """Answers with each of `outcomes` in turn (an exception is raised), then "done"."""

    def __init__(self, *outcomes: Exception) -> None:
        self.outcomes, self.made = list(outcomes), 0

    def __call__(self) -> str:
        self.made += 1
        if self.outcomes:
            raise self.outcomes.pop(0)
        return "done"


def call(calls: Calls, sleeps: list[float], **options: Any) -> str:
    return retried(calls, "PutRolePolicy", lambda why: GaveUp(why), sleep=sleeps.append,
                   network=(EndpointConnectionError,), **options)


@pytest.mark.parametrize("passing", [refusal("Throttling"), refusal("ThrottlingException"),
                                     refusal("ServiceUnavailable", 503), refusal("Anything", 500),
                                     EndpointConnectionError(endpoint_url="https://iam.amazonaws.com")])
def test_throttling_5xx_and_dropped_connections_are_tried_again_after_growing_waits(passing: Exception) -> None:
    sleeps: list[float] = []
    assert call(Calls(passing, passing, passing), sleeps) == "done"
    assert sleeps == [0.25, 0.5, 1.0]


def test_a_refusal_that_cannot_heal_is_raised_at_once_without_waiting() -> None:
    sleeps: list[float] = []
    calls = Calls(refusal("AccessDenied", 403))
    with pytest.raises(ClientError, match="AccessDenied"):
        call(calls, sleeps)
    assert (calls.made, sleeps) == (1, [])


def test_throttling_on_every_attempt_raises_the_last_refusal_after_four_waits() -> None:
    sleeps: list[float] = []
    calls = Calls(*[refusal("Throttling")] * ATTEMPTS)
    with pytest.raises(ClientError, match="Throttling"):
        call(calls, sleeps)
    assert (calls.made, sleeps) == (5, [0.25, 0.5, 1.0, 2.0])


def test_a_connection_that_never_comes_back_gives_up_naming_the_operation() -> None:
    sleeps: list[float] = []
    with pytest.raises(GaveUp, match=r"^did not answer \(PutRolePolicy\): Could not connect"):
        call(Calls(*[EndpointConnectionError(endpoint_url="https://iam.amazonaws.com")] * ATTEMPTS), sleeps)
    assert len(sleeps) == ATTEMPTS - 1


def test_an_error_outside_network_is_not_retried() -> None:
    calls = Calls(ValueError("a bug"))
    with pytest.raises(ValueError):
        call(calls, [])
    assert calls.made == 1


def test_renewed_refusals_are_tried_again_even_if_they_would_not_heal_and_give_up_when_they_keep_coming() -> None:
    renewed: list[str] = []

    def renew(exc: ClientError) -> bool:
        renewed.append(exc.response["Error"]["Code"])
        return exc.response["Error"]["Code"] == "ExpiredToken"

    assert call(Calls(refusal("ExpiredToken", 403)), [], renew=renew) == "done"
    assert renewed == ["ExpiredToken"]
    sleeps: list[float] = []
    with pytest.raises(GaveUp, match=r"^kept refusing PutRolePolicy$"):
        call(Calls(*[refusal("ExpiredToken", 403)] * ATTEMPTS), sleeps, renew=renew)
    assert len(sleeps) == ATTEMPTS - 1, "no wait after the last attempt"


def test_spread_scales_each_wait() -> None:
    sleeps: list[float] = []
    call(Calls(refusal("Throttling"), refusal("Throttling")), sleeps, spread=lambda: 0.5)
    assert sleeps == [0.125, 0.25]
