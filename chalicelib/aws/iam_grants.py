"""The grant in IAM: one customer managed policy per request under /access-broker/, attached to the requester.

Every method is safe to re-run. The broker never touches a policy outside its path: `_owned` checks
each ARN before any call that changes IAM."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import boto3
from botocore.exceptions import ClientError

POLICY_PATH = "/access-broker/"


class GrantError(Exception):
    """IAM refused to apply or remove a grant. The message is safe to show and record."""


class IamGrants:
    def __init__(self, source_account: str, partition: str = "aws", client: Any = None) -> None:
        self.source_account, self.partition = source_account, partition
        self._client = client

    @property
    def iam(self) -> Any:
        if self._client is None:  # built on first use: no client at import or cold start
            self._client = boto3.client("iam")
        return self._client

    def policy_arn(self, request_id: str) -> str:
        return f"arn:{self.partition}:iam::{self.source_account}:policy{POLICY_PATH}{policy_name(request_id)}"

    def apply(self, request_id: str, iam_user: str, role_arn: str, expires_at: datetime) -> str:
        """Creates the grant policy (or finds it from an earlier attempt) and attaches it to the user."""
        arn = self.policy_arn(request_id)
        document = json.dumps(policy_document(role_arn, expires_at))
        try:
            self.iam.create_policy(
                PolicyName=policy_name(request_id), Path=POLICY_PATH, PolicyDocument=document,
                Description=f"access-broker grant for request {request_id}"[:1000],
                Tags=[{"Key": "access-broker:request-id", "Value": request_id},
                      {"Key": "access-broker:expires-at", "Value": _rfc3339(expires_at)}])
        except ClientError as exc:
            if _code(exc) != "EntityAlreadyExists":  # a re-run: the policy from the first attempt is ours
                raise GrantError(_explain("create the grant policy", exc)) from None
        try:
            self.iam.attach_user_policy(UserName=iam_user, PolicyArn=_owned(arn))
        except ClientError as exc:
            raise GrantError(_explain(f"attach the grant policy to IAM user {iam_user}", exc)) from None
        return arn

    def remove(self, policy_arn: str, iam_user: str | None = None) -> None:
        """Detaches the policy (from `iam_user`, or from everyone it is attached to) and deletes it."""
        arn = _owned(policy_arn)
        users = [iam_user] if iam_user else self.attached_users(arn)
        try:
            for user in users:
                _ignore_missing(self.iam.detach_user_policy, UserName=user, PolicyArn=arn)
            _ignore_missing(self.iam.delete_policy, PolicyArn=arn)
        except ClientError as exc:
            if _code(exc) == "DeleteConflict" and iam_user:  # attached elsewhere too: detach from all
                return self.remove(policy_arn)
            raise GrantError(_explain("remove the grant policy", exc)) from None

    def attached_users(self, policy_arn: str) -> list[str]:
        pages = self.iam.get_paginator("list_entities_for_policy").paginate(
            PolicyArn=_owned(policy_arn), EntityFilter="User")
        try:
            return [u["UserName"] for page in pages for u in page["PolicyUsers"]]
        except ClientError as exc:
            if _code(exc) == "NoSuchEntity":
                return []
            raise

    def owned_policies(self) -> list[str]:
        """ARNs of every policy under the broker's path, paginated."""
        pages = self.iam.get_paginator("list_policies").paginate(Scope="Local", PathPrefix=POLICY_PATH)
        return [p["Arn"] for page in pages for p in page["Policies"]]


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
            "Condition": {"DateLessThan": {"aws:CurrentTime": _rfc3339(expires_at)}},
        }],
    }


def _owned(policy_arn: str) -> str:
    """Refuses any policy outside the broker's path: the broker only ever touches its own."""
    if f":policy{POLICY_PATH}" not in policy_arn:
        raise GrantError(f"refusing to touch {policy_arn}: it is not under {POLICY_PATH}")
    return policy_arn


def _ignore_missing(call: Any, **kwargs: Any) -> None:
    try:
        call(**kwargs)
    except ClientError as exc:
        if _code(exc) != "NoSuchEntity":
            raise


def _rfc3339(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _explain(action: str, exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"IAM refused to {action}: {error.get('Code', 'error')}: {error.get('Message', '')}".strip()
