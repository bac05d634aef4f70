"""The grant in IAM: one customer managed policy per request under /access-broker/<stage>/, attached to the requester.

Every method is safe to re-run. The broker never touches a policy outside its stage's path: `_owned` checks
each ARN before any call that changes IAM, and ListPolicies is asked for that path only. Throttling, 5xx answers
and dropped connections are retried with exponential backoff and jitter (retry.py)."""
from __future__ import annotations

import json
import random
import time
import urllib.parse
from datetime import datetime
from typing import Any, Callable, Iterator

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from chalicelib.aws import clients
from chalicelib.aws.paging import marker_pages
from chalicelib.aws.retry import error_code, retried
from chalicelib.domain.grant_policy import (
    POLICY_PATH,
    is_grant,
    policy_document,
    policy_name,
    policy_path,
    request_id_of,
)
from chalicelib.domain.times import rfc3339
from chalicelib.ports import GrantError

__all__ = ["POLICY_PATH", "GrantError", "IamGrants", "is_grant", "policy_document", "policy_name", "policy_path",
           "request_id_of"]

OWNER_TAG = "access-broker:owner"


class IamGrants:
    """The grants of one stage, under its own path (`policy_path(stage)`): another stage's are never listed or touched.
    `owner` names the deployment (its table) in a tag on every grant policy, so that two deployments of one stage name
    sharing an account (two regions) never take each other's policies for orphans."""

    def __init__(self, source_account: str, stage: str, partition: str = "aws", client: Any = None,
                 sleep: Callable[[float], None] = time.sleep, jitter: Callable[[], float] = random.random,
                 owner: str = "") -> None:
        self.source_account, self.partition, self.owner = source_account, partition, owner
        self.path = policy_path(stage)
        self._client, self.sleep, self.jitter = client, sleep, jitter

    @property
    def iam(self) -> Any:
        if self._client is None:  # built on first use: no client at import or cold start
            self._client = clients.iam()
        return self._client

    def policy_arn(self, request_id: str) -> str:
        return f"arn:{self.partition}:iam::{self.source_account}:policy{self.path}{policy_name(request_id)}"

    def apply(self, request_id: str, iam_user: str, role_arn: str, expires_at: datetime) -> str:
        """Creates the grant policy (or finds it from an earlier attempt) and attaches it to the user, once IAM has said
        the user's name is exactly `iam_user` (`_exact_user`)."""
        self._exact_user(iam_user)
        arn = self.policy_arn(request_id)
        document = json.dumps(policy_document(role_arn, expires_at))
        try:
            self._call("create_policy",
                       PolicyName=policy_name(request_id), Path=self.path, PolicyDocument=document,
                       Description=f"access-broker grant for request {request_id}"[:1000],
                       Tags=[{"Key": "access-broker:request-id", "Value": request_id},
                             {"Key": "access-broker:expires-at", "Value": rfc3339(expires_at)},
                             *([{"Key": OWNER_TAG, "Value": self.owner}] if self.owner else [])])
        except ClientError as exc:
            if error_code(exc) != "EntityAlreadyExists":  # a re-run: the policy from the first attempt is ours
                raise GrantError(_explain("create the grant policy", exc)) from None
        try:
            self._call("attach_user_policy", UserName=iam_user, PolicyArn=self._owned(arn))
        except ClientError as exc:
            raise GrantError(_explain(f"attach the grant policy to IAM user {iam_user}", exc)) from None
        return arn

    def _exact_user(self, iam_user: str) -> None:
        """Refuses a user name in another case than IAM's: IAM finds `Judy` for the user `judy`, but the session's
        `aws:userid` says `judy`, and the session guard's cuts compare it exactly, so they would end nobody's sessions.
        Refused before anything is created, with the name to write in the catalog."""
        try:
            name = self._call("get_user", UserName=iam_user)["User"]["UserName"]
        except ClientError as exc:
            raise GrantError(_explain(f"find IAM user {iam_user}", exc)) from None
        if name != iam_user:
            raise GrantError(f"the catalog names IAM user {iam_user!r}, which IAM knows as {name!r}: IAM matches user "
                             f"names without case, but the session guard's cuts (aws:userid) compare them exactly, so "
                             f"they could not end this person's sessions. Write iam_user: {name} in the catalog.")

    def set_expiry(self, request_id: str, role_arn: str, expires_at: datetime) -> None:
        """Moves the grant's end: a new default policy version carries the new condition (IAM switches the
        default atomically: no gap, no overlap), then every older version is deleted."""
        arn = self._owned(self.policy_arn(request_id))
        try:
            self._call("create_policy_version", PolicyArn=arn, SetAsDefault=True,
                       PolicyDocument=json.dumps(policy_document(role_arn, expires_at)))
            self._delete_old_versions(arn)
            self._call("tag_policy", PolicyArn=arn,
                       Tags=[{"Key": "access-broker:expires-at", "Value": rfc3339(expires_at)}])
        except ClientError as exc:
            raise GrantError(_explain("change the grant policy's expiry", exc)) from None

    def remove(self, policy_arn: str, iam_user: str | None = None) -> None:
        """Detaches the policy (from `iam_user`, or from everyone it is attached to) and deletes it."""
        arn = self._owned(policy_arn)
        try:
            users = [iam_user] if iam_user else self.attached_users(arn)
            for user in users:
                self._ignore_missing("detach_user_policy", UserName=user, PolicyArn=arn)
            self._delete_policy(arn)
        except ClientError as exc:
            if error_code(exc) == "DeleteConflict" and iam_user:  # attached elsewhere too: detach from all
                return self.remove(policy_arn)
            raise GrantError(_explain("remove the grant policy", exc)) from None

    def attached_users(self, policy_arn: str) -> list[str]:
        try:
            return [u["UserName"] for page in self._pages("list_entities_for_policy", "PolicyUsers",
                                                          PolicyArn=self._owned(policy_arn), EntityFilter="User")
                    for u in page]
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return []
            raise

    def owner_of(self, policy_arn: str) -> str | None:
        """The deployment that made a grant policy (its `access-broker:owner` tag); None when untagged or gone."""
        try:
            tags = self._call("get_policy", PolicyArn=self._owned(policy_arn))["Policy"].get("Tags") or []
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise GrantError(_explain("read the grant policy's tags", exc)) from None
        return next((t["Value"] for t in tags if t["Key"] == OWNER_TAG), None)

    def owned_policies(self) -> list[str]:
        """ARNs of every policy under the stage's path, paginated."""
        return [p["Arn"] for p in self.listed()]

    def listed(self) -> list[dict[str, Any]]:
        """Every policy under the stage's path as ListPolicies describes it (Arn, DefaultVersionId,
        AttachmentCount...), paginated."""
        return [p for page in self._pages("list_policies", "Policies", Scope="Local", PathPrefix=self.path)
                for p in page]

    def document(self, policy_arn: str, version_id: str) -> dict[str, Any] | None:
        """The document of one version of a policy under the broker's path; None when it is gone."""
        try:
            found = self._call("get_policy_version", PolicyArn=self._owned(policy_arn), VersionId=version_id)
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return None
            raise GrantError(_explain("read a policy under the broker's path", exc)) from None
        document = found["PolicyVersion"]["Document"]
        parsed: dict[str, Any] = json.loads(urllib.parse.unquote(document)) if isinstance(document, str) else document
        return parsed

    def _owned(self, policy_arn: str) -> str:
        """Refuses any policy outside the stage's path: the broker only ever touches its own stage's."""
        if f":policy{self.path}" not in policy_arn or "/" in policy_arn.split(f":policy{self.path}", 1)[1]:
            raise GrantError(f"refusing to touch {policy_arn}: it is not under {self.path}")
        return policy_arn

    def _delete_policy(self, arn: str) -> None:
        """IAM refuses (DeleteConflict) to delete a policy that still has older versions, which only an
        extension cut short leaves behind: those are listed and deleted only then, so that a revoke or an
        expiry costs two IAM calls, not three. A conflict that remains (attached elsewhere) is raised."""
        try:
            self._ignore_missing("delete_policy", PolicyArn=arn)
        except ClientError as exc:
            if error_code(exc) != "DeleteConflict":
                raise
            self._delete_old_versions(arn)
            self._ignore_missing("delete_policy", PolicyArn=arn)

    def _delete_old_versions(self, arn: str) -> None:
        try:
            versions = self._call("list_policy_versions", PolicyArn=arn)["Versions"]
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return
            raise
        for version in versions:
            if not version["IsDefaultVersion"]:
                self._ignore_missing("delete_policy_version", PolicyArn=arn, VersionId=version["VersionId"])

    def _pages(self, operation: str, key: str, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
        return marker_pages(lambda **page: self._call(operation, **page), key, **kwargs)

    def _ignore_missing(self, operation: str, **kwargs: Any) -> None:
        try:
            self._call(operation, **kwargs)
        except ClientError as exc:
            if error_code(exc) != "NoSuchEntity":
                raise

    def _call(self, operation: str, **kwargs: Any) -> Any:
        """One IAM call (retry.py): a connection that never comes back becomes a GrantError."""
        return retried(lambda: getattr(self.iam, operation)(**kwargs), operation,
                       lambda why: GrantError(f"IAM {why}"), sleep=self.sleep,
                       network=(BotoConnectionError, HTTPClientError), spread=lambda: 0.5 + self.jitter() / 2)




def _explain(action: str, exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return f"IAM refused to {action}: {error.get('Code', 'error')}: {error.get('Message', '')}".strip()
