"""Every AWS client the app makes at run time, built from botocore sessions that load slimmed service models.

Building a botocore client parses its service's whole model: 0.8 MB of JSON for SSM, 0.5 MB for DynamoDB,
0.4 MB for Lambda, about 50 ms of CPU on the cold path of a slash command. `models/` holds the same models
cut down to the operations in OPERATIONS (documentation dropped); each session searches it before botocore's
own data (botocore's `data_path`), so endpoint rules, retries and paginators still come from botocore.

botocore is pinned in requirements.txt and the models are generated from it: after changing either,
`make models` writes them again; tests/perf/test_slim_models.py fails until they match. An operation left
out of OPERATIONS is not a method of the client, so the suite fails at the first call that needs it.

The stock boto3 entry points stay for tools and tests (create the table, seed the world): they see full models."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import botocore.session

MODELS_DIR = Path(__file__).resolve().parent / "models"
OPERATIONS: dict[str, tuple[str, ...]] = {
    # BatchWriteItem: the models' batch_write, which only the storage tests and the bench use to seed tables.
    "dynamodb": ("BatchWriteItem", "DeleteItem", "GetItem", "PutItem", "Query", "TransactWriteItems"),
    # The session guard's four (aws/session_guard.py: GetRole, GetRolePolicy, ListRolePolicies, PutRolePolicy) run in
    # target accounts, with the guard role's credentials. GetGroup and ListUserTags: the directory's people
    # (aws/directory.py).
    "iam": ("AttachUserPolicy", "CreatePolicy", "CreatePolicyVersion", "DeletePolicy", "DeletePolicyVersion",
            "DetachUserPolicy", "GetGroup", "GetPolicy", "GetPolicyVersion", "GetRole", "GetRolePolicy", "GetUser",
            "ListEntitiesForPolicy", "ListPolicies", "ListPolicyVersions", "ListRolePolicies", "ListUserTags",
            "PutRolePolicy", "TagPolicy"),
    "lambda": ("Invoke",),
    "ssm": ("GetParameter",),
    "sts": ("AssumeRole",),
}


class _PerThread(threading.local):
    """One botocore session per thread (sessions are not thread-safe; the clients they build are). On Lambda
    that is one session for the container, so endpoint rules and models are loaded once."""

    def __init__(self) -> None:
        self.session = botocore.session.get_session()
        self.session.set_config_variable("data_path", str(MODELS_DIR))  # before the loader is first built


_sessions = _PerThread()


def session() -> botocore.session.Session:
    """This thread's session (pynamodb is pointed at the same slot: see store/models.py)."""
    return _sessions.session


def sessions() -> threading.local:
    """The per-thread slot itself: an object whose `session` attribute is the calling thread's session."""
    return _sessions


def client(service: str, config: Any = None, credentials: dict[str, Any] | None = None) -> Any:
    """A client for `service` (a key of OPERATIONS). Region, credentials and endpoint come from the usual
    places (AWS_DEFAULT_REGION, the Lambda role, AWS_ENDPOINT_URL); no code path picks an endpoint itself.
    `credentials`, an STS `Credentials` answer, replaces the caller's own (the guard role's, in a target account)."""
    if service not in OPERATIONS:
        raise ValueError(f"no slimmed model for {service!r}: add its operations to OPERATIONS and run make models")
    keys = {"aws_access_key_id": credentials["AccessKeyId"], "aws_secret_access_key": credentials["SecretAccessKey"],
            "aws_session_token": credentials["SessionToken"]} if credentials else {}
    return session().create_client(service, config=config, **keys)


def iam() -> Any:
    """The source account's IAM client as the broker's adapters use it: no retries of botocore's own (retry.py
    retries, with backoff and jitter), and bounded waits."""
    from botocore.config import Config

    return client("iam", config=Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5,
                                       read_timeout=15))


def reset() -> None:
    """New sessions for every thread from now on, so credentials and settings are read again (tests)."""
    global _sessions
    _sessions = _PerThread()
