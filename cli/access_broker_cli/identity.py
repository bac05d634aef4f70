"""Who the caller is, as STS says (sts:GetCallerIdentity, AWS_ENDPOINT_URL and friends honoured): the switch roles
take only sessions named after the IAM user that opens them, so that user name is what the CLI works with."""
from __future__ import annotations

from typing import Optional

from access_broker_cli import checks
from access_broker_cli.api import Api
from access_broker_cli.errors import Refused, Unreachable


def caller_arn(api: Api) -> str:
    """The ARN of the credentials the CLI signs with."""
    from botocore.exceptions import BotoCoreError, ClientError

    api.credentials()  # a clear usage error when there are none
    try:
        sts = api.session.create_client("sts", region_name=api.session.get_config_variable("region") or "us-east-1")
        return str(sts.get_caller_identity()["Arn"])
    except ClientError as exc:
        raise Refused(f"AWS could not tell who you are: {exc}") from None
    except BotoCoreError as exc:
        raise Unreachable(f"AWS could not tell who you are: {exc}") from None


def user_name(arn: str) -> Optional[str]:
    """The IAM user name in `arn`, or None when it is not an IAM user's (a role's session, say)."""
    kind, _, path = arn.split(":", 5)[-1].partition("/")
    return path.rsplit("/", 1)[-1] if kind == "user" else None


def caller_user_name(api: Api) -> str:
    """The caller's IAM user name; Refused when the caller is not an IAM user."""
    arn = caller_arn(api)
    name = user_name(arn)
    if name is None:
        raise Refused(f"aws-profile needs an IAM user's credentials; you are {arn}, and the role trusts only IAM "
                      "users switching in under their own name")
    try:
        return checks.iam_user_name(name, "the IAM user name STS gave")
    except ValueError as exc:
        raise Refused(str(exc)) from None
