"""Hardened mode (issue 13, point 1): with the catalog's `permissions_boundary`, the broker's own policy attaches
grants only to IAM users carrying that boundary, so even a compromised broker gives no more than the boundary
allows. Evaluated with a real IAM evaluator on the policy tools/broker_policy.py renders."""
from __future__ import annotations

from tools.broker_policy import broker_policy
from tools.iam_evaluator import Case

SOURCE = "111111111111"
BOUNDARY = f"arn:aws:iam::{SOURCE}:policy/access-broker-boundary"
GRANT = f"arn:aws:iam::{SOURCE}:policy/access-broker/prod/access-broker-01abc"  # prod's own path
ALICE = f"arn:aws:iam::{SOURCE}:user/alice"
BROKER = f"arn:aws:sts::{SOURCE}:assumed-role/access-broker-prod/access-broker-prod"


def attach(policy: dict, action: str = "iam:AttachUserPolicy", boundary: str | None = None) -> Case:
    context = {"iam:PolicyARN": GRANT, "aws:PrincipalAccount": SOURCE}
    if boundary:
        context["iam:PermissionsBoundary"] = boundary
    return Case(principal=BROKER, action=action, resource=ALICE, resource_account=SOURCE,
                identity_policies=[policy], context=context)


def test_hardened_the_broker_attaches_only_to_users_carrying_the_boundary(iam_simulator) -> None:
    hardened = broker_policy("prod", "access-broker-prod", SOURCE, permissions_boundary=BOUNDARY)
    other = f"arn:aws:iam::{SOURCE}:policy/AdministratorAccess-boundary"

    assert iam_simulator([
        attach(hardened, boundary=BOUNDARY),
        attach(hardened, boundary=other),
        attach(hardened),
        attach(hardened, action="iam:DetachUserPolicy"),  # taking a grant away never needs the boundary
    ]) == ["Allowed", "ImplicitlyDenied", "ImplicitlyDenied", "Allowed"]


def test_without_a_boundary_the_broker_attaches_its_grants_to_any_user(iam_simulator) -> None:
    plain = broker_policy("prod", "access-broker-prod", SOURCE)

    assert iam_simulator([attach(plain), attach(plain, action="iam:DetachUserPolicy")]) == ["Allowed", "Allowed"]
