"""docs/deployer-policy.json: what whoever deploys a stage may do (tools/deployer_policy.py), scoped to the stage's
own names, with parliament's findings limited to the one ARN form AWS documents and parliament does not know."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tools.deployer_policy import EXAMPLE, deployer_policy, example

UNSCOPABLE = {"logs:DescribeLogGroups"}  # IAM authorizes it against "*" only; its Sid says so
SAM_TRANSFORM = "arn:aws:cloudformation:*:aws:transform/Serverless-2016-10-31"


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def problems(policy: dict[str, Any], stage: str, bucket: str) -> list[str]:
    found = []
    for statement in policy["Statement"]:
        sid, actions, resources = statement["Sid"], _list(statement["Action"]), _list(statement["Resource"])
        if statement["Effect"] != "Allow" or "NotAction" in statement or "NotResource" in statement:
            found.append(f"{sid}: only plain Allow statements expected")
        found += [f"{sid}: wildcard action {a}" for a in actions if "*" in a]
        for resource in resources:
            if resource == "*":
                if not set(actions) <= UNSCOPABLE:
                    found.append(f"{sid}: Resource * for {sorted(set(actions) - UNSCOPABLE)}")
            elif not (f"access-broker-{stage}" in resource or f"access-broker/{stage}/" in resource
                      or f":::{bucket}" in resource or resource == SAM_TRANSFORM
                      or resource.endswith((":apigateway:*::/restapis", ":apigateway:*::/restapis/*"))):
                found.append(f"{sid}: {resource} is not this stage's")
        if "iam:PassRole" in actions and statement.get("Condition") != {
                "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}:
            found.append(f"{sid}: PassRole to any service")
    return found


def test_the_example_in_docs_is_current() -> None:
    assert EXAMPLE.read_text() == example(), "run `python -m tools.deployer_policy --example`"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_everything_is_scoped_to_the_stage(stage: str) -> None:
    assert problems(deployer_policy(stage, "123456789012", "my-bucket"), stage, "my-bucket") == []


@pytest.mark.parametrize("bad, expected", [
    ({"Action": "lambda:*", "Resource": "arn:aws:lambda:*:1:function:access-broker-prod"}, "wildcard action"),
    ({"Action": "iam:CreateRole", "Resource": "*"}, "Resource *"),
    ({"Action": "iam:PassRole", "Resource": "arn:aws:iam::1:role/access-broker-prod"}, "PassRole to any"),
    ({"Action": "dynamodb:CreateTable", "Resource": "arn:aws:dynamodb:*:1:table/other"}, "not this stage's"),
])
def test_the_checks_catch_a_broader_statement(bad: dict, expected: str) -> None:
    policy = deployer_policy("prod", "123456789012", "my-bucket")
    policy["Statement"].append({"Sid": "Broader", "Effect": "Allow", **bad})
    assert any(expected in p for p in problems(policy, "prod", "my-bucket"))


def test_parliament_finds_nothing_but_the_sam_transforms_arn() -> None:
    from parliament import analyze_policy_string, config, enhance_finding

    policy = analyze_policy_string(EXAMPLE.read_text(), str(EXAMPLE), config=config)
    findings = [enhance_finding(f) for f in policy.findings]
    # AWS's SAM guide grants cloudformation:CreateChangeSet on this ARN; parliament expects a 12-digit account
    unexpected = [(f.issue, f.location) for f in findings
                  if not (f.issue == "INVALID_ARN" and f.location.get("string") == SAM_TRANSFORM)]
    assert unexpected == []
    assert json.loads(EXAMPLE.read_text())["Statement"], "an empty policy would pass too"
