"""The directory's reads in the broker's own policy (issue 21): with a catalog that takes people from the directory,
the broker may read the members of the source account's IAM groups and its users' tags, and nothing more of them
(no other account's, no writes, no listing every group); without one, not even that. Evaluated with a real IAM
evaluator on the policy tools/broker_policy.py renders."""
from __future__ import annotations

from tools.broker_policy import broker_policy
from tools.iam_evaluator import Case

SOURCE, OTHER = "111111111111", "222222222222"
BROKER = f"arn:aws:sts::{SOURCE}:assumed-role/access-broker-prod/access-broker-prod"


def call(policy: dict, action: str, resource: str, account: str = SOURCE) -> Case:
    return Case(principal=BROKER, action=action, resource=resource, resource_account=account,
                identity_policies=[policy], context={"aws:PrincipalAccount": SOURCE})


def test_a_directory_catalogs_broker_reads_groups_and_tags_in_the_source_account_only(iam_simulator) -> None:
    policy = broker_policy("prod", "access-broker-prod", SOURCE, reads_directory=True)

    assert iam_simulator([
        call(policy, "iam:GetGroup", f"arn:aws:iam::{SOURCE}:group/engineers"),
        call(policy, "iam:GetGroup", f"arn:aws:iam::{SOURCE}:group/teams/sre"),  # a group with a path
        call(policy, "iam:ListUserTags", f"arn:aws:iam::{SOURCE}:user/dave"),
        call(policy, "iam:GetGroup", f"arn:aws:iam::{OTHER}:group/engineers", OTHER),
        call(policy, "iam:ListUserTags", f"arn:aws:iam::{OTHER}:user/dave", OTHER),
        call(policy, "iam:TagUser", f"arn:aws:iam::{SOURCE}:user/dave"),
        call(policy, "iam:AddUserToGroup", f"arn:aws:iam::{SOURCE}:group/engineers"),
        call(policy, "iam:ListGroups", "*"),  # IAM authorizes listing every group against "*" only
        call(policy, "iam:ListRoleTags", f"arn:aws:iam::{SOURCE}:role/admin"),
    ]) == ["Allowed", "Allowed", "Allowed"] + ["ImplicitlyDenied"] * 6


def test_without_a_directory_the_broker_reads_none_of_it(iam_simulator) -> None:
    policy = broker_policy("prod", "access-broker-prod", SOURCE)

    assert iam_simulator([
        call(policy, "iam:GetGroup", f"arn:aws:iam::{SOURCE}:group/engineers"),
        call(policy, "iam:ListUserTags", f"arn:aws:iam::{SOURCE}:user/dave"),
    ]) == ["ImplicitlyDenied", "ImplicitlyDenied"]
