"""The offline IAM evaluator (tools/iam_evaluator.py) gives AWS's answers for the policies access-broker writes,
to the second: a grant's deadline and session-name condition, and the per-person revoke of older sessions."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools.iam_evaluator import IAM_SIMULATE_VERSION, Case, EvaluationError, EvaluatorMissing, evaluate

SOURCE, TARGET = "111111111111", "222222222222"
ROLE = f"arn:aws:iam::{TARGET}:role/switch-role-for-S3"
ROLE_ID = "AROAEXAMPLEROLEID0001"
OBJECT = "arn:aws:s3:::target-bucket/report.csv"
TRUST_SOURCE_ACCOUNT = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SOURCE}:root"}, "Action": "sts:AssumeRole"}]}
GRANT = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLE,
    "Condition": {"DateLessThan": {"aws:CurrentTime": "2026-12-01T23:00:00Z"},
                  "StringEquals": {"sts:RoleSessionName": "${aws:username}"}}}]}
S3_FULL_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
REVOKE_S3_ACCESS_BEFORE_NOON = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Deny", "Action": "*", "Resource": "*",
    "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-12-01T12:00:00Z"},
                  "StringLike": {"aws:userid": "*:s3-access"}}}]}


def assume(at: str, session_name: str, user: str = "s3-access", trust: dict | None = TRUST_SOURCE_ACCOUNT) -> Case:
    """`user` (in the source account) switching to the target account's role, e.g. from the console."""
    return Case(principal=f"arn:aws:iam::{SOURCE}:user/{user}", action="sts:AssumeRole", resource=ROLE,
                resource_account=TARGET, identity_policies=[GRANT], resource_policy=trust,
                context={"aws:CurrentTime": at, "aws:username": user, "sts:RoleSessionName": session_name,
                         "aws:PrincipalArn": f"arn:aws:iam::{SOURCE}:user/{user}", "aws:PrincipalAccount": SOURCE})


def read_object(session_name: str, issued: str) -> Case:
    """A session of the role reading an object in its own account, 13:00 on the day of the revoke."""
    return Case(principal=f"arn:aws:sts::{TARGET}:assumed-role/switch-role-for-S3/{session_name}",
                action="s3:GetObject", resource=OBJECT, resource_account=TARGET,
                identity_policies=[S3_FULL_ACCESS, REVOKE_S3_ACCESS_BEFORE_NOON],
                context={"aws:CurrentTime": "2026-12-01T13:00:00Z", "aws:TokenIssueTime": issued,
                         "aws:userid": f"{ROLE_ID}:{session_name}", "aws:PrincipalArn": ROLE,
                         "aws:PrincipalAccount": TARGET})


def test_a_grant_lets_its_holder_switch_until_its_deadline_and_only_under_their_own_name(iam_simulator) -> None:
    assert iam_simulator([
        assume("2026-12-01T22:59:59Z", "s3-access"),
        assume("2026-12-01T23:00:00Z", "s3-access"),
        assume("2026-12-01T22:59:59Z", "other"),
    ]) == ["Allowed", "ImplicitlyDenied", "ImplicitlyDenied"]


def test_a_cross_account_switch_needs_the_roles_trust_policy_too(iam_simulator) -> None:
    assert iam_simulator([assume("2026-12-01T22:59:59Z", "s3-access", trust=None)]) == ["ImplicitlyDenied"]


def test_revoking_one_persons_older_sessions_leaves_everyone_elses(iam_simulator) -> None:
    assert iam_simulator([
        read_object("s3-access", issued="2026-12-01T11:59:59Z"),
        read_object("alice", issued="2026-12-01T11:59:59Z"),
        read_object("s3-access", issued="2026-12-01T12:00:00Z"),
    ]) == ["ExplicitlyDenied", "Allowed", "Allowed"]


def test_a_malformed_policy_is_an_error_naming_the_case_and_the_fault_not_a_denial(iam_simulator) -> None:
    typo = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Actions": "s3:*", "Resource": "*"}]}
    good = read_object("alice", issued="2026-12-01T11:59:59Z")
    bad = Case(good.principal, good.action, good.resource, good.resource_account, good.context, [typo])
    with pytest.raises(EvaluationError, match=r"case 1 \(s3:GetObject .*Invalid key Actions"):
        iam_simulator([good, bad])


def test_a_time_without_a_zone_is_refused_rather_than_read_in_local_time(iam_simulator) -> None:
    with pytest.raises(EvaluationError, match=r"aws:CurrentTime: '2026-12-01T22:59:59' must be an ISO 8601 time"):
        iam_simulator([assume("2026-12-01T22:59:59", "s3-access")])


def test_a_missing_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IAM_SIMULATE_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(EvaluatorMissing, match=r"run `make iam-simulate` \(`make test` does it\)"):
        evaluate([assume("2026-12-01T22:59:59Z", "s3-access")])


def test_the_harness_looks_for_the_version_make_installs() -> None:
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    assert re.search(r"^IAM_SIMULATE_VERSION := (\S+)$", makefile, re.M)[1] == IAM_SIMULATE_VERSION
