"""The target account's side of the session guard: the broker assumes each account's guard role and reads or writes
the one inline policy it keeps on a switch role (domain/session_guard.py says what is in it).

The guard role (targets/guard-role.yaml) may only GetRole, Get/Put/ListRolePolicies on the switch roles the broker
manages (never DeleteRolePolicy: an empty guard is a statement that never matches), and only the broker's own role
may assume it, with an ExternalId. Its credentials are cached per account for their lifetime (less a minute), so a
revoke costs one AssumeRole at most, then a GetRole (the role's MaxSessionDuration), a GetRolePolicy and a
PutRolePolicy. Anything that keeps the broker from the target account (no guard role, AccessDenied, throttling
past the retries, no connection) is a GuardUnavailable: the caller records the guard as pending and the sweeper
retries."""
from __future__ import annotations

import json
import threading
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.aws import clients
from chalicelib.aws.paging import marker_pages
from chalicelib.aws.retry import error_code, retried
from chalicelib.domain.session_guard import POLICY_NAME

GUARD_SESSION_NAME = "access-broker"
DEFAULT_MAX_SESSION_S = 3600  # IAM's MaxSessionDuration for a role that sets none
_REFRESH_BEFORE = timedelta(minutes=1)
_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=15)


class GuardUnavailable(Exception):
    """The target account could not be reached or refused the broker. The message is safe to show and record."""


class PolicyTooLarge(Exception):
    """IAM refused the document: the role's inline policies would exceed their budget."""


@dataclass(frozen=True)
class GuardTarget:
    """Where one switch role's guard lives: the role, and the guard role (with its ExternalId) of its account."""
    account: str
    role_name: str
    guard_role_arn: str
    external_id: str


class IamSessionGuard:
    def __init__(self, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.sleep, self.clock = sleep, clock
        self._sts: Any = None
        self._iam: dict[str, tuple[Any, datetime]] = {}  # guard role ARN -> (IAM client, credentials' expiry)
        self._lock = threading.Lock()
        self.assumed = 0  # AssumeRole calls made (tests/perf pins the cost of a revoke)

    def read(self, target: GuardTarget) -> dict[str, Any] | None:
        """The guard policy on the role, or None when there is none yet."""
        try:
            found = self._call(target, "get_role_policy", RoleName=target.role_name, PolicyName=POLICY_NAME)
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":  # no guard yet (a missing role fails the write, with its reason)
                return None
            raise GuardUnavailable(_explain("read the session guard", target, exc)) from None
        document = found["PolicyDocument"]
        if isinstance(document, str):  # the real API returns it URL-encoded; botocore decodes only sometimes
            document = json.loads(urllib.parse.unquote(document))
        return document  # type: ignore[no-any-return]

    def write(self, target: GuardTarget, document: dict[str, Any]) -> None:
        """Puts the document (an empty guard is a statement that never matches: the policy is never deleted)."""
        try:
            self._call(target, "put_role_policy", RoleName=target.role_name, PolicyName=POLICY_NAME,
                       PolicyDocument=json.dumps(document, separators=(",", ":")))
        except ClientError as exc:
            if error_code(exc) == "LimitExceeded":
                raise PolicyTooLarge(_message(exc)) from None
            raise GuardUnavailable(_explain("write the session guard", target, exc)) from None

    def max_session(self, target: GuardTarget) -> timedelta:
        """The switch role's MaxSessionDuration: how long a session of it may last, so how long a cut must stand."""
        try:
            role = self._call(target, "get_role", RoleName=target.role_name)["Role"]
        except ClientError as exc:
            raise GuardUnavailable(_explain("read the role's MaxSessionDuration", target, exc)) from None
        return timedelta(seconds=int(role.get("MaxSessionDuration") or DEFAULT_MAX_SESSION_S))

    def inline_policies(self, target: GuardTarget) -> list[str]:
        """The names of every inline policy on the switch role (the guard's among them once written)."""
        try:
            return [name for page in marker_pages(lambda **page: self._call(target, "list_role_policies", **page),
                                                  "PolicyNames", RoleName=target.role_name) for name in page]
        except ClientError as exc:
            raise GuardUnavailable(_explain("list the role's inline policies", target, exc)) from None

    def clients(self) -> list[Any]:
        """The clients made so far (bench/calls.py counts the calls made through them)."""
        with self._lock:
            return [c for c in (self._sts, *(iam for iam, _ in self._iam.values())) if c is not None]

    def _call(self, target: GuardTarget, operation: str, **kwargs: Any) -> Any:
        """One IAM call in the target account (retry.py). Credentials IAM no longer takes are dropped and assumed again;
        a connection that never comes back, or any botocore failure, is a GuardUnavailable."""
        def renewed(exc: ClientError) -> bool:
            if error_code(exc) not in ("ExpiredToken", "InvalidClientTokenId"):
                return False
            self._forget(target)
            return True

        return retried(lambda: getattr(self._client(target), operation)(**kwargs), operation,
                       lambda why: GuardUnavailable(f"account {target.account} {why}; retrying on the next sweep"),
                       sleep=self.sleep, network=(BotoCoreError,), renew=renewed)

    def _client(self, target: GuardTarget) -> Any:
        with self._lock:
            cached = self._iam.get(target.guard_role_arn)
            if cached and cached[1] - _REFRESH_BEFORE > self.clock():
                return cached[0]
        credentials = self._assume(target)
        iam = clients.client("iam", config=_CONFIG, credentials=credentials)
        with self._lock:
            self._iam[target.guard_role_arn] = (iam, credentials["Expiration"])
        return iam

    def _forget(self, target: GuardTarget) -> None:
        with self._lock:
            self._iam.pop(target.guard_role_arn, None)

    def _assume(self, target: GuardTarget) -> dict[str, Any]:
        if self._sts is None:
            self._sts = clients.client("sts", config=_CONFIG)
        self.assumed += 1
        try:
            answer = self._sts.assume_role(RoleArn=target.guard_role_arn, RoleSessionName=GUARD_SESSION_NAME,
                                           ExternalId=target.external_id, DurationSeconds=3600)
        except ClientError as exc:
            raise GuardUnavailable(f"could not assume the guard role {target.guard_role_arn}: {error_code(exc)}: "
                                   f"{_message(exc)} (deploy targets/guard-role.yaml in account {target.account})"
                                   ) from None
        except BotoCoreError as exc:
            raise GuardUnavailable(f"STS did not answer for {target.guard_role_arn}: {exc}") from None
        return answer["Credentials"]  # type: ignore[no-any-return]


def _message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def _explain(action: str, target: GuardTarget, exc: ClientError) -> str:
    return (f"could not {action} on role {target.role_name} in account {target.account}: "
            f"{error_code(exc)}: {_message(exc)}")
