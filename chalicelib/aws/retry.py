"""One way to call AWS through throttling and dropped connections, for the grants (iam_grants.py) and the session
guard (session_guard.py). botocore's own retries are off in both, so there is one retry policy and tests can inject
the sleep: each call is tried up to ATTEMPTS times, waiting about 0.25, 0.5, 1, 2 s between attempts."""
from __future__ import annotations

from typing import Callable, TypeVar

from botocore.exceptions import ClientError

ATTEMPTS = 5  # per call
BACKOFF_BASE_S, BACKOFF_CAP_S = 0.25, 4.0
_RETRYABLE_CODES = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "ServiceUnavailable",
                    "ServiceUnavailableException", "InternalFailure", "InternalError", "ServiceFailure"}

T = TypeVar("T")


def retried(call: Callable[[], T], operation: str, gave_up: Callable[[str], Exception], *,
            sleep: Callable[[float], None], network: tuple[type[Exception], ...],
            spread: Callable[[], float] = lambda: 1.0,
            renew: Callable[[ClientError], bool] = lambda exc: False) -> T:
    """`call()`, again after throttling and 5xx answers; any other refusal is raised at once, and so is the last one.
    `renew(exc)` may handle a refusal that a new attempt cures (stale credentials it dropped). An exception in `network`
    (the connection) on the last attempt, or a refusal still renewed then, becomes `gave_up(<what happened>)`.
    `spread()` scales each wait (jitter, where many callers share one limit)."""
    for attempt in range(ATTEMPTS):
        last = attempt == ATTEMPTS - 1
        try:
            return call()
        except ClientError as exc:
            if not renew(exc) and (last or not retryable(exc)):
                raise
        except network as exc:
            if last:
                raise gave_up(f"did not answer ({operation}): {exc}") from None
        if not last:
            sleep(min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** attempt) * spread())
    raise gave_up(f"kept refusing {operation}")


def retryable(exc: ClientError) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return error_code(exc) in _RETRYABLE_CODES or status >= 500


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
