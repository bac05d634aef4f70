"""Open sessions end when access ends, proved with a real IAM evaluator (iam-simulate) on the documents the broker
wrote into the local world: the grant policy, the switch role's trust policy, its session guard and its other
policies, read back over the API. moto evaluates few conditions, so this is where the guarantees are checked,
to the second."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from chalicelib.domain.session_guard import POLICY_NAME, ROLE, Guard
from chalicelib.domain.times import rfc3339
from tools.iam_evaluator import Case
from tools.world import BUCKET, ROLE_NAME, SOURCE_ACCOUNT, TARGET_ACCOUNT

ROLE_ARN = f"arn:aws:iam::{TARGET_ACCOUNT}:role/{ROLE_NAME}"
OBJECT = f"arn:aws:s3:::{BUCKET}/hello.txt"
ROOT = Path(__file__).resolve().parents[2]


class Target:
    """The target account's documents, read back as its administrator would."""

    def __init__(self, world: Any) -> None:
        self.iam = world.client("iam", "target-admin")
        self.source_iam = world.client("iam", "broker")
        self.role_id = self.iam.get_role(RoleName=ROLE_NAME)["Role"]["RoleId"]

    def trust(self) -> dict:
        return self.iam.get_role(RoleName=ROLE_NAME)["Role"]["AssumeRolePolicyDocument"]

    def role_policies(self) -> list[dict]:
        inline = [self.iam.get_role_policy(RoleName=ROLE_NAME, PolicyName=name)["PolicyDocument"]
                  for name in self.iam.list_role_policies(RoleName=ROLE_NAME)["PolicyNames"]]
        managed = []
        for attached in self.iam.list_attached_role_policies(RoleName=ROLE_NAME)["AttachedPolicies"]:
            version = self.iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
            managed.append(self.iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)[
                "PolicyVersion"]["Document"])
        return inline + managed

    def guard(self) -> Guard:
        return Guard.from_policy(self.iam.get_role_policy(RoleName=ROLE_NAME, PolicyName=POLICY_NAME)[
            "PolicyDocument"])

    def grant_policies(self, user: str) -> list[dict]:
        found = []
        for attached in self.source_iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]:
            version = self.source_iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]["DefaultVersionId"]
            found.append(self.source_iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=version)[
                "PolicyVersion"]["Document"])
        return found

    def switch(self, user: str, at: datetime, grant: list[dict], session_name: str | None = None,
               principal: str | None = None) -> Case:
        """`user` switching into the role at `at` (the console names the session after the user)."""
        arn = principal or f"arn:aws:iam::{SOURCE_ACCOUNT}:user/{user}"
        return Case(principal=arn, action="sts:AssumeRole", resource=ROLE_ARN, resource_account=TARGET_ACCOUNT,
                    identity_policies=grant, resource_policy=self.trust(),
                    context={"aws:CurrentTime": rfc3339(at), "aws:username": user, "aws:PrincipalArn": arn,
                             "aws:PrincipalAccount": SOURCE_ACCOUNT, "sts:RoleSessionName": session_name or user})

    def read(self, user: str, issued: datetime, at: datetime, policies: list[dict]) -> Case:
        """A session of `user`, issued at `issued`, reading hello.txt at `at`."""
        return Case(principal=f"arn:aws:sts::{TARGET_ACCOUNT}:assumed-role/{ROLE_NAME}/{user}",
                    action="s3:GetObject", resource=OBJECT, resource_account=TARGET_ACCOUNT,
                    identity_policies=policies,
                    context={"aws:CurrentTime": rfc3339(at), "aws:TokenIssueTime": rfc3339(issued),
                             "aws:userid": f"{self.role_id}:{user}", "aws:PrincipalArn": ROLE_ARN,
                             "aws:PrincipalAccount": TARGET_ACCOUNT})


def granted(api: Any, person: str = "s3-access") -> dict:
    request = api.create(as_=person)
    approved = api.post(f"/v1/requests/{request['id']}/approve", "bob" if person != "bob" else "carol").json
    assert approved["state"] == "active", approved
    return approved


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def test_a_grant_works_until_its_end_and_its_sessions_are_cut_at_the_end(api, world, iam_simulator) -> None:
    target = Target(world)
    grant = granted(api)
    end = at(grant["grant"]["expires_at"])
    second = timedelta(seconds=1)
    policies, grant_policies = target.role_policies(), target.grant_policies("s3-access")

    assert iam_simulator([
        target.switch("s3-access", end - second, grant_policies),
        target.switch("s3-access", end, grant_policies),
        target.read("s3-access", issued=end - timedelta(minutes=30), at=end - second, policies=policies),
        target.read("s3-access", issued=end - timedelta(minutes=30), at=end, policies=policies),
        target.read("s3-access", issued=end - second, at=end + timedelta(minutes=20), policies=policies),
    ]) == ["Allowed", "ImplicitlyDenied", "Allowed", "ExplicitlyDenied", "ExplicitlyDenied"]


def test_a_revoke_cuts_the_persons_older_sessions_and_nobody_elses(api, world, iam_simulator) -> None:
    target = Target(world)
    alice = granted(api, "alice")
    revoked = granted(api)
    done = api.post(f"/v1/requests/{revoked['id']}/revoke", "s3-access").json
    revoked_at = at(done["updated_at"])
    later = revoked_at + timedelta(minutes=1)
    policies = target.role_policies()

    assert done["state"] == "revoked" and done["sessions"]["guard"] == "written"
    assert done["sessions"]["end_by"] == done["updated_at"]
    assert iam_simulator([
        target.read("s3-access", issued=revoked_at - timedelta(minutes=10), at=later, policies=policies),
        target.read("s3-access", issued=revoked_at + timedelta(seconds=30), at=later, policies=policies),
        target.read("alice", issued=revoked_at - timedelta(minutes=10), at=later, policies=policies),
    ]) == ["ExplicitlyDenied", "ExplicitlyDenied", "Allowed"]
    assert alice["state"] == "active"


def test_a_later_grant_inside_the_margin_lowers_the_cut_so_its_sessions_work(api, world, iam_simulator) -> None:
    target = Target(world)
    first = granted(api)
    revoked_at = at(api.post(f"/v1/requests/{first['id']}/revoke", "s3-access").json["updated_at"])
    second = granted(api)
    started = at(second["grant"]["starts_at"])
    policies = target.role_policies()

    assert iam_simulator([
        target.read("s3-access", issued=revoked_at - timedelta(minutes=10), at=started, policies=policies),
        target.read("s3-access", issued=started, at=started + timedelta(seconds=5), policies=policies),
        target.switch("s3-access", started + timedelta(seconds=1), target.grant_policies("s3-access")),
    ]) == ["ExplicitlyDenied", "Allowed", "Allowed"]


def test_a_session_under_another_name_or_from_a_role_is_refused(api, world, iam_simulator) -> None:
    target = Target(world)
    grant = granted(api)
    now = at(grant["grant"]["starts_at"]) + timedelta(seconds=1)
    grant_policies = target.grant_policies("s3-access")
    tool_role = f"arn:aws:sts::{SOURCE_ACCOUNT}:assumed-role/deploy-tool/s3-access"
    allow_any = [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}]
    trust_only = Case(principal=f"arn:aws:iam::{SOURCE_ACCOUNT}:user/s3-access", action="sts:AssumeRole",
                      resource=ROLE_ARN, resource_account=TARGET_ACCOUNT, identity_policies=allow_any,
                      resource_policy=target.trust(), context={
                          "aws:CurrentTime": rfc3339(now), "aws:username": "s3-access",
                          "aws:PrincipalArn": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/s3-access",
                          "aws:PrincipalAccount": SOURCE_ACCOUNT, "sts:RoleSessionName": "someone-else"})
    role_principal = Case(principal=tool_role, action="sts:AssumeRole", resource=ROLE_ARN,
                          resource_account=TARGET_ACCOUNT, identity_policies=allow_any,
                          resource_policy=target.trust(), context={
                              "aws:CurrentTime": rfc3339(now),
                              "aws:PrincipalArn": f"arn:aws:iam::{SOURCE_ACCOUNT}:role/deploy-tool",
                              "aws:PrincipalAccount": SOURCE_ACCOUNT, "sts:RoleSessionName": "s3-access"})

    assert iam_simulator([
        target.switch("s3-access", now, grant_policies, session_name="someone-else"),  # the grant refuses
        trust_only,  # and so does the trust, whatever the identity policy says
        role_principal,  # a role of the source account: never trusted
        target.switch("s3-access", now, grant_policies),
    ]) == ["ImplicitlyDenied", "ImplicitlyDenied", "ImplicitlyDenied", "Allowed"]


def test_the_whole_role_fallback_cuts_everyones_older_sessions(world, iam_simulator) -> None:
    target = Target(world)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    guard = Guard()
    for n in range(60):  # more people than the budget can name
        guard = guard.revoked(f"person-{n:02d}", now - timedelta(minutes=n), None)
    folded = guard.fitted(now)
    assert folded.folded
    cut = max(c.at for c in folded.cuts if c.kind == ROLE)  # what was in force: everyone's; revokes ahead stay named
    policies = [p for p in target.role_policies() if "AccessBroker" not in json.dumps(p)] + [folded.policy()]

    assert iam_simulator([
        target.read("alice", issued=cut - timedelta(seconds=1), at=now, policies=policies),
        target.read("carol", issued=cut - timedelta(minutes=30), at=now, policies=policies),
        target.read("carol", issued=cut, at=cut + timedelta(seconds=1), policies=policies),
    ]) == ["ExplicitlyDenied", "ExplicitlyDenied", "Allowed"]


def test_the_brokers_deployed_policy_cannot_reach_beyond_its_grants_and_guard_roles(iam_simulator) -> None:
    policy = json.loads((ROOT / ".chalice" / "policy-prod.json").read_text())
    broker = "arn:aws:sts::111111111111:assumed-role/access-broker-prod/access-broker-prod"

    def case(action: str, resource: str, account: str, context: dict | None = None) -> Case:
        return Case(principal=broker, action=action, resource=resource, resource_account=account,
                    identity_policies=[policy], context={"aws:PrincipalAccount": SOURCE_ACCOUNT, **(context or {})},
                    resource_policy={"Version": "2012-10-17", "Statement": [{
                        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
                    if action == "sts:AssumeRole" else None)

    admin = f"arn:aws:iam::{SOURCE_ACCOUNT}:policy/AdministratorAccess-copy"
    grant = f"arn:aws:iam::{SOURCE_ACCOUNT}:policy/access-broker/prod/access-broker-01abc"
    alice = f"arn:aws:iam::{SOURCE_ACCOUNT}:user/alice"
    assert iam_simulator([
        case("iam:AttachUserPolicy", alice, SOURCE_ACCOUNT, {"iam:PolicyARN": grant}),
        case("iam:AttachUserPolicy", alice, SOURCE_ACCOUNT, {"iam:PolicyARN": admin}),
        case("sts:AssumeRole", f"arn:aws:iam::{TARGET_ACCOUNT}:role/access-broker-guard", TARGET_ACCOUNT),
        case("sts:AssumeRole", ROLE_ARN, TARGET_ACCOUNT),
        case("sts:AssumeRole", f"arn:aws:iam::{TARGET_ACCOUNT}:role/OrganizationAccountAccessRole", TARGET_ACCOUNT),
    ]) == ["Allowed", "ImplicitlyDenied", "Allowed", "ImplicitlyDenied", "ImplicitlyDenied"]
