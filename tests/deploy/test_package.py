"""`make package STAGE=prod`: SAM and Terraform output with the table merged in from schema.py; cfn-lint clean.

Runs `chalice package` for real (it pip-downloads the requirements, as CI can)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from chalicelib.store.schema import TTL_ATTRIBUTE, table_definition
from tools.package import TABLE_RESOURCE, cfn_lint, package

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def packaged(tmp_path_factory):
    out = tmp_path_factory.mktemp("package")
    written = package("prod", out)
    return {"sam": json.loads(written["cloudformation"].read_text()),
            "tf": [json.loads(p.read_text()) for p in sorted(written["terraform"].parent.glob("*.tf.json"))],
            "paths": written}


def test_cfn_lint_passes_on_the_sam_template(packaged) -> None:
    cfn_lint(packaged["paths"]["cloudformation"])  # raises SystemExit with the findings


def test_the_table_is_merged_from_the_one_definition(packaged) -> None:
    table = packaged["sam"]["Resources"][TABLE_RESOURCE]
    props, definition = table["Properties"], table_definition("access-broker-prod")
    for key in ("TableName", "BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes"):
        assert props[key] == definition[key], key
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["DeletionProtectionEnabled"] is True and table["DeletionPolicy"] == "Retain"
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}


def test_functions_schedule_environment_and_policy_are_in_the_template(packaged) -> None:
    resources = packaged["sam"]["Resources"]
    functions = {r["Properties"]["FunctionName"]: r for r in resources.values()
                 if r["Type"] == "AWS::Serverless::Function"}
    assert set(functions) == {"access-broker-prod", "access-broker-prod-sweep", "access-broker-prod-worker"}
    sweep = functions["access-broker-prod-sweep"]["Properties"]["Events"]
    assert [e["Properties"]["Schedule"] for e in sweep.values()] == ["rate(1 minute)"]
    policy = json.loads((ROOT / ".chalice" / "policy-prod.json").read_text())
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["prod"]["environment_variables"]
    for name, function in functions.items():
        environment = function["Properties"]["Environment"]["Variables"]
        assert {k: environment.get(k) for k in config} == config, name
        role = resources[function["Properties"]["Role"]["Fn::GetAtt"][0]]
        assert [p["PolicyDocument"] for p in role["Properties"]["Policies"]] == [policy], name
    assert not any("Value" in str(v) and "xoxb" in str(v) for v in resources.values()), "a secret value leaked"
    token = [s["Resource"] for s in policy["Statement"] if s["Sid"] == "ReadPagerDutyToken"]
    assert token == ["arn:aws:ssm:*:111111111111:parameter/access-broker/prod/pagerduty-token"], \
        "the functions may read the catalog's PagerDuty token parameter (on_call), by name"


def test_terraform_output_has_the_same_table(packaged) -> None:
    tables = [t["resource"]["aws_dynamodb_table"][TABLE_RESOURCE] for t in packaged["tf"]
              if "aws_dynamodb_table" in t.get("resource", {})]
    assert len(tables) == 1
    (table,) = tables
    definition = table_definition("access-broker-prod")
    assert table["name"] == "access-broker-prod" and table["billing_mode"] == "PAY_PER_REQUEST"
    assert sorted(i["name"] for i in table["global_secondary_index"]) == sorted(
        i["IndexName"] for i in definition["GlobalSecondaryIndexes"])
    assert table["point_in_time_recovery"] == {"enabled": True} and table["deletion_protection_enabled"] is True
    functions = [f for t in packaged["tf"] for f in t.get("resource", {}).get("aws_lambda_function", {}).values()]
    assert {f["function_name"] for f in functions} == {"access-broker-prod", "access-broker-prod-sweep",
                                                       "access-broker-prod-worker"}


def test_the_worker_has_no_invoker_but_iam(packaged) -> None:
    """No resource-based permission, URL or event source on the worker (issue 13): Lambda's resource policies
    can only allow, so identity policies decide, and the broker's name only this function. Lambda keeps an
    undelivered job no longer than the worker would accept its seal."""
    from chalicelib.slack.sealed import WINDOW
    from tools.package import worker_invokers

    assert worker_invokers("prod", packaged["sam"], packaged["tf"]) == []
    window = int(WINDOW.total_seconds())
    assert packaged["sam"]["Resources"]["Worker"]["Properties"]["EventInvokeConfig"][
        "MaximumEventAgeInSeconds"] == window
    [config] = [t["resource"]["aws_lambda_function_event_invoke_config"]["worker"] for t in packaged["tf"]
                if "aws_lambda_function_event_invoke_config" in t.get("resource", {})]
    assert config["maximum_event_age_in_seconds"] == window


def test_each_zip_carries_bytecode_for_every_module(packaged) -> None:
    """Lambda cannot write __pycache__ into /var/task: without bytecode in the zip, every cold start compiles
    each module it imports (make bench: ~640 ms to the first answer instead of ~260)."""
    for fmt in ("cloudformation", "terraform"):
        with zipfile.ZipFile(packaged["paths"][fmt].parent / "deployment.zip") as archive:
            names = set(archive.namelist())
            sources = [n for n in names if n.endswith(".py")]
            missing = [n for n in sources if _bytecode_of(n) not in names]
            assert sources and not missing, f"{fmt}: {len(missing)} modules without bytecode, e.g. {missing[:3]}"
            header = archive.read(_bytecode_of("chalicelib/bootstrap.py"))[:8]
            assert header[:4] == importlib.util.MAGIC_NUMBER, "compiled by another Python than the functions run"
            assert int.from_bytes(header[4:8], "little") == 0b01, "not unchecked-hash: the zip keeps no timestamps"
            assert "chalicelib/aws/models/ssm/2014-11-06/service-2.json" in names, "the slimmed models are missing"
            assert "chalicelib/catalog/demo.yaml.json" in names, "the catalog is not precompiled"


def test_the_unpacked_zip_loads_on_its_own_without_yaml(packaged, tmp_path) -> None:
    """What Lambda runs: the zip's contents and the standard library, nothing from this checkout or venv; the
    catalog comes from its precompiled JSON, so PyYAML is not imported on a cold start; clients load the zip's
    slimmed models."""
    with zipfile.ZipFile(packaged["paths"]["cloudformation"].parent / "deployment.zip") as archive:
        archive.extractall(tmp_path)
    done = subprocess.run(
        [sys.executable, "-S", "-c", "import sys, app, chalicelib.bootstrap as b; print(app.__file__); "
                                     "print(sorted(b.broker().catalog.profiles)); print('yaml' in sys.modules); "
                                     "from chalicelib.aws import clients; "
                                     "print(clients.client('ssm').meta.service_model.operation_names)"],
        cwd=tmp_path, env={"PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1", "ACCESS_BROKER_STAGE": "prod",
                           "AWS_DEFAULT_REGION": "us-east-1", "ACCESS_BROKER_TABLE": "access-broker-prod"},
        capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines() == [str(tmp_path / "app.py"), "['s3-prod', 's3-prod-short']", "False",
                                        "['GetParameter']"], "the zip's own app, catalog and slimmed models"


def _bytecode_of(source: str) -> str:
    folder, _, name = source.rpartition("/")
    return f"{folder}/__pycache__/{name[:-3]}.cpython-{sys.version_info.major}{sys.version_info.minor}.pyc".lstrip("/")
