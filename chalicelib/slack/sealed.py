"""Jobs for the worker function travel sealed, so that invoking the worker is not enough to make it act.

The broker's own functions (API, sweep) seal each job they send: an HMAC-SHA256, under a key only the broker
reads (ACCESS_BROKER_JOB_KEY, an SSM parameter in deployed stages), over the job's canonical JSON and the time
it was issued. The worker opens a job only if the seal is genuine and was issued within WINDOW, and runs it only
once (it records each envelope it runs until the window closes: envelope_id); anything else is refused before it
is read. Jobs that run in-process (locally, or spawned inside the worker) need no seal."""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone
from typing import Any

VERSION = "v1"
WINDOW = timedelta(minutes=15)  # an older job is refused: a captured one cannot be replayed later
SKEW = timedelta(minutes=1)  # how far ahead of the worker's clock the sender's may run
MIN_KEY_BYTES = 32  # an HMAC-SHA256 key shorter than its output is easier to guess than the seal is to forge
FIELDS = {"job", "issued_at", "signature"}
Job = dict[str, Any]


class Refused(Exception):
    """Why a sealed job was refused. The message never holds the key, the signature or the job itself."""


class WeakKey(ValueError):
    """The job key is too short to seal with: nothing is sealed or opened with it."""


def checked_key(key: bytes) -> bytes:
    """`key` if it is long enough to seal jobs with (settings refuse a short one in the environment at start; one read
    from SSM is refused here, on first use)."""
    if len(key) < MIN_KEY_BYTES:
        raise WeakKey(f"the job key (ACCESS_BROKER_JOB_KEY) is {len(key)} bytes; it must be at least {MIN_KEY_BYTES}: "
                      f"make one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
    return key


def seal(job: Job, key: bytes, now: datetime) -> dict[str, Any]:
    issued_at = int(now.timestamp())
    return {"job": job, "issued_at": issued_at, "signature": _signature(checked_key(key), issued_at, job)}


def open_sealed(envelope: Any, key: bytes, now: datetime) -> Job:
    """The job inside `envelope` if its seal is genuine and fresh; Refused otherwise."""
    if not isinstance(envelope, dict) or set(envelope) != FIELDS:
        raise Refused("not a sealed job: expected exactly the fields " + ", ".join(sorted(FIELDS)))
    job, issued_at, signature = envelope["job"], envelope["issued_at"], envelope["signature"]
    if not isinstance(job, dict) or type(issued_at) is not int or not isinstance(signature, str):
        raise Refused("not a sealed job: job must be an object, issued_at an integer, signature a string")
    if not 0 <= issued_at < 10**11:
        raise Refused("not a sealed job: issued_at is not a time in seconds since 1970")
    try:
        key = checked_key(key)
    except WeakKey as exc:
        raise Refused(str(exc)) from None
    try:
        expected = _signature(key, issued_at, job)
    except (TypeError, ValueError, RecursionError):  # NaN, absurd nesting: nothing the broker ever seals
        raise Refused("not a sealed job: the job is not plain JSON") from None
    if not hmac.compare_digest(signature.encode("utf-8", "replace"), expected.encode()):
        raise Refused("bad signature")
    age = now.timestamp() - issued_at
    if age > WINDOW.total_seconds():
        raise Refused(f"issued {int(age)} s ago, outside the {int(WINDOW.total_seconds())} s window")
    if age < -SKEW.total_seconds():
        raise Refused(f"issued {int(-age)} s in the future")
    return job


def envelope_id(envelope: dict[str, Any]) -> str:
    """What names one envelope among those the worker ran (a digest of its seal, which differs for every job and
    moment): recorded so that it runs once (store/envelopes.py). Call it on an envelope open_sealed accepted."""
    return hashlib.sha256(str(envelope["signature"]).encode()).hexdigest()


def accepted_until(envelope: dict[str, Any]) -> datetime:
    """The moment open_sealed stops accepting `envelope`: its record need not outlive it."""
    return datetime.fromtimestamp(int(envelope["issued_at"]), timezone.utc) + WINDOW


def _signature(key: bytes, issued_at: int, job: Job) -> str:
    message = f"{VERSION}:{issued_at}:".encode() + canonical(job)
    return f"{VERSION}={hmac.new(key, message, hashlib.sha256).hexdigest()}"


def canonical(job: Job) -> bytes:
    """One byte string per job, however its keys were ordered or its text escaped on the way."""
    return json.dumps(job, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()
