"""What `make package` adds to chalice's templates so that a platform team can run the broker: one role for the
broker's functions (the ARN target accounts trust), log groups with a retention, the worker's failed jobs in a queue,
alarms to an SNS topic, and the public URL derived from the API itself. One description, rendered twice: for the SAM
template (`cloudformation(...)`, `adjust_sam(...)`) and for Terraform (`terraform(...)`, `adjust_terraform(...)`).

Alarms (each to the topic given as the AlarmTopicArn parameter / alarm_topic_arn variable, on alarm and on recovery):
- sweep errors: the sweep function failed, or a pass counted errors (its JSON line, chalicelib/audit_log.py);
- sweep heartbeat: no finished pass in 5 minutes (a metric filter on the pass's JSON line; missing data breaches);
- worker errors, and the worker's failed jobs waiting in the queue (its on-failure destination);
- API 5xx (API Gateway's 5XXError of this stage's API);
- session guard: a write of the session guard failed (the audit line of kind session_guard_failed, any function)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from chalicelib.audit_log import AUDIT, SWEEP
from chalicelib.slack.sealed import WINDOW as JOB_WINDOW
from tools.broker_policy import failed_jobs_queue
from tools.gateway_responses import swagger_extension

# Chalice's function names (app.py) -> SAM logical ids; Terraform uses the Chalice names.
FUNCTIONS = {"api_handler": "APIHandler", "worker": "Worker", "sweep": "Sweep"}
ROLE = "BrokerRole"  # the one role of the broker's functions (SAM logical id); Terraform: aws_iam_role.broker
QUEUE = "WorkerFailures"  # SAM logical id; Terraform: aws_sqs_queue.worker_failures
WORKER_RETRIES = 1  # Lambda retries a failed asynchronous job once (about a minute later), then queues it
QUEUE_RETENTION_S = 14 * 24 * 3600  # SQS's longest: two weeks to look at a failed job
LOG_RETENTION_DAYS = 90
# What CloudWatch Logs accepts as RetentionInDays.
RETENTION_CHOICES = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                     3288, 3653)
PERIOD_S = 300
PUBLIC_URL_VARIABLE = "ACCESS_BROKER_PUBLIC_URL"


def role_name(stage: str) -> str:
    return f"access-broker-{stage}"


def function_name(stage: str, function: str) -> str:
    """As `chalice deploy` names them: the API handler is access-broker-<stage>, the others get a suffix."""
    return role_name(stage) if function == "api_handler" else f"access-broker-{stage}-{function}"


def api_name(stage: str) -> str:
    """The REST API's name: API Gateway's metrics know an API by name and stage only, so each stage gets its own."""
    return f"access-broker-{stage}"


def namespace(stage: str) -> str:
    return f"access-broker/{stage}"


@dataclass(frozen=True)
class Filter:
    """A metric filter on the JSON lines of chalicelib/audit_log.py, in the log group of each of `functions`."""
    metric: str
    pattern: str
    value: str
    functions: tuple[str, ...]


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...] = ()
    statistic: str = "Sum"


@dataclass(frozen=True)
class Alarm:
    name: str
    description: str
    metrics: tuple[Metric, ...]  # several: their sum (missing data as 0)
    comparison: str = "GreaterThanOrEqualToThreshold"
    threshold: int = 1
    missing: str = "notBreaching"


def filters() -> tuple[Filter, ...]:
    return (
        Filter("SweepPasses", f'{{ $.type = "{SWEEP}" }}', "1", ("sweep",)),
        Filter("SweepPassErrors", f'{{ $.type = "{SWEEP}" && $.errors > 0 }}', "$.errors", ("sweep",)),
        Filter("SessionGuardFailures", f'{{ $.type = "{AUDIT}" && $.kind = "session_guard_failed" }}', "1",
               tuple(FUNCTIONS)),
    )


def alarms(stage: str, api_stage: str) -> tuple[Alarm, ...]:
    own = namespace(stage)

    def errors(function: str) -> Metric:
        return Metric("AWS/Lambda", "Errors", (("FunctionName", function_name(stage, function)),))

    return (
        Alarm("sweep-errors", "The sweep failed, or a sweep pass counted errors (retried next pass; see the sweep "
              "function's log)", (errors("sweep"), Metric(own, "SweepPassErrors"))),
        Alarm("sweep-heartbeat", "No sweep pass finished in 5 minutes: grants are not ending on time",
              (Metric(own, "SweepPasses"),), comparison="LessThanThreshold", missing="breaching"),
        Alarm("worker-errors", "The worker failed a job (Slack or IAM work after Slack's answer)", (errors("worker"),)),
        Alarm("worker-failed-jobs", "Failed worker jobs wait in the queue " + failed_jobs_queue(stage),
              (Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", (("QueueName", failed_jobs_queue(stage)),),
                      "Maximum"),)),
        Alarm("api-5xx", "The API answered 5xx", (Metric("AWS/ApiGateway", "5XXError", (
            ("ApiName", api_name(stage)), ("Stage", api_stage))),)),
        Alarm("session-guard-failed", "A session guard write failed: open sessions of an ended grant are not cut yet "
              "(the sweeper retries every pass)", (Metric(own, "SessionGuardFailures"),)),
    )


# -- CloudFormation (SAM)

def cloudformation(stage: str, api_stage: str) -> dict[str, Any]:
    """Parameters, conditions, resources and outputs merged into chalice's SAM template (its --merge-template)."""
    resources: dict[str, Any] = {QUEUE: {
        "Type": "AWS::SQS::Queue",
        "Properties": {"QueueName": failed_jobs_queue(stage), "MessageRetentionPeriod": QUEUE_RETENTION_S,
                       "SqsManagedSseEnabled": True}}}
    for function, logical in FUNCTIONS.items():
        resources[f"{logical}LogGroup"] = {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Retain",  # the copy of the audit trail outlives the stack
            "UpdateReplacePolicy": "Retain",
            "Properties": {"LogGroupName": f"/aws/lambda/{function_name(stage, function)}",
                           "RetentionInDays": {"Ref": "LogRetentionDays"}}}
        # Lambda would otherwise create the group on the first invocation, without a retention.
        resources[logical] = {"DependsOn": [f"{logical}LogGroup"], "Properties": {
            "Environment": {"Variables": {PUBLIC_URL_VARIABLE: {"Fn::If": ["PublicUrlGiven", {"Ref": "PublicUrl"}, {
                "Fn::Sub": f"https://${{RestAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{api_stage}"}]}}}}}
    resources[FUNCTIONS["worker"]]["Properties"]["EventInvokeConfig"] = {
        "MaximumEventAgeInSeconds": int(JOB_WINDOW.total_seconds()),  # no longer than the worker accepts a job
        "MaximumRetryAttempts": WORKER_RETRIES,
        "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": [QUEUE, "Arn"]}}}}
    for f in filters():
        for function in f.functions:
            resources[f"{f.metric}{FUNCTIONS[function]}Filter"] = {"Type": "AWS::Logs::MetricFilter", "Properties": {
                "LogGroupName": {"Ref": f"{FUNCTIONS[function]}LogGroup"}, "FilterPattern": f.pattern,
                "MetricTransformations": [{"MetricNamespace": namespace(stage), "MetricName": f.metric,
                                           "MetricValue": f.value}]}}
    for alarm in alarms(stage, api_stage):
        resources[_logical(alarm.name) + "Alarm"] = {"Type": "AWS::CloudWatch::Alarm",
                                                     "Properties": _cfn_alarm(stage, alarm)}
    return {
        "Parameters": {
            "AlarmTopicArn": {"Type": "String", "AllowedPattern": r"^arn:[\w-]+:sns:[\w-]+:\d{12}:[\w-]+$",
                              "Description": "The SNS topic every alarm of access-broker notifies (on alarm and on "
                                             "recovery)"},
            "LogRetentionDays": {"Type": "Number", "Default": LOG_RETENTION_DAYS, "AllowedValues": RETENTION_CHOICES,
                                 "Description": "How long the functions' log groups keep their events (the audit "
                                                "trail's copy among them), in days"},
            "PublicUrl": {"Type": "String", "Default": "", "AllowedPattern": r"^(https://[^\s/]+(/[^\s]*[^\s/])?)?$",
                          "Description": "Where people reach the API, without a trailing /, when it is not the "
                                         "API's own URL (a custom domain); empty: the API's own URL"},
        },
        "Conditions": {"PublicUrlGiven": {"Fn::Not": [{"Fn::Equals": [{"Ref": "PublicUrl"}, ""]}]}},
        "Resources": resources,
        "Outputs": {
            "BrokerRoleArn": {"Description": "The role of the broker's functions: BrokerRoleArn of "
                                             "targets/guard-role.yaml in each target account",
                              "Value": {"Fn::GetAtt": [ROLE, "Arn"]}},
            "PublicUrl": {"Description": "Where console links point (ACCESS_BROKER_PUBLIC_URL of every function)",
                          "Value": {"Fn::If": ["PublicUrlGiven", {"Ref": "PublicUrl"}, {"Fn::Sub": (
                              f"https://${{RestAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{api_stage}")}]}},
            "SlackCommandsUrl": {"Description": "The slash command's Request URL (slack/manifest.yaml)", "Value": {
                "Fn::Sub": f"https://${{RestAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{api_stage}"
                           "/slack/commands"}},
            "SlackInteractionsUrl": {"Description": "Interactivity's Request URL (slack/manifest.yaml)", "Value": {
                "Fn::Sub": f"https://${{RestAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{api_stage}"
                           "/slack/interactions"}},
            "WorkerFailedJobsQueueUrl": {"Description": "The worker's failed jobs (its on-failure destination)",
                                         "Value": {"Ref": QUEUE}},
        },
    }


def _cfn_alarm(stage: str, alarm: Alarm) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "AlarmName": f"access-broker-{stage}-{alarm.name}", "AlarmDescription": alarm.description,
        "AlarmActions": [{"Ref": "AlarmTopicArn"}], "OKActions": [{"Ref": "AlarmTopicArn"}],
        "ComparisonOperator": alarm.comparison, "Threshold": alarm.threshold, "EvaluationPeriods": 1,
        "TreatMissingData": alarm.missing}
    if len(alarm.metrics) == 1:
        (metric,) = alarm.metrics
        return {**properties, "Namespace": metric.namespace, "MetricName": metric.name, "Statistic": metric.statistic,
                "Period": PERIOD_S, **_cfn_dimensions(metric)}
    ids = [f"m{i}" for i in range(len(alarm.metrics))]
    return {**properties, "Metrics": [
        *({"Id": i, "ReturnData": False, "MetricStat": {
            "Metric": {"Namespace": m.namespace, "MetricName": m.name, **_cfn_dimensions(m)},
            "Period": PERIOD_S, "Stat": m.statistic}} for i, m in zip(ids, alarm.metrics)),
        {"Id": "total", "Label": alarm.name, "ReturnData": True,
         "Expression": " + ".join(f"FILL({i}, 0)" for i in ids)}]}


def _cfn_dimensions(metric: Metric) -> dict[str, Any]:
    return {"Dimensions": [{"Name": k, "Value": v} for k, v in metric.dimensions]} if metric.dimensions else {}


def _logical(name: str) -> str:
    return "".join(part.capitalize() if not part[0].isdigit() else part.upper() for part in name.split("-"))


def adjust_sam(sam: dict[str, Any], stage: str) -> None:
    """What a merge template cannot do: the functions' three identical roles become one (BrokerRole, named
    access-broker-<stage>), the API gets this stage's name, and its integrations name the API handler by ARN rather
    than by reference, so that the handler's environment can name the API (PUBLIC_URL) without a cycle."""
    resources = sam["Resources"]
    roles = {resources[logical]["Properties"]["Role"]["Fn::GetAtt"][0] for logical in FUNCTIONS.values()}
    documents = {json.dumps([resources[r]["Properties"]["AssumeRolePolicyDocument"],
                             [p["PolicyDocument"] for p in resources[r]["Properties"]["Policies"]]], sort_keys=True)
                 for r in roles}
    if len(documents) != 1:
        raise SystemExit(f"make package: the functions' roles differ ({sorted(roles)}); they must share one policy")
    properties = resources[sorted(roles)[0]]["Properties"]
    for role in roles:
        del resources[role]
    resources[ROLE] = {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": role_name(stage), "AssumeRolePolicyDocument": properties["AssumeRolePolicyDocument"],
        "Policies": [{"PolicyName": role_name(stage), "PolicyDocument": p["PolicyDocument"]}
                     for p in properties["Policies"]]}}
    for logical in FUNCTIONS.values():
        resources[logical]["Properties"]["Role"] = {"Fn::GetAtt": [ROLE, "Arn"]}
    api = resources["RestAPI"]["Properties"]
    api["Name"] = api["DefinitionBody"]["info"]["title"] = api_name(stage)
    api["DefinitionBody"].update(swagger_extension())  # API Gateway's own 403 as problem+json, like the app's
    handler_arn = (f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:"
                   f"{function_name(stage, 'api_handler')}")
    api["DefinitionBody"] = json.loads(json.dumps(api["DefinitionBody"]).replace("${APIHandler.Arn}", handler_arn))


# -- Terraform

def terraform(stage: str, api_stage: str) -> dict[str, Any]:
    """The same, as a Terraform file beside chalice.tf.json (Terraform reads every *.tf.json in the directory)."""
    resource: dict[str, dict[str, Any]] = {
        "aws_sqs_queue": {"worker_failures": {"name": failed_jobs_queue(stage),
                                              "message_retention_seconds": QUEUE_RETENTION_S,
                                              "sqs_managed_sse_enabled": True}},
        "aws_lambda_function_event_invoke_config": {"worker": {
            "function_name": "${aws_lambda_function.worker.function_name}",
            "maximum_event_age_in_seconds": int(JOB_WINDOW.total_seconds()),
            "maximum_retry_attempts": WORKER_RETRIES,
            "destination_config": {"on_failure": {"destination": "${aws_sqs_queue.worker_failures.arn}"}}}},
        "aws_cloudwatch_log_group": {function: {
            "name": f"/aws/lambda/{function_name(stage, function)}",
            "retention_in_days": "${var.log_retention_days}"} for function in FUNCTIONS},
        "aws_cloudwatch_log_metric_filter": {
            f"{_snake(f.metric)}_{function}": {
                "name": f.metric, "pattern": f.pattern,
                "log_group_name": f"${{aws_cloudwatch_log_group.{function}.name}}",
                "metric_transformation": {"name": f.metric, "namespace": namespace(stage), "value": f.value}}
            for f in filters() for function in f.functions},
        "aws_cloudwatch_metric_alarm": {alarm.name.replace("-", "_"): _tf_alarm(stage, alarm)
                                        for alarm in alarms(stage, api_stage)},
    }
    return {
        "variable": {
            "alarm_topic_arn": {"type": "string", "description": "The SNS topic every alarm of access-broker notifies"},
            "log_retention_days": {"type": "number", "default": LOG_RETENTION_DAYS,
                                   "description": "How long the functions' log groups keep their events, in days"},
            "public_url": {"type": "string", "default": "",
                           "description": "Where people reach the API (a custom domain); empty: the API's own URL"},
        },
        "resource": resource,
        "output": {"BrokerRoleArn": {"value": "${aws_iam_role.broker.arn}"},
                   "PublicUrl": {"value": _TF_PUBLIC_URL.format(stage=api_stage)},
                   "WorkerFailedJobsQueueUrl": {"value": "${aws_sqs_queue.worker_failures.url}"}},
    }


_TF_API_URL = ("https://${{aws_api_gateway_rest_api.rest_api.id}}.execute-api.${{data.aws_region.chalice.name}}."
               "${{data.aws_partition.chalice.dns_suffix}}/{stage}")
_TF_PUBLIC_URL = '${{var.public_url != "" ? var.public_url : "' + _TF_API_URL + '"}}'


def _tf_alarm(stage: str, alarm: Alarm) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "alarm_name": f"access-broker-{stage}-{alarm.name}", "alarm_description": alarm.description,
        "alarm_actions": ["${var.alarm_topic_arn}"], "ok_actions": ["${var.alarm_topic_arn}"],
        "comparison_operator": alarm.comparison, "threshold": alarm.threshold, "evaluation_periods": 1,
        "treat_missing_data": alarm.missing}
    if len(alarm.metrics) == 1:
        (metric,) = alarm.metrics
        return {**properties, "namespace": metric.namespace, "metric_name": metric.name,
                "statistic": metric.statistic, "period": PERIOD_S, **_tf_dimensions(metric)}
    ids = [f"m{i}" for i in range(len(alarm.metrics))]
    return {**properties, "metric_query": [
        *({"id": i, "return_data": False, "metric": {
            "namespace": m.namespace, "metric_name": m.name, **_tf_dimensions(m),
            "period": PERIOD_S, "stat": m.statistic}} for i, m in zip(ids, alarm.metrics)),
        {"id": "total", "label": alarm.name, "return_data": True,
         "expression": " + ".join(f"FILL({i}, 0)" for i in ids)}]}


def _tf_dimensions(metric: Metric) -> dict[str, Any]:
    return {"dimensions": dict(metric.dimensions)} if metric.dimensions else {}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def adjust_terraform(document: dict[str, Any], stage: str, api_stage: str) -> None:
    """chalice.tf.json, as adjust_sam does the SAM template: one role, this stage's API name, the handler named by
    ARN in the API's integrations, each function's log group first and its public URL."""
    resource = document["resource"]
    policies = {json.dumps(p["policy"], sort_keys=True) for p in resource["aws_iam_role_policy"].values()}
    trusts = {json.dumps(r["assume_role_policy"], sort_keys=True) for r in resource["aws_iam_role"].values()}
    if len(policies) != 1 or len(trusts) != 1:
        raise SystemExit("make package: the functions' roles differ in chalice.tf.json; they must share one policy")
    trust = next(iter(resource["aws_iam_role"].values()))["assume_role_policy"]
    policy = next(iter(resource["aws_iam_role_policy"].values()))["policy"]
    resource["aws_iam_role"] = {"broker": {"name": role_name(stage), "assume_role_policy": trust}}
    resource["aws_iam_role_policy"] = {"broker": {"name": role_name(stage), "policy": policy,
                                                  "role": "${aws_iam_role.broker.id}"}}
    for function, properties in resource["aws_lambda_function"].items():
        properties["role"] = "${aws_iam_role.broker.arn}"
        properties["depends_on"] = [f"aws_cloudwatch_log_group.{function}"]
        properties.setdefault("environment", {}).setdefault("variables", {})[PUBLIC_URL_VARIABLE] = \
            _TF_PUBLIC_URL.format(stage=api_stage)
    resource["aws_api_gateway_rest_api"]["rest_api"]["name"] = api_name(stage)
    swagger = json.loads(document["locals"]["chalice_api_swagger"])
    swagger["info"]["title"] = api_name(stage)
    swagger.update(swagger_extension())
    handler_arn = ("arn:${data.aws_partition.chalice.partition}:lambda:${data.aws_region.chalice.name}:"
                   f"${{data.aws_caller_identity.chalice.account_id}}:function:{function_name(stage, 'api_handler')}")
    invoke_arn = (f"arn:${{data.aws_partition.chalice.partition}}:apigateway:${{data.aws_region.chalice.name}}:"
                  f"lambda:path/2015-03-31/functions/{handler_arn}/invocations")
    document["locals"]["chalice_api_swagger"] = json.dumps(swagger).replace(
        "${aws_lambda_function.api_handler.invoke_arn}", invoke_arn)
