"""`aws-profile ID`: an AWS CLI profile that switches into the granted role with the caller's own credentials, so
`aws --profile NAME ...` works while the grant lasts. The role only accepts sessions named after the IAM user."""
from __future__ import annotations

from typing import Any, Dict, Tuple

from access_broker_cli import awsconfig, checks, identity
from access_broker_cli.api import Api
from access_broker_cli.durations import human, seconds_until
from access_broker_cli.errors import Refused, UsageError

MAX_SESSION_S = 3600  # the switch roles' MaxSessionDuration
MIN_SESSION_S = 900  # STS refuses shorter sessions; the broker ends the session at the grant's end anyway
# Where credentials that are not a named profile come from, in the AWS config's own words (credential_source).
_SOURCES = {"env": "Environment", "iam-role": "Ec2InstanceMetadata", "container-role": "EcsContainer"}


def write_profile(request: Dict[str, Any], name: str, api: Api) -> Tuple[str, Dict[str, Any]]:
    """Writes profile `name` for an active `request`; returns what to print as text and as JSON."""
    grant = _active_grant(request)
    request_id, role_arn, expires_at = _checked(request, grant)
    name = _name(name)
    user = identity.caller_user_name(api)
    if user != request["requester"]["iam_user"]:
        raise Refused(f"request {request_id} grants IAM user {request['requester']['iam_user']}, and you are "
                      f"{user}: run this with the requester's credentials", request)
    source_key, source = _source(api)
    if source_key == "source_profile" and source == name:
        raise UsageError(f"--name {name!r} is the profile your own credentials come from; choose another name")
    left = seconds_until(expires_at)
    values = {"role_arn": role_arn, source_key: source, "role_session_name": user,
              "duration_seconds": str(session_seconds(left))}
    path = awsconfig.config_path()
    before = path.read_text() if path.exists() else ""
    dropped = ("credential_source",) if source_key == "source_profile" else ("source_profile",)
    marker = f"request {request_id}, grant ends {expires_at}"
    try:
        updated = awsconfig.upsert(before, name, values, dropped, marker)
    except ValueError as exc:  # the last guard: nothing reaches the file that would not stay on its own line
        raise Refused(f"not written to {path}: {exc}", request) from None
    awsconfig.write(path, updated)
    written: Dict[str, Any] = {"profile": name, "config_file": str(path), **values,
                               "expires_at": expires_at, "request": request}
    text = (f"wrote profile {name} to {path} ({role_arn}, session {user}, {human(left)} left)\n"
            f"try: aws --profile {name} sts get-caller-identity")
    return text, written


def session_seconds(left: float) -> int:
    """The profile's duration_seconds: the grant's time left, but at most the switch roles' MaxSessionDuration (STS
    refuses more) and at least STS's shortest session."""
    return int(max(MIN_SESSION_S, min(MAX_SESSION_S, left)))


def _active_grant(request: Dict[str, Any]) -> Dict[str, Any]:
    grant = request.get("grant")
    if request.get("state") != "active" or not isinstance(grant, dict):
        raise Refused(f"request {request.get('id')} is {request.get('state')}: a profile works only while the grant "
                      "is active", request)
    return grant


def _checked(request: Dict[str, Any], grant: Dict[str, Any]) -> Tuple[str, str, str]:
    """The request id, the role ARN and the grant's end, each checked before it goes near the config file."""
    try:
        return (checks.request_id(request.get("id")), checks.role_arn(grant.get("role_arn"), "grant.role_arn"),
                checks.rfc3339(grant.get("expires_at"), "grant.expires_at"))
    except ValueError as exc:
        raise Refused(f"the API's answer cannot go into an AWS config file: {exc}", request) from None


def _source(api: Api) -> Tuple[str, str]:
    """("source_profile", the caller's profile), or ("credential_source", ...) for credentials from elsewhere."""
    method = api.credentials().method
    if method in _SOURCES:
        return "credential_source", _SOURCES[method]
    return "source_profile", str(api.session.profile or "default")


def _name(name: str) -> str:
    try:
        return awsconfig.check_name(name)
    except ValueError as exc:
        raise UsageError(f"--name: {exc}") from None
