"""The broker's own IAM policy files allow what it needs on its own resources, and nothing broader."""
from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from chalicelib.catalog import load_catalog, parse_catalog
from chalicelib.domain.errors import CatalogError
from chalicelib.settings import SECRET_NAMES
from tools.broker_policy import (
    CHALICE_DIR,
    ROOT,
    broker_policy,
    deployed_stages,
    failed_jobs_queue,
    pagerduty_token_parameter,
    parameter_prefix,
    rendered,
)

CONFIG = json.loads((CHALICE_DIR / "config.json").read_text())
STAGES = deployed_stages(CONFIG)
SOURCE = "111111111111"  # the demo catalog's source account
UNSCOPABLE = {"iam:ListPolicies"}  # the one action IAM cannot scope to a resource; its Sid says why
ATTACH = {"iam:AttachUserPolicy", "iam:DetachUserPolicy"}
# The directory's reads (chalicelib/aws/directory.py), each on exactly the source account's groups or users.
DIRECTORY_READS = {"iam:GetGroup": f"arn:aws:iam::{SOURCE}:group/*",
                   "iam:ListUserTags": f"arn:aws:iam::{SOURCE}:user/*"}


def grant_policies(stage: str) -> str:
    """The stage's own grant policies: each stage its own path (issue 24, point 7)."""
    return f"arn:aws:iam::{SOURCE}:policy/access-broker/{stage}/*"


def _list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def problems(policy: dict[str, Any], stage: str) -> list[str]:
    """Everything in `policy` broader than the broker of `stage` needs."""
    found = []
    table = STAGES[stage]["environment_variables"]["ACCESS_BROKER_TABLE"]
    for statement in policy["Statement"]:
        sid, actions, resources = statement.get("Sid", "?"), _list(statement.get("Action", [])), \
            _list(statement.get("Resource", []))
        if statement.get("Effect") != "Allow" or "NotAction" in statement or "NotResource" in statement:
            found.append(f"{sid}: only plain Allow statements expected")
        found += [f"{sid}: wildcard action {a}" for a in actions if "*" in a]
        if "*" in resources and not set(actions) <= UNSCOPABLE:
            found.append(f"{sid}: Resource * for {sorted(set(actions) - UNSCOPABLE)}")
        if "dynamodb:DeleteItem" in actions and statement.get("Condition") != {
                "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["OUTBOX"]}}:
            found.append(f"{sid}: DeleteItem beyond the outbox partition (events are append-only)")
        if set(actions) & ATTACH:
            if statement.get("Condition") != {"ArnLike": {"iam:PolicyARN": grant_policies(stage)}}:
                found.append(f"{sid}: attach/detach without Condition ArnLike iam:PolicyARN {grant_policies(stage)}")
            if resources != [f"arn:aws:iam::{SOURCE}:user/*"]:
                found.append(f"{sid}: attach/detach beyond the source account's users")
        for action in set(actions) & set(DIRECTORY_READS):
            if resources != [DIRECTORY_READS[action]] or len(actions) != 1:
                found.append(f"{sid}: {action} beyond {DIRECTORY_READS[action]}, or beside other actions")
        for resource in resources:
            service = resource.split(":")[2] if resource.startswith("arn:") else ""
            if service == "dynamodb" and resource.split(":table/")[-1] not in (table, f"{table}/index/*"):
                found.append(f"{sid}: {resource} is not this stage's table")
            if service == "iam" and ":policy/" in resource and resource != grant_policies(stage):
                found.append(f"{sid}: {resource} is outside /access-broker/{stage}/")
            if service in ("lambda", "logs") and f"access-broker-{stage}" not in resource:
                found.append(f"{sid}: {resource} is not this stage's function")
            name = re.sub(r"^arn:[\w-]+:(ssm|secretsmanager):[^:]*:\d{12}:(parameter|secret:)/?", "/", resource)
            if service in ("ssm", "secretsmanager") and not name.removeprefix("/aws/reference/secretsmanager") \
                    .startswith(parameter_prefix(stage)):
                found.append(f"{sid}: {resource} is not under {parameter_prefix(stage)}")
            if service == "sqs" and resource.split(":")[-1] != failed_jobs_queue(stage):
                found.append(f"{sid}: {resource} is not this stage's failed-job queue")
        if any(a.startswith("sqs:") for a in actions) and set(actions) != {"sqs:SendMessage"}:
            found.append(f"{sid}: SQS beyond sending failed worker jobs")
    return found


def _policy(stage: str) -> dict[str, Any]:
    return json.loads((CHALICE_DIR / STAGES[stage]["iam_policy_file"]).read_text())


def test_every_deployed_stage_has_a_hand_written_policy() -> None:
    assert CONFIG["autogen_policy"] is False
    assert {"dev", "prod"} <= set(STAGES)


def test_policy_names_the_real_worker_and_outbox() -> None:
    import app
    from chalicelib.store import outbox
    from tools.broker_policy import OUTBOX_PARTITION, WORKER

    assert outbox._PK == OUTBOX_PARTITION
    assert WORKER in {f.name for f in app.app.pure_lambda_functions}, "the worker Lambda was renamed"


def test_policy_files_are_up_to_date_with_config_and_catalog() -> None:
    for path, text in rendered().items():
        assert path.read_text() == text, f"{path.name} is stale: run `python -m tools.broker_policy`"


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_policy_is_least_privilege(stage: str) -> None:
    policy = _policy(stage)
    assert problems(policy, stage) == []
    actions = {a for s in policy["Statement"] for a in _list(s["Action"])}
    assert ATTACH <= actions and "lambda:InvokeFunction" in actions and "ssm:GetParameter" in actions
    assert "sqs:SendMessage" in actions, "the worker's on-failure destination (Lambda sends with the function's role)"


@pytest.mark.parametrize("bad, expected", [
    ({"Action": "iam:*", "Resource": grant_policies("prod")}, "wildcard action"),
    ({"Action": "iam:DeletePolicy", "Resource": grant_policies("dev")}, "outside /access-broker/prod/"),
    ({"Action": "iam:DeletePolicy", "Resource": f"arn:aws:iam::{SOURCE}:policy/access-broker/*"},
     "outside /access-broker/prod/"),
    ({"Action": "iam:AttachUserPolicy", "Resource": f"arn:aws:iam::{SOURCE}:user/*",
      "Condition": {"ArnLike": {"iam:PolicyARN": grant_policies("dev")}}}, "without Condition"),
    ({"Action": "dynamodb:GetItem", "Resource": "*"}, "Resource *"),
    ({"Action": "iam:AttachUserPolicy", "Resource": f"arn:aws:iam::{SOURCE}:user/*"}, "without Condition"),
    ({"Action": "iam:DetachUserPolicy", "Resource": f"arn:aws:iam::{SOURCE}:user/*",
      "Condition": {"ArnLike": {"iam:PolicyARN": "arn:aws:iam::111111111111:policy/*"}}}, "without Condition"),
    ({"Action": "dynamodb:Query", "Resource": f"arn:aws:dynamodb:*:{SOURCE}:table/other"}, "not this stage's table"),
    ({"Action": "dynamodb:DeleteItem", "Resource": f"arn:aws:dynamodb:*:{SOURCE}:table/access-broker-prod"},
     "DeleteItem beyond the outbox"),
    ({"Action": "ssm:GetParameter", "Resource": f"arn:aws:ssm:*:{SOURCE}:parameter/*"}, "not under"),
    ({"Action": "ssm:GetParameter", "Resource": f"arn:aws:ssm:*:{SOURCE}:parameter/access-broker/dev/pagerduty-token"},
     "not under"),
    ({"Action": "sqs:SendMessage", "Resource": f"arn:aws:sqs:*:{SOURCE}:access-broker-dev-worker-failures"},
     "failed-job queue"),
    ({"Action": "sqs:ReceiveMessage", "Resource": f"arn:aws:sqs:*:{SOURCE}:access-broker-prod-worker-failures"},
     "SQS beyond sending"),
    ({"Action": "iam:GetGroup", "Resource": "arn:aws:iam::222222222222:group/*"}, "iam:GetGroup beyond"),
    ({"Action": "iam:ListUserTags", "Resource": f"arn:aws:iam::{SOURCE}:role/*"}, "iam:ListUserTags beyond"),
    ({"Action": ["iam:ListUserTags", "iam:TagUser"], "Resource": f"arn:aws:iam::{SOURCE}:user/*"},
     "beside other actions"),
])
def test_checks_catch_a_broader_statement(bad: dict, expected: str) -> None:
    policy = _policy("prod")
    policy["Statement"].append({"Sid": "Broader", "Effect": "Allow", **bad})
    assert any(expected in p for p in problems(policy, "prod")), problems(policy, "prod")


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_secret_names_in_config_are_readable_under_the_policy(stage: str) -> None:
    names = {k: v for k, v in STAGES[stage]["environment_variables"].items() if k.endswith("_PARAMETER")}
    assert set(names) == {f"{name}_PARAMETER" for name in SECRET_NAMES}, "every secret the app reads, and no other"
    for key, name in names.items():
        assert name.removeprefix("/aws/reference/secretsmanager").startswith(parameter_prefix(stage)), \
            f"{key}={name} is outside what the policy lets the broker read"


def parliament(files: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).parent / "parliament"), "--files", files], cwd=cwd,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)


def test_parliament_finds_nothing() -> None:
    result = parliament(",".join(str((CHALICE_DIR / s["iam_policy_file"]).relative_to(ROOT)) for s in STAGES.values()))
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def directory_policy(stage: str) -> dict[str, Any]:
    """The stage's policy for a catalog that takes people from the directory (issue 21)."""
    return broker_policy(stage, STAGES[stage]["environment_variables"]["ACCESS_BROKER_TABLE"], SOURCE,
                         reads_directory=True)


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_a_directory_catalog_adds_exactly_the_two_reads_on_the_source_accounts_groups_and_users(stage: str) -> None:
    policy = directory_policy(stage)
    assert problems(policy, stage) == []
    added = [s for s in policy["Statement"] if s not in _policy(stage)["Statement"]]
    assert added == [
        {"Sid": "ReadDirectoryGroupMembers", "Effect": "Allow", "Action": "iam:GetGroup",
         "Resource": DIRECTORY_READS["iam:GetGroup"]},
        {"Sid": "ReadDirectoryUserTags", "Effect": "Allow", "Action": "iam:ListUserTags",
         "Resource": DIRECTORY_READS["iam:ListUserTags"]}]


def test_a_catalog_without_a_directory_reads_none_of_it() -> None:
    for stage in STAGES:
        actions = {a for s in _policy(stage)["Statement"] for a in _list(s["Action"])}
        assert not actions & set(DIRECTORY_READS), f"the demo catalog has no directory, yet {stage} may read it"


def test_parliament_finds_nothing_in_a_directory_catalogs_policy(tmp_path: Path) -> None:
    for stage in STAGES:
        (tmp_path / f"policy-{stage}.json").write_text(json.dumps(directory_policy(stage), indent=2))
    result = parliament(",".join(f"policy-{stage}.json" for stage in STAGES), cwd=tmp_path)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_the_pagerduty_token_is_readable_exactly_and_only_by_ssm_get_parameter(stage: str) -> None:
    catalog = load_catalog(ROOT / CONFIG["environment_variables"]["ACCESS_BROKER_CATALOG"])
    assert catalog.on_call is not None, "the demo catalog has on-call auto-approval"
    wanted = f"arn:aws:ssm:*:{SOURCE}:parameter/access-broker/{stage}/pagerduty-token"
    statements = [s for s in _policy(stage)["Statement"] if s["Sid"] == "ReadPagerDutyToken"]
    assert statements == [{"Sid": "ReadPagerDutyToken", "Effect": "Allow", "Action": "ssm:GetParameter",
                           "Resource": wanted}]


def test_a_token_parameter_outside_the_stages_own_prefix_is_refused() -> None:
    doc = yaml.safe_load((ROOT / "chalicelib" / "catalog" / "demo.yaml").read_text())
    doc["on_call"] = {"pagerduty_token_parameter": "/access-broker/prod/pagerduty-token"}
    catalog = parse_catalog(copy.deepcopy(doc))
    assert pagerduty_token_parameter(catalog, "prod") == "/access-broker/prod/pagerduty-token"
    with pytest.raises(CatalogError, match="on_call.pagerduty_token_parameter: /access-broker/prod/pagerduty-token "
                                           "is outside /access-broker/dev/"):
        pagerduty_token_parameter(catalog, "dev")
