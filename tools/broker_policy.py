"""The broker's own IAM policy per deployed stage: renders .chalice/policy-<stage>.json from config.json and the
catalog.

`python -m tools.broker_policy` rewrites the files, and so does `make package` before it builds (tools/package.py), so
that a changed source_account never ships a policy naming the old account; tests/security/test_broker_policy.py fails
when they are stale or when anything in them is broader than the broker needs."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.domain.errors import CatalogError
from chalicelib.domain.grant_policy import policy_path

if TYPE_CHECKING:
    from chalicelib.domain.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
CHALICE_DIR = ROOT / ".chalice"
APP_NAME = "access-broker"
WORKER = "worker"  # app.py's `@app.lambda_function(name="worker")`: slow work after Slack's answer
OUTBOX_PARTITION = "OUTBOX"  # chalicelib/store/outbox.py

# The IAM actions chalicelib/aws/iam_grants.py needs on its own policies, and nothing else.
GRANT_POLICY_ACTIONS = [
    "iam:CreatePolicy", "iam:DeletePolicy", "iam:CreatePolicyVersion", "iam:DeletePolicyVersion",
    "iam:SetDefaultPolicyVersion", "iam:TagPolicy", "iam:GetPolicy", "iam:GetPolicyVersion",
    "iam:ListPolicyVersions", "iam:ListEntitiesForPolicy",
]
# pynamodb: DescribeTable on first use; transactions need the per-item actions. No Scan (the sweeper and the
# audit export query indexes). DeleteItem only on the outbox partition (see below): events are append-only.
TABLE_ACTIONS = ["dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem",
                 "dynamodb:ConditionCheckItem", "dynamodb:Query"]


def deployed_stages(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Stages with their own policy file (autogen_policy false): everything but `local`."""
    return {name: stage for name, stage in config["stages"].items() if stage.get("iam_policy_file")}


def parameter_prefix(stage: str) -> str:
    """Where a stage's secrets live (SSM parameters or Secrets Manager secrets): its names in config.json
    must start with this."""
    return f"/{APP_NAME}/{stage}/"


def grant_policies(stage: str) -> str:
    """The stage's grant policies as an IAM resource (iam_grants, `policy_path`): the only policies it may touch.
    Another stage's path is not a prefix of it (each ends in '/'), so a stage's keys never touch another's grants."""
    return f"policy{policy_path(stage)}*"


def failed_jobs_queue(stage: str) -> str:
    """The SQS queue of the worker's failed jobs (its name in the packaged templates)."""
    return f"{APP_NAME}-{stage}-{WORKER}-failures"


def broker_policy(stage: str, table: str, account: str, partition: str = "aws",
                  guard_roles: list[str] | None = None, permissions_boundary: str | None = None,
                  pagerduty_token_parameter: str | None = None, reads_directory: bool = False) -> dict[str, Any]:
    """What the broker's Lambdas in `stage` may do in the source account `account`, and in the target accounts
    through their `guard_roles` (the catalog's, one per target account: the session guard). With the catalog's
    `permissions_boundary` (hardened mode), it may attach only to users carrying that boundary: even a compromised
    broker cannot give more than the boundary allows. With the catalog's `on_call`, it may read exactly the parameter
    holding PagerDuty's token (`pagerduty_token_parameter`, this stage's name of it). With a catalog that takes people
    from the directory (`reads_directory`), it may read the source account's IAM groups' members and its users' tags
    (chalicelib/aws/directory.py), and nothing else of them."""
    boundary = {"StringEquals": {"iam:PermissionsBoundary": permissions_boundary}} if permissions_boundary else {}
    arn = f"arn:{partition}"
    prefix = parameter_prefix(stage).strip("/")
    functions = f"{APP_NAME}-{stage}"
    grants = f"{arn}:iam::{account}:{grant_policies(stage)}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "TableAndIndexes", "Effect": "Allow", "Action": TABLE_ACTIONS,
             "Resource": [f"{arn}:dynamodb:*:{account}:table/{table}",
                          f"{arn}:dynamodb:*:{account}:table/{table}/index/*"]},
            # The outbox (chalicelib/store/outbox.py) takes a retry by deleting it; nothing else is ever deleted,
            # and this condition makes IAM refuse a delete of any request or event item.
            {"Sid": "DeleteOnlyOutboxEntries", "Effect": "Allow", "Action": "dynamodb:DeleteItem",
             "Resource": f"{arn}:dynamodb:*:{account}:table/{table}",
             "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [OUTBOX_PARTITION]}}},
            {"Sid": "GrantPoliciesUnderAccessBrokerPath", "Effect": "Allow", "Action": GRANT_POLICY_ACTIONS,
             "Resource": grants},
            # ListPolicies takes no resource: IAM only authorizes it against "*". The broker calls it with
            # PathPrefix=/access-broker/<stage>/ (drift repair) and it returns metadata only.
            {"Sid": "ListPoliciesHasNoResourceLevelPermissions", "Effect": "Allow", "Action": "iam:ListPolicies",
             "Resource": "*"},
            {"Sid": "AttachOnlyAccessBrokerPoliciesToUsers", "Effect": "Allow",
             "Action": ["iam:AttachUserPolicy"] if boundary else ["iam:AttachUserPolicy", "iam:DetachUserPolicy"],
             "Resource": f"{arn}:iam::{account}:user/*",
             "Condition": {"ArnLike": {"iam:PolicyARN": grants}, **boundary}},
            # A grant is made only for a user named exactly as IAM names it (iam_grants._exact_user): the session
            # guard's cuts compare aws:userid with the catalog's name, case and all.
            {"Sid": "ReadTheExactNameOfUsers", "Effect": "Allow", "Action": "iam:GetUser",
             "Resource": f"{arn}:iam::{account}:user/*"},
            # Taking a grant away needs no boundary (a user who lost theirs must still lose the grant).
            *([{"Sid": "DetachOnlyAccessBrokerPoliciesFromUsers", "Effect": "Allow",
                "Action": "iam:DetachUserPolicy", "Resource": f"{arn}:iam::{account}:user/*",
                "Condition": {"ArnLike": {"iam:PolicyARN": grants}}}]
              if boundary else []),
            # Exactly the target accounts' guard roles, and no other role anywhere: the session guard
            # (chalicelib/aws/session_guard.py) writes the inline deny that cuts open sessions.
            *([{"Sid": "AssumeTheTargetAccountsGuardRoles", "Effect": "Allow", "Action": "sts:AssumeRole",
                "Resource": sorted(guard_roles)}] if guard_roles else []),
            # The directory (aws/directory.py): a group's members, a user's tags. Read-only, in the source account
            # only; IAM has no condition key for "the groups the catalog names", and group ARNs carry their path.
            *([{"Sid": "ReadDirectoryGroupMembers", "Effect": "Allow", "Action": "iam:GetGroup",
                "Resource": f"{arn}:iam::{account}:group/*"},
               {"Sid": "ReadDirectoryUserTags", "Effect": "Allow", "Action": "iam:ListUserTags",
                "Resource": f"{arn}:iam::{account}:user/*"}] if reads_directory else []),
            {"Sid": "InvokeOwnWorker", "Effect": "Allow", "Action": "lambda:InvokeFunction",
             "Resource": f"{arn}:lambda:*:{account}:function:{functions}-{WORKER}"},
            # The worker's on-failure destination (tools/package_operations.py): Lambda sends a failed asynchronous
            # job there with the function's own role.
            {"Sid": "SendFailedWorkerJobsToOwnQueue", "Effect": "Allow", "Action": "sqs:SendMessage",
             "Resource": f"{arn}:sqs:*:{account}:{failed_jobs_queue(stage)}"},
            {"Sid": "ReadOwnParameters", "Effect": "Allow", "Action": "ssm:GetParameter",
             "Resource": [f"{arn}:ssm:*:{account}:parameter/{prefix}/*",
                          f"{arn}:ssm:*:{account}:parameter/aws/reference/secretsmanager/{prefix}/*"]},
            # Named by the catalog (on_call.pagerduty_token_parameter), not by config.json: allowed by name, so that it
            # stays readable whatever becomes of the statement above.
            *([{"Sid": "ReadPagerDutyToken", "Effect": "Allow", "Action": "ssm:GetParameter",
                "Resource": parameter_arn(arn, account, pagerduty_token_parameter)}]
              if pagerduty_token_parameter else []),
            {"Sid": "ReadOwnSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
             "Resource": f"{arn}:secretsmanager:*:{account}:secret:{prefix}/*"},
            {"Sid": "OwnLogs", "Effect": "Allow",
             "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": [f"{arn}:logs:*:{account}:log-group:/aws/lambda/{functions}*",
                          f"{arn}:logs:*:{account}:log-group:/aws/lambda/{functions}*:log-stream:*"]},
        ],
    }


def parameter_arn(arn: str, account: str, name: str) -> str:
    """An SSM parameter's ARN: a hierarchical name's leading / is the ARN's separator."""
    return f"{arn}:ssm:*:{account}:parameter/{name.lstrip('/')}"


def pagerduty_token_parameter(catalog: Catalog, stage: str) -> str | None:
    """The stage's name of the catalog's PagerDuty token parameter. It must lie under the stage's own prefix: a stage
    never reads another's secrets (say `{stage}` in the name to serve every stage from one catalog)."""
    if catalog.on_call is None:
        return None
    name = catalog.on_call.token_parameter(stage)
    if not name.startswith(parameter_prefix(stage)):
        raise CatalogError(f"on_call.pagerduty_token_parameter: {name} is outside {parameter_prefix(stage)}, where "
                           f"stage {stage} keeps its secrets (a stage never reads another's); write "
                           f"{parameter_prefix('{stage}')}pagerduty-token")
    return name


def reads_directory(catalog: Catalog) -> bool:
    """Whether the catalog takes people or groups from IAM (its `directory` key, CONTRACT.md "People and groups from
    the directory"; a group from an IAM group needs it too)."""
    return catalog.directory is not None


def rendered(root: Path = ROOT) -> dict[Path, str]:
    """Each deployed stage's policy file under `root` (an app's directory) and the text it should hold."""
    from chalicelib.catalog import load_catalog

    config = json.loads((root / ".chalice" / "config.json").read_text())
    catalog_path = config.get("environment_variables", {}).get("ACCESS_BROKER_CATALOG", "chalicelib/catalog/demo.yaml")
    files = {}
    for name, stage in deployed_stages(config).items():
        env = {**config.get("environment_variables", {}), **stage.get("environment_variables", {})}
        # ACCESS_BROKER_CATALOG from the environment wins, as it does for make run, make demo and make package
        catalog = load_catalog(root / (os.environ.get("ACCESS_BROKER_CATALOG") or env.get("ACCESS_BROKER_CATALOG",
                                                                                             catalog_path)))
        policy = broker_policy(name, env["ACCESS_BROKER_TABLE"], catalog.source_account, catalog.partition,
                               [role.arn for role in catalog.guard_roles()], catalog.permissions_boundary,
                               pagerduty_token_parameter(catalog, name), reads_directory(catalog))
        files[root / ".chalice" / stage["iam_policy_file"]] = json.dumps(policy, indent=2) + "\n"
    return files


def write(root: Path = ROOT) -> list[Path]:
    """Renders every deployed stage's policy file under `root`; returns those whose text changed."""
    changed = []
    for path, text in rendered(root).items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(path)
    return changed


def main() -> None:
    changed = write()
    for path in rendered():
        print(f"{'wrote' if path in changed else 'unchanged'} {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
