"""The grant as IAM holds it: one customer managed policy per request under /access-broker/, whose document allows
sts:AssumeRole on exactly one role until the grant's end. Pure: the adapter (aws/iam_grants.py) writes it, drift
repair (service/drift.py) compares what IAM holds with it."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from chalicelib.domain.times import rfc3339

POLICY_PATH = "/access-broker/"


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
