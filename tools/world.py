"""The local AWS world: moto's server in a child process, seeded with the access-broker scenario."""

from __future__ import annotations

import configparser
import json
import os
import pathlib
import selectors
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from types import TracebackType
from typing import IO, Any

import boto3

from tools.children import stop_child

REGION = "us-east-1"
SOURCE_ACCOUNT = "111111111111"
TARGET_ACCOUNT = "222222222222"
PEOPLE = ("s3-access", "alice", "bob", "carol")
BROKER_USER = "access-broker"
BROKER_PROFILE = "broker"
ROLE_NAME = "switch-role-for-S3"
GUARD_ROLE = "access-broker-guard"
GUARD_EXTERNAL_ID = f"access-broker-{SOURCE_ACCOUNT}"  # the catalog's default (catalog.default_external_id)
GUARDED_TAG = "access-broker:guarded"  # switch roles the guard role may write inline policies on
SESSION_LIMITS_POLICY = "access-broker-session-limits"
TARGET_ADMIN = "target-admin"  # an administrator of the target account, for inspecting the world
BUCKET = "account2-shared-files"
BROKER_POLICY_PATH = "/access-broker/"
BROKER_RUNTIME_POLICY = "access-broker-runtime"

START_TIMEOUT_S = 15.0

# What the broker's Lambdas do in the source account.  Resource is "*" because moto refuses
# scoped resources on IAM actions (FACTS.md); the deployed policy files are scoped and checked elsewhere.
BROKER_RUNTIME_DOCUMENT: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ManageGrantPolicies",
            "Effect": "Allow",
            "Action": [
                "iam:CreatePolicy",
                "iam:DeletePolicy",
                "iam:CreatePolicyVersion",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
                "iam:TagPolicy",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:ListPolicies",
                "iam:ListPolicyVersions",
                "iam:ListEntitiesForPolicy",
                "iam:AttachUserPolicy",
                "iam:DetachUserPolicy",
                "iam:ListAttachedUserPolicies",
                "iam:GetUser",
            ],
            "Resource": "*",
        },
        # Deployed only for a catalog that reads the directory, on the source account's groups and users.
        {"Sid": "ReadDirectory", "Effect": "Allow", "Action": ["iam:GetGroup", "iam:ListUserTags"], "Resource": "*"},
        {"Sid": "Store", "Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"},
        {"Sid": "WhoAmI", "Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"},
        # Deployed: exactly the target accounts' guard roles (tools/broker_policy.py).
        {"Sid": "AssumeGuardRoles", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
        {"Sid": "InvokeSelf", "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": "*"},
        {"Sid": "ReadSecrets", "Effect": "Allow", "Action": ["ssm:GetParameter", "secretsmanager:GetSecretValue"],
         "Resource": "*"},
    ],
}

# The target account's side, as targets/switch-role.yaml and targets/guard-role.yaml shape it (tests/deploy compares
# them): IAM users of the source account only, each session named after its person.
TRUST_SOURCE_ACCOUNT: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "IamUsersOfTheSourceAccountNamedAfterThemselves",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{SOURCE_ACCOUNT}:root"},
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/*"},
                "StringLike": {"sts:RoleSessionName": "${aws:username}"},
            },
        }
    ],
}

# Sessions of a switch role cannot edit its policies (nor the guard role's) or chain into other roles.
SESSION_LIMITS: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "SessionsCannotChangeTheirRoleOrTheGuard",
            "Effect": "Deny",
            "Action": ["iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
                       "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary",
                       "iam:DeleteRolePermissionsBoundary", "iam:UpdateRole", "iam:TagRole", "iam:UntagRole",
                       "iam:DeleteRole"],
            "Resource": [f"arn:aws:iam::{TARGET_ACCOUNT}:role/{ROLE_NAME}",
                         f"arn:aws:iam::{TARGET_ACCOUNT}:role/{GUARD_ROLE}"],
        },
        {
            "Sid": "SessionsCannotChangeOtherGuardedRoles",
            "Effect": "Deny",
            "Action": ["iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
                       "iam:UpdateAssumeRolePolicy", "iam:PutRolePermissionsBoundary",
                       "iam:DeleteRolePermissionsBoundary", "iam:TagRole", "iam:UntagRole"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/access-broker:guarded": "true"}},
        },
        {
            "Sid": "SessionsCannotMakeLastingIdentities",
            "Effect": "Deny",
            "Action": ["iam:CreateUser", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
                       "iam:CreateServiceSpecificCredential", "iam:UploadSSHPublicKey"],
            "Resource": "*",
        },
        {
            "Sid": "SessionsCannotChainIntoOtherRoles",
            "Effect": "Deny",
            "Action": ["sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity"],
            "Resource": "*",
        },
    ],
}

GUARD_TRUST: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "OnlyTheBrokerWithItsExternalId",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/{BROKER_USER}"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": GUARD_EXTERNAL_ID}},
        }
    ],
}

# Resource "*" because moto refuses scoped resources on IAM actions (FACTS.md); the template scopes it to role/*.
GUARD_PERMISSIONS: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "InlinePoliciesOfGuardedSwitchRolesOnly",
            "Effect": "Allow",
            "Action": ["iam:PutRolePolicy", "iam:GetRolePolicy", "iam:ListRolePolicies", "iam:GetRole"],
            "Resource": "*",
            "Condition": {"StringEquals": {f"aws:ResourceTag/{GUARDED_TAG}": "true"}},
        }
    ],
}

# A customer managed policy rather than AmazonS3FullAccess (moto only loads AWS managed policies when asked to),
# attached as the template attaches ManagedPolicyArns and also the role's permissions boundary, as the template's
# default makes it: whatever an inline policy on the role allows, its sessions get no more than this.
S3_FULL_ACCESS_POLICY = "s3-full-access"
S3_FULL_ACCESS: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}

# Runs inside the child.  werkzeug logs every request despite verbose=False.  Reading stdin to EOF
# makes the child exit when the parent goes away, however it goes (even SIGKILL); os._exit skips a
# slow interpreter teardown.  A failed bind kills the serving thread and ThreadedMotoServer.start()
# would then wait forever, so an uncaught thread error ends the process instead.
# moto's DynamoDB is not safe under concurrent requests: TransactWriteItems checks conditions, then
# writes, and on a cancel restores a copy of the whole table taken before, erasing writes other threads
# made meanwhile (two concurrent approvals could both "win"). DynamoDB serialises writes to an item, so
# the child serialises DynamoDB requests: the tests then see DynamoDB's guarantees, not moto's races.
_CHILD = f"""
import logging, os, sys, threading
# IAM conditions and cross-account trust evaluated as IAM does, a world clock and IAM's propagation delay
# (tools/moto_conditions.py), a role's MaxSessionDuration (tools/moto_session_duration.py), IAM's pages of a
# group's users and a user's tags (tools/moto_pages.py), user names without case (tools/moto_user_names.py), a
# state dump that survives a Lambda function without Docker (tools/moto_docker.py) and dumps only the services asked
# (tools/moto_dump.py).
sys.path.insert(0, {str(pathlib.Path(__file__).resolve().parent.parent)!r})
from tools import moto_conditions, moto_docker, moto_dump, moto_pages, moto_session_duration, moto_user_names
logging.getLogger("werkzeug").setLevel(logging.ERROR)
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import ThreadedMotoServer

_dispatch, _dynamodb = DomainDispatcherApplication.__call__, threading.Lock()

def _one_dynamodb_call_at_a_time(self, environ, start_response):
    if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        return _dispatch(self, environ, start_response)
    with _dynamodb:
        return _dispatch(self, environ, start_response)

DomainDispatcherApplication.__call__ = _one_dynamodb_call_at_a_time
moto_conditions.install()
moto_session_duration.install()
moto_pages.install()
moto_user_names.install()
moto_docker.install()
moto_dump.install()

def _die(args):
    threading.__excepthook__(args)
    os._exit(1)

threading.excepthook = _die
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
os._exit(0)
"""


@dataclass(frozen=True)
class Keys:
    access_key_id: str
    # Kept out of repr so keys printed in test failures or logs do not carry the secret.
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)  # assumed-role credentials only


class Emulator:
    """moto's server in its own child process on 127.0.0.1 (own process => isolated state)."""

    def __init__(self, proc: subprocess.Popen[str] | None, port: int, log: IO[bytes] | None) -> None:
        self._proc = proc  # None: lent by another process, which stops it
        self._log = log
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"

    @classmethod
    def start(cls, port: int | None = None) -> Emulator:
        deadline = time.monotonic() + START_TIMEOUT_S
        # Nameless, so nothing is left behind in /tmp even when the parent is killed.
        log = tempfile.TemporaryFile()
        # Port 0 lets the child bind and report the port it got: no window for another process to take it.
        proc = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(port or 0)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        try:
            bound = _read_port(proc, deadline, log)
            emulator = cls(proc, bound, log)
            emulator._wait_until_answering(deadline)
        except BaseException:
            stop_child(proc, grace_s=0)
            log.close()
            raise
        return emulator

    @classmethod
    def lent(cls, port: int) -> Emulator:
        """An emulator another process started and stops (make mutate lends one to each mutant's
        tests: tools/mutation_tests.py); stop() leaves it running."""
        return cls(None, port, None)

    def _wait_until_answering(self, deadline: float) -> None:
        while True:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=2):
                    return
            except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
                if self._proc is None or self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"moto server on {self.endpoint} did not answer within {START_TIMEOUT_S:.0f} s "
                        f"({exc}); its stderr:\n{_tail(self._log)}"
                    ) from exc
                time.sleep(0.05)

    def _post(self, path: str, body: bytes = b"") -> None:
        request = urllib.request.Request(
            f"{self.endpoint}{path}",
            data=body,
            method="POST",
            # moto reads the raw body; urllib's default form content type makes it read nothing (FACTS.md).
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def reset(self) -> None:
        self._post("/moto-api/reset")
        self.enforce_iam(False)

    def enforce_iam(self, on: bool = True) -> None:
        self._post("/moto-api/reset-auth", b"0" if on else b"inf")

    def set_clock_offset(self, seconds: float) -> None:
        """Moves the world's now (aws:CurrentTime, new sessions' issue time) by `seconds`; reset() sets 0."""
        self._post("/_world/clock", json.dumps({"offset_seconds": seconds}).encode())

    def set_propagation(self, seconds: float) -> None:
        """IAM policy changes take effect for authorization `seconds` late (tools/iam_propagation.py); 0, the
        default and what reset() sets, makes them immediate."""
        self._post("/_world/propagation", json.dumps({"seconds": seconds}).encode())

    def stop(self) -> None:
        if self._proc is None or self._log is None:
            return  # lent: its owner stops it
        stop_child(self._proc, grace_s=5)
        self._log.close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _read_port(proc: subprocess.Popen[str], deadline: float, log: IO[bytes]) -> int:
    assert proc.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        ready = selector.select(timeout=max(0.0, deadline - time.monotonic()))
    line = proc.stdout.readline().strip() if ready else ""
    if not line.isdigit():
        code = proc.poll()
        what = (
            f"exited with code {code}"
            if code is not None
            else f"did not start within {START_TIMEOUT_S:.0f} s"
        )
        raise RuntimeError(f"moto server {what}; its stderr:\n{_tail(log)}")
    return int(line)


def _tail(log: IO[bytes], limit: int = 2000) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-limit:]


_shared_models: dict[tuple[str, ...], dict[Any, Any]] = {}


def share_parsed_models() -> None:
    """One parse of each botocore model per test process. botocore parses its JSON (endpoints, partitions, each
    service's model) once per Session, and a test process makes many: boto3's default session in every fork of make
    mutate, the product's sessions again after each reset. Loaders searching the same paths share what they parsed
    (what one loader would return each time). Test processes only: on Lambda the product's one session per container
    already parses each once."""
    from botocore import loaders

    if getattr(loaders.Loader.__init__, "shares_parsed_models", False):
        return
    own_init = loaders.Loader.__init__

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        own_init(self, *args, **kwargs)
        self._cache = _shared_models.setdefault(tuple(self.search_paths), {})

    __init__.shares_parsed_models = True  # type: ignore[attr-defined]
    loaders.Loader.__init__ = __init__  # type: ignore[method-assign]


def aws_client(endpoint: str, service: str, keys: Keys | None = None, account: str | None = None) -> Any:
    keys = keys or Keys("testing", "testing")  # moto accepts anything while enforcement is off
    client = boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=keys.access_key_id,
        aws_secret_access_key=keys.secret_access_key,
        aws_session_token=keys.session_token,
    )
    if account is not None:
        # Without the header moto uses the account owning the access key, or its default one.
        client.meta.events.register(
            "before-sign.*.*",
            lambda request, **_: request.headers.__setitem__("x-moto-account-id", account),
        )
    return client


def _new_keys(iam: Any, user: str) -> Keys:
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return Keys(key["AccessKeyId"], key["SecretAccessKey"])


def provision(endpoint: str) -> dict[str, Keys]:
    """Seeds the scenario with enforcement off, returns access keys by credentials-profile name:
    one per person ("s3-access", "alice", "bob", "carol"), "broker", and "target-admin" (an administrator of the
    target account, never used by the broker). Caller turns enforcement on."""
    iam = aws_client(endpoint, "iam", account=SOURCE_ACCOUNT)
    keys: dict[str, Keys] = {}
    # People get no policies: any access they have comes from a grant.
    for person in PEOPLE:
        iam.create_user(UserName=person)
        keys[person] = _new_keys(iam, person)

    iam.create_user(UserName=BROKER_USER)
    runtime = iam.create_policy(
        PolicyName=BROKER_RUNTIME_POLICY,
        Path="/",
        PolicyDocument=json.dumps(BROKER_RUNTIME_DOCUMENT),
        Description="What the access-broker Lambdas may do (local world)",
    )
    iam.attach_user_policy(UserName=BROKER_USER, PolicyArn=runtime["Policy"]["Arn"])
    keys[BROKER_PROFILE] = _new_keys(iam, BROKER_USER)

    target_iam = aws_client(endpoint, "iam", account=TARGET_ACCOUNT)
    s3_full_access = target_iam.create_policy(PolicyName=S3_FULL_ACCESS_POLICY,
                                              PolicyDocument=json.dumps(S3_FULL_ACCESS))["Policy"]["Arn"]
    target_iam.create_role(
        RoleName=ROLE_NAME,
        AssumeRolePolicyDocument=json.dumps(TRUST_SOURCE_ACCOUNT),
        MaxSessionDuration=3600,
        PermissionsBoundary=s3_full_access,
        Description="Switch role for S3 (access-broker demo)",
        Tags=[{"Key": "managed-by", "Value": "access-broker"}, {"Key": GUARDED_TAG, "Value": "true"}],
    )
    target_iam.attach_role_policy(RoleName=ROLE_NAME, PolicyArn=s3_full_access)
    limits = target_iam.create_policy(PolicyName=SESSION_LIMITS_POLICY, PolicyDocument=json.dumps(SESSION_LIMITS))
    target_iam.attach_role_policy(RoleName=ROLE_NAME, PolicyArn=limits["Policy"]["Arn"])
    target_iam.create_role(
        RoleName=GUARD_ROLE,
        AssumeRolePolicyDocument=json.dumps(GUARD_TRUST),
        MaxSessionDuration=3600,
        Description="Lets access-broker cut open sessions of the switch roles it manages",
    )
    target_iam.put_role_policy(
        RoleName=GUARD_ROLE, PolicyName="session-guard", PolicyDocument=json.dumps(GUARD_PERMISSIONS)
    )
    target_iam.create_user(UserName=TARGET_ADMIN)
    target_iam.put_user_policy(UserName=TARGET_ADMIN, PolicyName="administrator", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    keys[TARGET_ADMIN] = _new_keys(target_iam, TARGET_ADMIN)

    s3 = aws_client(endpoint, "s3", account=TARGET_ACCOUNT)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="hello.txt", Body=b"hello from account 2\n")
    return keys


def write_credentials_file(path: pathlib.Path, keys: dict[str, Keys]) -> None:
    config = configparser.ConfigParser(interpolation=None)
    for profile, key in keys.items():
        config[profile] = {
            "aws_access_key_id": key.access_key_id,
            "aws_secret_access_key": key.secret_access_key,
        }
        if key.session_token:
            config[profile]["aws_session_token"] = key.session_token
    path.parent.mkdir(parents=True, exist_ok=True)
    # 0600 before any secret is written; fchmod because open's mode is ignored for an existing file.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as out:
        config.write(out)


def start_world(port: int | None = None, propagation_s: float = 0.0) -> tuple[Emulator, dict[str, Keys]]:
    """A seeded world with IAM enforced; policy changes after the seed take effect `propagation_s` late."""
    emulator = Emulator.start(port)
    try:
        return emulator, _seed(emulator, propagation_s)
    except BaseException:
        emulator.stop()
        raise


def lent_world(port: int) -> tuple[Emulator, dict[str, Keys]]:
    """The running emulator on `port`, emptied and seeded again: as start_world's, without starting a process."""
    emulator = Emulator.lent(port)
    emulator.reset()
    return emulator, _seed(emulator, 0.0)


def _seed(emulator: Emulator, propagation_s: float) -> dict[str, Keys]:
    keys = provision(emulator.endpoint)
    emulator.enforce_iam(True)
    emulator.set_propagation(propagation_s)
    return keys
