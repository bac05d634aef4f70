"""Issue 24, point 7: each stage's grants live under its own path, /access-broker/<stage>/, and its keys reach only
that path: prod's broker cannot create, delete or attach dev's grants, nor the policies older versions made directly
under /access-broker/. Evaluated with a real IAM evaluator on the policy tools/broker_policy.py renders (the local
world cannot scope IAM resources, docs/local-world.md)."""
from __future__ import annotations

from tools.broker_policy import broker_policy
from tools.iam_evaluator import Case

SOURCE = "111111111111"
ALICE = f"arn:aws:iam::{SOURCE}:user/alice"
BROKER = f"arn:aws:sts::{SOURCE}:assumed-role/access-broker-prod/access-broker-prod"
PROD = f"arn:aws:iam::{SOURCE}:policy/access-broker/prod/access-broker-01abc"
DEV = f"arn:aws:iam::{SOURCE}:policy/access-broker/dev/access-broker-01abc"
OLD = f"arn:aws:iam::{SOURCE}:policy/access-broker/access-broker-01abc"  # before stages had their own paths


def cases(policy: dict, grant: str) -> list[Case]:
    """Create and delete `grant`; attach it to alice and detach it from her."""
    context = {"aws:PrincipalAccount": SOURCE}
    on_policy = [Case(principal=BROKER, action=action, resource=grant, resource_account=SOURCE,
                      identity_policies=[policy], context=context)
                 for action in ("iam:CreatePolicy", "iam:DeletePolicy")]
    on_alice = [Case(principal=BROKER, action=action, resource=ALICE, resource_account=SOURCE,
                     identity_policies=[policy], context={**context, "iam:PolicyARN": grant})
                for action in ("iam:AttachUserPolicy", "iam:DetachUserPolicy")]
    return on_policy + on_alice


def test_a_stage_reaches_its_own_grants_and_no_other_stages(iam_simulator) -> None:
    prod = broker_policy("prod", "access-broker-prod", SOURCE)

    assert iam_simulator(cases(prod, PROD)) == ["Allowed"] * 4
    assert iam_simulator(cases(prod, DEV) + cases(prod, OLD)) == ["ImplicitlyDenied"] * 8
