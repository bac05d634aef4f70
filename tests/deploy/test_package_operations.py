"""What `make package STAGE=prod` adds for operations (tools/package_operations.py), in the SAM and Terraform output:
one broker role (its ARN an output, for targets/guard-role.yaml), a log group per function with a retention parameter
(90 days by default), the worker's failed jobs in an SQS queue after one retry (and the broker's policy lets Lambda
send there), alarms to the SNS topic parameter, metric filters that match the lines the broker writes, and the public
URL from the API itself without a dependency cycle. The demo catalog is refused for prod unless asked for, and a
changed source_account reaches the policy in the template.

Runs `chalice package` for real (it pip-downloads the requirements, as CI can)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tools import broker_policy
from tools import package as make_package
from tools.deployer_policy import deployer_policy
from tools.package_operations import FUNCTIONS, ROLE
from tools.template_graph import cloudformation_cycle, terraform_cycle

ROOT = Path(__file__).resolve().parents[2]
ALARMS = {"access-broker-prod-sweep-errors", "access-broker-prod-sweep-heartbeat", "access-broker-prod-worker-errors",
          "access-broker-prod-worker-failed-jobs", "access-broker-prod-api-5xx",
          "access-broker-prod-session-guard-failed"}
NAMES = {"api_handler": "access-broker-prod", "worker": "access-broker-prod-worker",
         "sweep": "access-broker-prod-sweep"}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    written = make_package.package("prod", tmp_path_factory.mktemp("package"))
    terraform = {p.name: json.loads(p.read_text()) for p in sorted(written["terraform"].parent.glob("*.tf.json"))}
    return {"sam": json.loads(written["cloudformation"].read_text()), "tf": terraform, "paths": written}


def of_type(sam: dict[str, Any], kind: str) -> dict[str, Any]:
    return {logical: r for logical, r in sam["Resources"].items() if r["Type"] == kind}


def tf_resources(built: dict[str, Any], kind: str) -> dict[str, Any]:
    return {name: r for document in built["tf"].values()
            for name, r in document.get("resource", {}).get(kind, {}).items()}


def test_every_function_logs_to_its_own_group_with_the_retention_parameter(built) -> None:
    sam = built["sam"]
    assert sam["Parameters"]["LogRetentionDays"]["Default"] == 90
    groups = of_type(sam, "AWS::Logs::LogGroup")
    assert {g["Properties"]["LogGroupName"] for g in groups.values()} == {f"/aws/lambda/{n}" for n in NAMES.values()}
    assert all(g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"} for g in groups.values())
    for logical, function in of_type(sam, "AWS::Serverless::Function").items():
        (group,) = function["DependsOn"]  # before Lambda makes one without a retention on the first invocation
        assert groups[group]["Properties"]["LogGroupName"] == f"/aws/lambda/{function['Properties']['FunctionName']}"
    tf_groups = tf_resources(built, "aws_cloudwatch_log_group")
    assert {g["name"] for g in tf_groups.values()} == {f"/aws/lambda/{n}" for n in NAMES.values()}
    assert {g["retention_in_days"] for g in tf_groups.values()} == {"${var.log_retention_days}"}
    assert built["tf"]["operations.tf.json"]["variable"]["log_retention_days"]["default"] == 90


def test_failed_worker_jobs_land_in_the_queue_the_broker_may_send_to(built) -> None:
    sam = built["sam"]
    config = sam["Resources"]["Worker"]["Properties"]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 1 and config["MaximumEventAgeInSeconds"] == 900
    destination = config["DestinationConfig"]["OnFailure"]
    assert destination["Type"] == "SQS"
    queue = sam["Resources"][destination["Destination"]["Fn::GetAtt"][0]]
    assert queue["Type"] == "AWS::SQS::Queue"
    name = queue["Properties"]["QueueName"]
    assert name == broker_policy.failed_jobs_queue("prod")
    # Lambda sends to the destination with the function's role: the broker's policy names exactly this queue
    policy = json.loads((ROOT / ".chalice" / "policy-prod.json").read_text())
    sends = [s for s in policy["Statement"] if "sqs" in json.dumps(s["Action"])]
    assert sends == [{"Sid": "SendFailedWorkerJobsToOwnQueue", "Effect": "Allow", "Action": "sqs:SendMessage",
                      "Resource": f"arn:aws:sqs:*:111111111111:{name}"}]
    [tf_config] = tf_resources(built, "aws_lambda_function_event_invoke_config").values()
    assert tf_config["maximum_retry_attempts"] == 1
    assert tf_config["destination_config"]["on_failure"]["destination"] == "${aws_sqs_queue.worker_failures.arn}"
    assert tf_resources(built, "aws_sqs_queue")["worker_failures"]["name"] == name


def test_each_alarm_watches_something_the_template_makes_and_tells_the_topic(built) -> None:
    sam = built["sam"]
    assert "AlarmTopicArn" in sam["Parameters"] and "Default" not in sam["Parameters"]["AlarmTopicArn"]
    alarms = {a["Properties"]["AlarmName"]: a["Properties"] for a in of_type(sam, "AWS::CloudWatch::Alarm").values()}
    assert set(alarms) == ALARMS
    produced = {t["MetricName"] for f in of_type(sam, "AWS::Logs::MetricFilter").values()
                for t in f["Properties"]["MetricTransformations"]}
    api = sam["Resources"]["RestAPI"]["Properties"]
    queue = sam["Resources"]["WorkerFailures"]["Properties"]["QueueName"]
    for name, alarm in alarms.items():
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "AlarmTopicArn"}], name
        metrics = [m["MetricStat"]["Metric"] for m in alarm.get("Metrics", []) if "MetricStat" in m] or [alarm]
        for metric in metrics:
            dimensions = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
            if metric["Namespace"] == "access-broker/prod":
                assert metric["MetricName"] in produced, f"{name}: no metric filter makes {metric['MetricName']}"
            elif metric["Namespace"] == "AWS/Lambda":
                assert dimensions["FunctionName"] in NAMES.values(), name
            elif metric["Namespace"] == "AWS/SQS":
                assert dimensions == {"QueueName": queue}, name
            else:
                assert metric["Namespace"] == "AWS/ApiGateway" and metric["MetricName"] == "5XXError", name
                assert dimensions == {"ApiName": api["Name"], "Stage": api["StageName"]}, name
                assert api["DefinitionBody"]["info"]["title"] == api["Name"] == "access-broker-prod"
    heartbeat = alarms["access-broker-prod-sweep-heartbeat"]
    assert heartbeat["TreatMissingData"] == "breaching" and heartbeat["Period"] == 300, "silence must alarm"
    tf_alarms = tf_resources(built, "aws_cloudwatch_metric_alarm")
    assert {a["alarm_name"] for a in tf_alarms.values()} == ALARMS
    assert all(a["alarm_actions"] == ["${var.alarm_topic_arn}"] for a in tf_alarms.values())


def test_the_session_guard_filter_reads_every_functions_log(built) -> None:
    guarded = [f["Properties"]["LogGroupName"] for f in of_type(built["sam"], "AWS::Logs::MetricFilter").values()
               if f["Properties"]["MetricTransformations"][0]["MetricName"] == "SessionGuardFailures"]
    assert sorted(g["Ref"] for g in guarded) == sorted(f"{logical}LogGroup" for logical in FUNCTIONS.values())


def test_one_broker_role_whose_arn_the_target_accounts_trust(built) -> None:
    sam = built["sam"]
    roles = of_type(sam, "AWS::IAM::Role")
    assert list(roles) == [ROLE] and roles[ROLE]["Properties"]["RoleName"] == "access-broker-prod"
    for function in of_type(sam, "AWS::Serverless::Function").values():
        assert function["Properties"]["Role"] == {"Fn::GetAtt": [ROLE, "Arn"]}
    assert sam["Outputs"]["BrokerRoleArn"]["Value"] == {"Fn::GetAtt": [ROLE, "Arn"]}
    tf_roles = tf_resources(built, "aws_iam_role")
    assert list(tf_roles) == ["broker"] and tf_roles["broker"]["name"] == "access-broker-prod"
    assert {f["role"] for f in tf_resources(built, "aws_lambda_function").values()} == {"${aws_iam_role.broker.arn}"}
    assert built["tf"]["operations.tf.json"]["output"]["BrokerRoleArn"]["value"] == "${aws_iam_role.broker.arn}"


def test_the_public_url_comes_from_the_api_itself_without_a_cycle(built) -> None:
    sam = built["sam"]
    derived = {"Fn::Sub": "https://${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}/api"}
    for function in of_type(sam, "AWS::Serverless::Function").values():
        value = function["Properties"]["Environment"]["Variables"]["ACCESS_BROKER_PUBLIC_URL"]
        assert value == {"Fn::If": ["PublicUrlGiven", {"Ref": "PublicUrl"}, derived]}
    assert sam["Outputs"]["SlackCommandsUrl"]["Value"]["Fn::Sub"].endswith("/api/slack/commands")
    assert cloudformation_cycle(sam) == []
    assert terraform_cycle(list(built["tf"].values())) == []
    for function in tf_resources(built, "aws_lambda_function").values():
        assert "aws_api_gateway_rest_api.rest_api.id" in function["environment"]["variables"][
            "ACCESS_BROKER_PUBLIC_URL"]


def test_the_cycle_check_finds_the_handler_naming_the_api_that_names_it(built) -> None:
    by_name = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:access-broker-prod/"
    sam = json.loads(json.dumps(built["sam"]).replace(by_name, "${APIHandler.Arn}/"))
    assert cloudformation_cycle(sam) == ["APIHandler", "RestAPI", "APIHandler"]
    documents = json.loads(json.dumps(list(built["tf"].values())))
    for document in documents:
        if "locals" in document:
            document["locals"]["chalice_api_swagger"] += "${aws_lambda_function.api_handler.invoke_arn}"
    assert "aws_lambda_function.api_handler" in terraform_cycle(documents)


def test_the_deployer_policy_covers_every_kind_of_resource_in_the_template(built) -> None:
    """Whoever deploys needs to create each kind of resource the template has: a new kind fails here until
    tools/deployer_policy.py allows its creation."""
    creates = {"AWS::Serverless::Function": "lambda:CreateFunction", "AWS::Serverless::Api": "apigateway:POST",
               "AWS::IAM::Role": "iam:CreateRole", "AWS::Lambda::Permission": "lambda:AddPermission",
               "AWS::DynamoDB::Table": "dynamodb:CreateTable", "AWS::Logs::LogGroup": "logs:CreateLogGroup",
               "AWS::Logs::MetricFilter": "logs:PutMetricFilter", "AWS::CloudWatch::Alarm": "cloudwatch:PutMetricAlarm",
               "AWS::SQS::Queue": "sqs:CreateQueue"}
    allowed = {a for s in deployer_policy("prod", "111111111111", "bucket")["Statement"]
               for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    kinds = {r["Type"] for r in built["sam"]["Resources"].values()}
    assert kinds <= set(creates), f"add to the deployer policy: {sorted(kinds - set(creates))}"
    assert {creates[k] for k in kinds} <= allowed
    assert {"events:PutRule", "lambda:PutFunctionEventInvokeConfig", "iam:PassRole"} <= allowed  # SAM's extras


def test_make_package_refuses_the_demo_catalog_for_prod_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCESS_BROKER_CATALOG", raising=False)
    monkeypatch.delenv("ALLOW_DEMO_CATALOG", raising=False)
    refusal = make_package.demo_catalog_refusal("prod")
    assert refusal and "\n" not in refusal and "ALLOW_DEMO_CATALOG=1" in refusal and "docs/catalog.md" in refusal
    monkeypatch.setattr("sys.argv", ["package", "--stage", "prod", "--out", "/nonexistent/never-written"])
    with pytest.raises(SystemExit) as stopped:
        make_package.main()  # refused before anything is built
    assert stopped.value.code == refusal
    assert make_package.demo_catalog_refusal("dev") is None
    monkeypatch.setenv("ALLOW_DEMO_CATALOG", "1")
    assert make_package.demo_catalog_refusal("prod") is None


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the app, so that a changed catalog and its policy files never touch the shared checkout."""
    copy = tmp_path / "project"
    shutil.copytree(ROOT / "chalicelib", copy / "chalicelib", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / ".chalice", copy / ".chalice", ignore=shutil.ignore_patterns("deployments"))
    if (ROOT / ".chalice" / "deployments").is_dir():  # chalice's cache of the downloaded requirements
        (copy / ".chalice" / "deployments").symlink_to(ROOT / ".chalice" / "deployments")
    for name in ("app.py", "requirements.txt"):
        shutil.copy(ROOT / name, copy / name)
    monkeypatch.setattr(make_package, "ROOT", copy)
    return copy


def test_a_changed_source_account_reaches_the_policy_make_package_builds(
        project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    catalog = yaml.safe_load((ROOT / make_package.DEMO_CATALOG).read_text())
    catalog["source_account"] = "999999999999"
    (project / "chalicelib" / "catalog" / "ours.yaml").write_text(yaml.safe_dump(catalog))
    monkeypatch.setenv("ACCESS_BROKER_CATALOG", "chalicelib/catalog/ours.yaml")
    assert make_package.demo_catalog_refusal("prod") is None, "a catalog of its own is not the demo"

    written = make_package.package("prod", tmp_path / "out")

    assert "rewrote .chalice/policy-prod.json" in capsys.readouterr().out
    on_disk = (project / ".chalice" / "policy-prod.json").read_text()
    assert "999999999999" in on_disk and "111111111111" not in on_disk
    sam = json.loads(written["cloudformation"].read_text())
    [policy] = sam["Resources"][ROLE]["Properties"]["Policies"]
    assert policy["PolicyDocument"] == json.loads(on_disk)


def test_api_gateways_own_403_is_problem_json_like_the_apps(built) -> None:
    """API Gateway answers an unknown route (or an unsigned call to a signed one) before the app runs: the packaged
    API's gateway responses make that answer problem+json too, in both outputs."""
    (api,) = of_type(built["sam"], "AWS::Serverless::Api").values()
    tf_body = next(json.loads(d["locals"]["chalice_api_swagger"]) for d in built["tf"].values()
                   if "chalice_api_swagger" in d.get("locals", {}))
    for body in (api["Properties"]["DefinitionBody"], tf_body):
        response = body["x-amazon-apigateway-gateway-responses"]["MISSING_AUTHENTICATION_TOKEN"]
        assert response["statusCode"] == "403"
        assert response["responseParameters"] == {
            "gatewayresponse.header.Content-Type": "'application/problem+json'"}
        assert json.loads(response["responseTemplates"]["application/json"])["status"] == 403
