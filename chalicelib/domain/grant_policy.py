"""The grant as IAM holds it: one customer managed policy per request under /access-broker/<stage>/, whose document
allows sts:AssumeRole on exactly one role until the grant's end. Pure: the adapter (aws/iam_grants.py) writes it,
drift repair (service/drift.py) compares what IAM holds with it.

Each stage has its own path (and its own IAM permissions on it, tools/broker_policy.py), so two stages sharing an
account never list, judge or remove each other's grants."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from chalicelib.domain.times import rfc3339

POLICY_PATH = "/access-broker/"  # the root of every stage's path; before issue 24 (point 7), every stage's own
_STAGE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # Chalice stage names; IAM paths allow more, nothing here needs it


def policy_path(stage: str) -> str:
    """The IAM path of a stage's grant policies: /access-broker/<stage>/."""
    if not _STAGE.match(stage):
        raise ValueError(f"stage {stage!r}: a stage's grant policies live under {POLICY_PATH}<stage>/, so its name "
                         f"must be 1 to 64 letters, digits, '_' or '-'")
    return f"{POLICY_PATH}{stage}/"


def policy_name(request_id: str) -> str:
    return f"access-broker-{request_id}"


def request_id_of(policy_arn: str) -> str:
    """The request a grant policy belongs to, from its name."""
    return policy_arn.rsplit("/", 1)[-1].removeprefix("access-broker-")


def policy_document(role_arn: str, expires_at: datetime) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "AccessBrokerGrant",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": role_arn,
            # Every session is named after its person, so the target's session guard can cut one person's sessions.
            "Condition": {"DateLessThan": {"aws:CurrentTime": rfc3339(expires_at)},
                          "StringEquals": {"sts:RoleSessionName": "${aws:username}"}},
        }],
    }


def is_grant(document: Any, roles: set[str]) -> bool:
    """Whether `document` is exactly what `policy_document` writes for one of `roles`, whatever its deadline: one
    statement allowing sts:AssumeRole on the role, with the broker's two conditions and nothing else."""
    try:
        (statement,) = document["Statement"]
        deadline = statement["Condition"]["DateLessThan"]["aws:CurrentTime"]
        expires_at = datetime.strptime(deadline, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (TypeError, KeyError, ValueError):
        return False
    return statement.get("Resource") in roles and document == policy_document(statement["Resource"], expires_at)
