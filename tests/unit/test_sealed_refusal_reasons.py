"""Why the worker refuses a sealed job, word for word as its log says it (chalicelib/slack/sealed.py), and the seal of
a job pinned byte for byte: the API, the sweeper and the worker are separate functions that a deploy updates one by
one, so a job sealed by one version must open under the next (tests/unit/test_worker_jobs.py has the rest)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from chalicelib.slack.sealed import Refused, open_sealed, seal

KEY = b"k" * 32
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
JOB = {"kind": "act", "action": "approve", "request_id": "01jbx5v6d8k2m3n4p5q6r7s8t9", "user_id": "U01BOB",
       "note": "caf\u00e9 \u2603", "attempts": 0, "redelivery": False}
SIGNATURE = "0cc339d43231a2c8f0aad6ce0ec7a4ccd4d0d98eb9e4c82f67ff8ad82d8e662c"  # HMAC-SHA256 of v1:1795867200:<JOB>


def test_a_job_sealed_by_another_version_of_the_broker_still_opens() -> None:
    sealed = seal(JOB, KEY, NOW)
    assert sealed == {"job": JOB, "issued_at": 1795867200, "signature": "v1=" + SIGNATURE}
    assert open_sealed({"job": JOB, "issued_at": 1795867200, "signature": "v1=" + SIGNATURE}, KEY, NOW) == JOB


def envelope(**changes: Any) -> dict[str, Any]:
    return {**seal(JOB, KEY, NOW), **changes}


@pytest.mark.parametrize("sent, why", [
    ({"job": JOB}, "not a sealed job: expected exactly the fields issued_at, job, signature"),
    (envelope(job="act"), "not a sealed job: job must be an object, issued_at an integer, signature a string"),
    (envelope(issued_at=-1), "not a sealed job: issued_at is not a time in seconds since 1970"),
    (envelope(issued_at=10**11), "not a sealed job: issued_at is not a time in seconds since 1970"),
    (envelope(issued_at=0), "bad signature"),  # 1970 is a time; this seal is not its
    (envelope(issued_at=10**11 - 1), "bad signature"),
    (envelope(job={"x": float("nan")}), "not a sealed job: the job is not plain JSON"),
    (seal(JOB, KEY, NOW + timedelta(seconds=90)), "issued 90 s in the future"),
])
def test_each_refusal_says_why(sent: Any, why: str) -> None:
    with pytest.raises(Refused) as refused:
        open_sealed(sent, KEY, NOW)
    assert str(refused.value) == why
