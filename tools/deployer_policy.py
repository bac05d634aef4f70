"""A least-privilege IAM policy for whoever deploys a stage of access-broker with CloudFormation (docs/deploy.md).

    python -m tools.deployer_policy --stage prod --account 123456789012 --bucket my-deploy-bucket > deployer.json

It covers the secrets (SSM), the alarm topic (SNS), the package bucket (`aws cloudformation package`) and what the
packaged template creates with the deployer's own credentials: the stack and the SAM transform, Lambda functions
with their event-invoke config and permissions, the functions' role, the REST API, the table, the schedule's
EventBridge rule, log groups and metric filters, alarms and the failed-job queue. Everything is scoped to the stage's
names (tools/package_operations.py). docs/deployer-policy.json is the demo's rendering; tests/deploy check it."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tools.broker_policy import failed_jobs_queue
from tools.package_operations import function_name, role_name

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "deployer-policy.json"
EXAMPLE_ACCOUNT = "111111111111"  # the demo catalog's source account


def bucket_for(account: str) -> str:
    """The package bucket docs/deploy.md creates when you have none."""
    return f"access-broker-deploy-{account}"


def topic_name(stage: str) -> str:
    return f"access-broker-{stage}-alarms"


def deployer_policy(stage: str, account: str, bucket: str, partition: str = "aws") -> dict[str, Any]:
    arn, app = f"arn:{partition}", role_name(stage)  # every name of the stage starts with access-broker-<stage>
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "TheStackAndItsChangeSets", "Effect": "Allow", "Action": [
            "cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet", "cloudformation:ExecuteChangeSet",
            "cloudformation:DeleteChangeSet", "cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents",
            "cloudformation:GetTemplateSummary", "cloudformation:ListStackResources"],
         "Resource": f"{arn}:cloudformation:*:{account}:stack/{app}/*"},
        {"Sid": "TheSamTransform", "Effect": "Allow", "Action": "cloudformation:CreateChangeSet",
         "Resource": f"{arn}:cloudformation:*:aws:transform/Serverless-2016-10-31"},
        {"Sid": "ThePackageBucket", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
         "Resource": f"{arn}:s3:::{bucket}/*"},
        {"Sid": "ThePackageBucketItself", "Effect": "Allow", "Action": ["s3:CreateBucket", "s3:ListBucket"],
         "Resource": f"{arn}:s3:::{bucket}"},
        {"Sid": "TheFunctions", "Effect": "Allow", "Action": [
            "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:GetFunction", "lambda:GetFunctionConfiguration",
            "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:AddPermission",
            "lambda:RemovePermission", "lambda:TagResource", "lambda:UntagResource", "lambda:ListTags",
            "lambda:PutFunctionEventInvokeConfig", "lambda:UpdateFunctionEventInvokeConfig",
            "lambda:GetFunctionEventInvokeConfig", "lambda:DeleteFunctionEventInvokeConfig"],
         "Resource": [f"{arn}:lambda:*:{account}:function:{function_name(stage, f)}"
                      for f in ("api_handler", "worker", "sweep")]},
        {"Sid": "TheFunctionsRole", "Effect": "Allow", "Action": [
            "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy",
            "iam:DeleteRolePolicy", "iam:GetRolePolicy", "iam:TagRole", "iam:UntagRole"],
         "Resource": f"{arn}:iam::{account}:role/{app}"},
        {"Sid": "PassTheFunctionsRoleToLambdaOnly", "Effect": "Allow", "Action": "iam:PassRole",
         "Resource": f"{arn}:iam::{account}:role/{app}",
         "Condition": {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}}},
        # API Gateway's ids are made at creation: its resources can be scoped to REST APIs, not to this one.
        {"Sid": "TheRestApi", "Effect": "Allow", "Action": [
            "apigateway:GET", "apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE"],
         "Resource": [f"{arn}:apigateway:*::/restapis", f"{arn}:apigateway:*::/restapis/*"]},
        {"Sid": "TheTable", "Effect": "Allow", "Action": [
            "dynamodb:CreateTable", "dynamodb:DescribeTable", "dynamodb:UpdateTable", "dynamodb:DescribeTimeToLive",
            "dynamodb:UpdateTimeToLive", "dynamodb:DescribeContinuousBackups", "dynamodb:UpdateContinuousBackups",
            "dynamodb:TagResource", "dynamodb:UntagResource", "dynamodb:ListTagsOfResource"],
         "Resource": f"{arn}:dynamodb:*:{account}:table/{app}"},
        # SAM names the schedule's rule <stack>-<logical id>-<suffix>.
        {"Sid": "TheSweepSchedule", "Effect": "Allow", "Action": [
            "events:PutRule", "events:DeleteRule", "events:DescribeRule", "events:PutTargets", "events:RemoveTargets",
            "events:TagResource", "events:UntagResource"],
         "Resource": f"{arn}:events:*:{account}:rule/{app}-*"},
        {"Sid": "TheSecrets", "Effect": "Allow", "Action": [
            "ssm:PutParameter", "ssm:GetParameter", "ssm:AddTagsToResource"],
         "Resource": f"{arn}:ssm:*:{account}:parameter/access-broker/{stage}/*"},
        {"Sid": "TheLogGroups", "Effect": "Allow", "Action": [
            "logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteRetentionPolicy", "logs:PutMetricFilter",
            "logs:DeleteMetricFilter", "logs:TagResource", "logs:UntagResource", "logs:ListTagsForResource"],
         "Resource": f"{arn}:logs:*:{account}:log-group:/aws/lambda/{app}*"},
        {"Sid": "TheLogGroupsMetricFilters", "Effect": "Allow", "Action": "logs:DescribeMetricFilters",
         "Resource": f"{arn}:logs:*:{account}:log-group:/aws/lambda/{app}*"},
        # CloudFormation looks its log groups up by listing; IAM authorizes that listing against "*" only.
        {"Sid": "DescribeLogGroupsHasNoResourceLevelPermissions", "Effect": "Allow", "Action": "logs:DescribeLogGroups",
         "Resource": "*"},
        {"Sid": "TheAlarms", "Effect": "Allow", "Action": [
            "cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms",
            "cloudwatch:TagResource", "cloudwatch:UntagResource", "cloudwatch:ListTagsForResource"],
         "Resource": f"{arn}:cloudwatch:*:{account}:alarm:{app}-*"},
        {"Sid": "TheAlarmTopic", "Effect": "Allow", "Action": [
            "sns:CreateTopic", "sns:GetTopicAttributes", "sns:Subscribe", "sns:ListSubscriptionsByTopic",
            "sns:TagResource"],
         "Resource": f"{arn}:sns:*:{account}:{topic_name(stage)}"},
        {"Sid": "TheFailedJobQueue", "Effect": "Allow", "Action": [
            "sqs:CreateQueue", "sqs:DeleteQueue", "sqs:GetQueueAttributes", "sqs:SetQueueAttributes",
            "sqs:GetQueueUrl", "sqs:TagQueue", "sqs:UntagQueue", "sqs:ListQueueTags"],
         "Resource": f"{arn}:sqs:*:{account}:{failed_jobs_queue(stage)}"},
    ]}


def example() -> str:
    """docs/deployer-policy.json: prod in the demo's source account, with the bucket docs/deploy.md suggests."""
    return json.dumps(deployer_policy("prod", EXAMPLE_ACCOUNT, bucket_for(EXAMPLE_ACCOUNT)), indent=2) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--account", help="the source account (the catalog's source_account)")
    parser.add_argument("--bucket", help="the package bucket (default access-broker-deploy-<account>)")
    parser.add_argument("--partition", default="aws")
    parser.add_argument("--example", action="store_true", help=f"rewrite {EXAMPLE.relative_to(ROOT)}")
    args = parser.parse_args()
    if args.example:
        EXAMPLE.write_text(example())
        print(f"wrote {EXAMPLE.relative_to(ROOT)}")
        return
    if not (args.account and args.account.isdigit() and len(args.account) == 12):
        raise SystemExit("give the source account's 12-digit id: --account 123456789012")
    print(json.dumps(deployer_policy(args.stage, args.account, args.bucket or bucket_for(args.account),
                                     args.partition), indent=2))


if __name__ == "__main__":
    main()
