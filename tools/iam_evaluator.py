"""A real IAM policy evaluator for tests, offline: npm @cloud-copilot/iam-simulate run by tools/iam_simulate.mjs.

moto enforces IAM but ignores conditions and cross-account trust (see FACTS.md), so what a policy *means* is
checked here instead. `make iam-simulate` installs the package into .cache/ (`make test` does it); AGPL-3.0,
so it is a test tool only and never part of the Lambda package.

    evaluate([Case(principal, action, resource, resource_account, context, identity_policies, ...)])
    -> ["Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied", ...]   # one node process per call

Shapes a case must have to mean what AWS would see (the simulator derives nothing from the principal):

- An IAM user assuming a role in another account: principal `arn:aws:iam::111111111111:user/s3-access`, action
  `sts:AssumeRole`, resource the role's ARN, resource_account the role's account, identity_policies the user's
  policies and resource_policy the role's trust policy (cross-account needs both sides to allow: with no trust
  policy the answer is ImplicitlyDenied). Context: `sts:RoleSessionName` (the console's switch-role sends the
  user name), `aws:username` (needed by `${aws:username}`: the simulator does not take it from the principal),
  `aws:CurrentTime`, and as needed `aws:PrincipalArn` (the user ARN), `aws:PrincipalAccount`, `aws:userid`
  (the user's unique id, AIDA...).
- A session of that role acting in its account: principal `arn:aws:sts::222222222222:assumed-role/<role>/<session>`,
  identity_policies the role's policies (inline and attached), resource_account the role's account. Context:
  `aws:userid` is `<role id>:<session name>` (e.g. `AROAEXAMPLEROLEID0001:alice`), `aws:PrincipalArn` is the
  *role* ARN `arn:aws:iam::222222222222:role/<role>` (not the session's), `aws:TokenIssueTime` when the session
  was issued, `aws:CurrentTime`, `aws:PrincipalAccount`. A role session has no `aws:username`.
- A key left out is absent, as in AWS: a condition on it does not match (unless `...IfExists`), so an Allow
  conditioned on it refuses and a Deny conditioned on it never fires. Give every key the real request carries.
- Times are ISO 8601 with a zone (`2026-12-01T23:00:00Z`); anything else is refused, since the simulator would
  misread it (a zone-less time as local time, epoch seconds as milliseconds). A list for a single-valued key
  is refused too (the simulator would keep its first element).
- Keys the action does not take (e.g. `sts:RoleSessionName` on `s3:GetObject`) or that the simulator does not
  know are dropped before evaluation, as AWS would never send them; the script lists them as ignoredContextKeys.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

IAM_SIMULATE_VERSION = "0.1.173"  # the Makefile's IAM_SIMULATE_VERSION
REPO = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve().parent / "iam_simulate.mjs"
PACKAGE = Path("node_modules") / "@cloud-copilot" / "iam-simulate" / "package.json"
FETCH_HINT = "run `make iam-simulate` (`make test` does it)"


class EvaluatorMissing(RuntimeError):
    """iam-simulate (or node) is not installed where the harness looks."""


class EvaluationError(RuntimeError):
    """node failed, or the simulator refused a case (a malformed policy, an unknown action, a bad context value)."""


@dataclass(frozen=True)
class Case:
    principal: str  # e.g. arn:aws:sts::222222222222:assumed-role/switch-role-for-S3/alice
    action: str  # e.g. "s3:GetObject"
    resource: str  # ARN
    resource_account: str  # 12 digits
    context: Mapping[str, str | list[str]] = field(default_factory=dict)
    identity_policies: Sequence[dict] = ()
    resource_policy: dict | None = None
    permission_boundaries: Sequence[dict] | None = None  # None: no boundary; [] means the same to the simulator

    def __post_init__(self) -> None:
        for name in ("principal", "action", "resource"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"Case.{name} must be a non-empty string, got {getattr(self, name)!r}")
        if not re.fullmatch(r"\d{12}", str(self.resource_account)):
            raise ValueError(f"Case.resource_account must be 12 digits, got {self.resource_account!r}")
        if isinstance(self.identity_policies, dict) or isinstance(self.permission_boundaries, dict):
            raise ValueError("Case.identity_policies and permission_boundaries are lists of policy documents")

    def to_json(self) -> dict[str, Any]:
        return {
            "principal": self.principal, "action": self.action, "resource": self.resource,
            "resourceAccount": self.resource_account, "context": dict(self.context),
            "identityPolicies": list(self.identity_policies), "resourcePolicy": self.resource_policy,
            "permissionBoundaries": None if self.permission_boundaries is None else list(self.permission_boundaries),
        }


def simulator_dir() -> Path:
    """$IAM_SIMULATE_DIR (set by `make test`), else .cache/iam-simulate-<version> under the repository."""
    configured = os.environ.get("IAM_SIMULATE_DIR")
    return Path(configured) if configured else REPO / ".cache" / f"iam-simulate-{IAM_SIMULATE_VERSION}"


def ensure_available() -> Path:
    """The package directory, or EvaluatorMissing saying how to install it."""
    directory = simulator_dir()
    if not (directory / PACKAGE).is_file():
        raise EvaluatorMissing(f"iam-simulate {IAM_SIMULATE_VERSION} is not installed at {directory}; {FETCH_HINT}")
    if shutil.which("node") is None:
        raise EvaluatorMissing("iam-simulate needs Node.js (20 or newer) on PATH")
    return directory


def evaluate(cases: Sequence[Case]) -> list[str]:
    """Each case's overall result ("Allowed", "ImplicitlyDenied", "ExplicitlyDenied"), in order, from one node
    process. Raises EvaluatorMissing when the package is absent, EvaluationError when node fails or the
    simulator refuses any case (never reported as a denial)."""
    directory = ensure_available()
    cases = list(cases)
    if not cases:
        return []
    completed = subprocess.run(
        ["node", str(SCRIPT)], input=json.dumps([c.to_json() for c in cases]), capture_output=True, text=True,
        env={**os.environ, "IAM_SIMULATE_DIR": str(directory)}, timeout=60 + len(cases) / 10, check=False)
    if completed.returncode != 0:
        raise EvaluationError(f"node {SCRIPT.name} exited with {completed.returncode}: {completed.stderr.strip()}")
    try:
        answers = json.loads(completed.stdout)
    except json.JSONDecodeError as error:
        raise EvaluationError(f"node {SCRIPT.name} wrote no JSON ({error}); stderr: {completed.stderr.strip()}")
    if not isinstance(answers, list) or len(answers) != len(cases):
        raise EvaluationError(f"node {SCRIPT.name} answered {completed.stdout[:200]!r} for {len(cases)} cases")
    refused = [f"case {i} ({c.action} on {c.resource} as {c.principal}): {json.dumps(a.get('errors'))}"
               for i, (c, a) in enumerate(zip(cases, answers))
               if a.get("errors") or a.get("result") == "Error" or not isinstance(a.get("result"), str)]
    if refused:
        raise EvaluationError("iam-simulate refused " + "; ".join(refused))
    return [answer["result"] for answer in answers]
