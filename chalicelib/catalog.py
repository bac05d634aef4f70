"""The catalog (policy as code): people, groups and profiles from one YAML file, validated at load into the model
of chalicelib/domain/catalog.py. Every error names the key and the problem."""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from chalicelib.catalog_people import (
    ID,
    directory_settings,
    duration,
    flag,
    groups,
    known,
    mapping,
    members,
    one_entry_per_person,
    person,
)
from chalicelib.domain.catalog import (
    DEFAULT_GUARD_ROLE,
    DEFAULT_IAM_PROPAGATION,
    ROLE_ARN,
    SIGNIN_HOSTS,
    AutoApprove,
    Catalog,
    DirectorySettings,
    GroupSource,
    GuardRole,
    OnCallSettings,
    Person,
    Profile,
    SlackWorkspace,
    TrustedTools,
    default_external_id,
)
from chalicelib.domain.durations import format_duration
from chalicelib.domain.errors import CatalogError, quote
from chalicelib.domain.session_guard import MARGIN

_ACCOUNT = re.compile(r"^\d{12}$")
_ROLE = re.compile(r"^[\w+=,.@-]{1,64}$")
_SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_COLORS = re.compile(r"^[0-9A-Fa-f]{6}$")
_SLACK_TEAM = re.compile(r"^T[A-Z0-9]{2,}$")
_SLACK_APP = re.compile(r"^A[A-Z0-9]{2,}$")
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$")
_PAGERDUTY_ID = re.compile(r"^[A-Z0-9]{2,32}$")  # PagerDuty object ids, like PABC123
# An SSM parameter name: a hierarchy (/a/b/c) or a plain name; SSM reserves names starting with aws or ssm
_SSM_NAME = re.compile(r"^(?!/?(?i:aws|ssm))(/[\w.-]+){1,15}$|^(?!(?i:aws|ssm))[\w.-]+$")


def load_catalog(path: str | Path) -> Catalog:
    """The catalog in the YAML file `path`, validated. When `make package` left the decoded document beside it
    (precompiled_path) and that was made from exactly this YAML (its SHA-256), the JSON is read instead:
    importing PyYAML costs a cold start ~11 ms. A stale or unreadable JSON is ignored: the YAML decides."""
    path = Path(path)
    try:
        source = path.read_bytes()
    except FileNotFoundError:
        raise CatalogError(f"catalog file {path} does not exist; set ACCESS_BROKER_CATALOG to its path") from None
    try:
        compiled = json.loads(precompiled_path(path).read_text())
        if compiled["sha256"] == hashlib.sha256(source).hexdigest():
            return parse_catalog(compiled["catalog"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return parse_catalog(decode_yaml(source, path))


def precompiled_path(path: Path) -> Path:
    return path.with_name(path.name + ".json")


def decode_yaml(source: bytes, path: str | Path) -> Any:
    import yaml  # only when a catalog is decoded: keeps YAML off the import path

    try:
        # libyaml's loader when PyYAML was built with it (the Lambda wheels are): the same safe subset, ~10x faster
        return yaml.load(source, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise CatalogError(f"catalog file {path} is not valid YAML: {exc}") from None


def precompile(source: bytes, path: str | Path) -> str:
    """What `make package` writes to precompiled_path: the decoded, valid document and the SHA-256 of its YAML.
    An invalid catalog, or one JSON cannot carry exactly as YAML decoded it, fails the build."""
    raw = decode_yaml(source, path)
    try:
        exact = json.loads(json.dumps(raw)) == raw
    except (TypeError, ValueError):
        exact = False
    if not exact:
        raise CatalogError(f"catalog file {path} holds a value JSON cannot carry as YAML decoded it (a date? a "
                           f"number as a key?): quote it")
    parse_catalog(raw)
    # in the YAML's order: profiles are listed to people in catalog order, deployed as locally
    return json.dumps({"sha256": hashlib.sha256(source).hexdigest(), "catalog": raw})


def parse_catalog(raw: Any) -> Catalog:
    """Validates a decoded catalog document; raises CatalogError naming the key."""
    doc = mapping(raw, "catalog")
    known(doc, "catalog", {"source_account", "partition", "security_channel", "trusted_tools", "people", "groups",
                           "profiles", "slack", "target_accounts", "permissions_boundary", "on_call",
                           "iam_propagation", "directory"})
    source = _account(doc.get("source_account"), "source_account")
    partition = doc.get("partition", "aws")
    if partition not in SIGNIN_HOSTS:
        raise CatalogError(f"partition: {quote(partition)} is not one of {', '.join(SIGNIN_HOSTS)}")
    directory = directory_settings(doc.get("directory"))
    people = {pid: person(pid, spec) for pid, spec in mapping(doc.get("people") or {}, "people").items()}
    if not people and directory is None:
        raise CatalogError("people: the catalog needs at least one person (or a `directory` to take them from)")
    one_entry_per_person(people)
    listed, sourced = groups(doc.get("groups") or {}, people, directory)
    profiles = {name: _profile(name, spec, people, listed, partition, sourced, directory)
                for name, spec in mapping(doc.get("profiles"), "profiles").items()}
    on_call = _on_call(doc.get("on_call"), profiles)
    tools = doc.get("trusted_tools") or []
    if not isinstance(tools, list) or not all(isinstance(t, str) and t.startswith("arn:") for t in tools):
        raise CatalogError("trusted_tools: must be a list of IAM ARNs like arn:aws:iam::111111111111:role/tool")
    return Catalog(source_account=source, partition=partition,
                   security_channel=_channel(doc.get("security_channel"), "security_channel"),
                   trusted_tools=TrustedTools(tools), people=people, groups=listed, profiles=profiles,
                   slack=_slack(doc.get("slack") or {}),
                   target_accounts=_target_accounts(doc.get("target_accounts") or {}, source, partition),
                   permissions_boundary=_boundary(doc.get("permissions_boundary"), source, partition),
                   on_call=on_call, iam_propagation=_iam_propagation(doc.get("iam_propagation")),
                   directory=directory, directory_groups=sourced)


def _iam_propagation(raw: Any) -> int:
    """`iam_propagation`: how long IAM takes to put a change in force (default 15s); under the session guard's
    margin, which must cover it (a revoke's detach and its cut take effect at different moments)."""
    if raw is None:
        return DEFAULT_IAM_PROPAGATION
    seconds = duration(raw, "iam_propagation")
    if seconds >= MARGIN.total_seconds():
        raise CatalogError(f"iam_propagation: {quote(raw)} must be under the session guard's margin of "
                           f"{int(MARGIN.total_seconds() // 60)} minutes")
    return seconds


def _on_call(raw: Any, profiles: dict[str, Profile]) -> OnCallSettings | None:
    """`on_call.pagerduty_token_parameter`: the SSM SecureString parameter holding PagerDuty's REST API token
    (`{stage}` stands for the stage). Required once a profile has `auto_approve`."""
    if raw is None:
        needing = sorted(name for name, profile in profiles.items() if profile.auto_approve)
        if needing:
            raise CatalogError(f"profiles.{needing[0]}.auto_approve: needs the top-level on_call settings, which say "
                               f"where PagerDuty's token is: on_call: {{pagerduty_token_parameter: "
                               f"/access-broker/{{stage}}/pagerduty-token}}")
        return None
    spec = mapping(raw, "on_call")
    known(spec, "on_call", {"pagerduty_token_parameter"})
    name = spec.get("pagerduty_token_parameter")
    if not isinstance(name, str) or len(name) > 1011 or not _SSM_NAME.match(name.replace("{stage}", "stage")):
        raise CatalogError(f"on_call.pagerduty_token_parameter: {quote(name)} is not an SSM parameter name like "
                           f"/access-broker/{{stage}}/pagerduty-token (letters, digits, _.- between slashes; not "
                           f"starting with aws or ssm)")
    return OnCallSettings(name)


def _auto_approve(raw: Any, key: str, durations: dict[str, int]) -> AutoApprove | None:
    """A profile's `auto_approve`: `on_call` (PagerDuty schedule ids) and `max_duration` (default: the profile's
    default_duration; at most its max_duration). Whether the catalog says where PagerDuty's token is: _on_call."""
    if raw is None:
        return None
    key = f"{key}.auto_approve"
    spec = mapping(raw, key)
    known(spec, key, {"on_call", "max_duration"})
    schedules = spec.get("on_call")
    if not isinstance(schedules, list) or not schedules:
        raise CatalogError(f"{key}.on_call: must be a non-empty list of PagerDuty schedule ids like P0SCHED1")
    for schedule in schedules:
        if not isinstance(schedule, str) or not _PAGERDUTY_ID.match(schedule):
            raise CatalogError(f"{key}.on_call: {quote(schedule)} is not a PagerDuty schedule id like P0SCHED1")
    if len(set(schedules)) != len(schedules):
        raise CatalogError(f"{key}.on_call: lists a schedule twice")
    longest = durations["default_duration"] if "max_duration" not in spec \
        else duration(spec["max_duration"], f"{key}.max_duration")
    if not durations["min_duration"] <= longest <= durations["max_duration"]:
        raise CatalogError(f"{key}.max_duration: {format_duration(longest)} is outside the profile's "
                           f"{format_duration(durations['min_duration'])} to "
                           f"{format_duration(durations['max_duration'])}")
    return AutoApprove(schedules=tuple(schedules), max_duration=longest)


def _boundary(value: Any, source: str, partition: str) -> str | None:
    """`permissions_boundary`: a managed policy ARN in the source account (or an AWS managed one)."""
    if value is None:
        return None
    if not isinstance(value, str) or not re.match(
            rf"^arn:{partition}:iam::({source}|aws):policy/([\w+=,.@-]+/)*[\w+=,.@-]+$", value):
        raise CatalogError(f"permissions_boundary: {quote(value)} is not a managed policy ARN in the source account "
                           f"(like arn:{partition}:iam::{source}:policy/access-broker-boundary)")
    return value


def _target_accounts(raw: Any, source: str, partition: str) -> dict[str, GuardRole]:
    """`target_accounts.<account>`: `guard_role` (an IAM role ARN in that account) and `external_id`, both optional."""
    found = {}
    for account, spec in mapping(raw, "target_accounts").items():
        key = f"target_accounts.{account}"
        account = _account(account, key)
        spec = mapping(spec or {}, key)
        known(spec, key, {"guard_role", "external_id"})
        arn = spec.get("guard_role", f"arn:{partition}:iam::{account}:role/{DEFAULT_GUARD_ROLE}")
        match = ROLE_ARN.match(arn) if isinstance(arn, str) else None
        if not match or match["account"] != account or match["partition"] != partition:
            raise CatalogError(f"{key}.guard_role: {quote(arn)} is not a role ARN in account {account} "
                               f"(like arn:{partition}:iam::{account}:role/{DEFAULT_GUARD_ROLE})")
        external_id = spec.get("external_id", default_external_id(source))
        if not isinstance(external_id, str) or not _EXTERNAL_ID.match(external_id):
            raise CatalogError(f"{key}.external_id: must be 2 to 1224 of letters, digits and +=,.@:/-")
        found[account] = GuardRole(arn, external_id)
    return found


def _slack(raw: Any) -> SlackWorkspace:
    spec = mapping(raw, "slack")
    known(spec, "slack", {"team_id", "api_app_id"})
    for name, pattern, example in (("team_id", _SLACK_TEAM, "T01ABCDEF"), ("api_app_id", _SLACK_APP, "A01ABCDEF")):
        value = spec.get(name)
        if value is not None and (not isinstance(value, str) or not pattern.match(value)):
            raise CatalogError(f"slack.{name}: {quote(value)} is not a Slack {name} like {example}")
    return SlackWorkspace(team_id=spec.get("team_id"), api_app_id=spec.get("api_app_id"))


_PROFILE_KEYS = {"account", "role", "display_name", "color", "default_duration", "min_duration", "max_duration",
                 "approvers", "approvals_required", "requesters", "approval_channel", "approval_timeout",
                 "reminder_after", "extension", "break_glass", "auto_approve"}


def _profile(name: Any, spec: Any, people: dict[str, Person], listed: dict[str, frozenset[str]], partition: str,
             sourced: dict[str, GroupSource], directory: DirectorySettings | None) -> Profile:
    """One profile: each key read and checked by its own helper, in the order the errors should come."""
    key = f"profiles.{name}"
    if not isinstance(name, str) or not ID.match(name):
        raise CatalogError(f"{key}: profile names are lowercase letters, digits, '.', '_' or '-'")
    spec = mapping(spec, key)
    known(spec, key, _PROFILE_KEYS)
    role = _profile_role(spec, key)
    break_glass = flag(spec, "break_glass", False, key)
    durations = _profile_durations(spec, key, break_glass)
    groups = {**listed, **{group: frozenset[str]() for group in sourced}}  # the directory's: members come later
    approvers = members(spec.get("approvers"), f"{key}.approvers", people, groups)
    from_directory = [sourced[ref] for ref in spec["approvers"] if ref in sourced]
    _approvers_from_directory(from_directory, key, directory)
    required = _approvals_required(spec, key, len(approvers) if not from_directory else None)
    requesters = (members(spec["requesters"], f"{key}.requesters", people, groups)
                  if "requesters" in spec else frozenset(people))
    extension_allowed, extension_auto_approve = _extension(spec, key)
    color = _color(spec, key)
    return Profile(
        name=name, account=_account(spec.get("account"), f"{key}.account"), role=role,
        display_name=str(spec.get("display_name") or name)[:64], color=color,
        approvers=approvers, approvals_required=required, requesters=requesters,
        approval_channel=_channel(spec.get("approval_channel"), f"{key}.approval_channel"),
        extension_allowed=extension_allowed, extension_auto_approve=extension_auto_approve,
        break_glass=break_glass, partition=partition, **durations,
        auto_approve=_auto_approve(spec.get("auto_approve"), key, durations),
        approver_refs=tuple(spec["approvers"]),
        requester_refs=tuple(spec["requesters"]) if "requesters" in spec else None)


def _approvers_from_directory(sources: list[GroupSource], key: str, directory: DirectorySettings | None) -> None:
    """Where the catalog does not trust Slack's admins with who may approve, no Slack user group approves."""
    slack = [s.name for s in sources if s.kind == "slack_usergroup"]
    if slack and directory is not None and not directory.slack_groups_may_approve:
        raise CatalogError(f"{key}.approvers: Slack user group {slack[0]} may not approve here "
                           f"(directory.slack_groups_may_approve is false): use an IAM group or people")


def _profile_role(spec: dict[str, Any], key: str) -> str:
    role = spec.get("role")
    if not isinstance(role, str) or not _ROLE.match(role):
        raise CatalogError(f"{key}.role: {quote(role)} is not a valid IAM role name (1-64 of letters, digits, +=,.@_-)")
    return role


def _profile_durations(spec: dict[str, Any], key: str, break_glass: bool) -> dict[str, int]:
    durations = {k: duration(spec.get(k, default), f"{key}.{k}")  # break-glass access is short unless said otherwise
                 for k, default in (("default_duration", "1h"), ("min_duration", "15m"),
                                    ("max_duration", "1h" if break_glass else "4h"),
                                    ("approval_timeout", "1h"), ("reminder_after", "15m"))}
    if "default_duration" not in spec:  # a profile capped below an hour defaults to its cap
        durations["default_duration"] = min(durations["default_duration"], durations["max_duration"])
    if "min_duration" not in spec:  # a short profile need not spell out a minimum below its default
        durations["min_duration"] = min(durations["min_duration"], durations["default_duration"])
    if durations["max_duration"] < durations["default_duration"]:
        raise CatalogError(f"{key}.max_duration: {format_duration(durations['max_duration'])} is below "
                           f"default_duration {format_duration(durations['default_duration'])}")
    if durations["min_duration"] > durations["default_duration"]:
        raise CatalogError(f"{key}.min_duration: {format_duration(durations['min_duration'])} is above "
                           f"default_duration {format_duration(durations['default_duration'])}")
    return durations


def _approvals_required(spec: dict[str, Any], key: str, approvers: int | None) -> int:
    """From 1 to the number of approvers (None: approvers from the directory, not known before it is read)."""
    required = spec.get("approvals_required", 1)
    if not isinstance(required, int) or isinstance(required, bool) or required < 1 or \
            (approvers is not None and required > approvers):
        raise CatalogError(f"{key}.approvals_required: must be a whole number from 1 to the number of approvers "
                           f"({approvers if approvers is not None else 'as the directory holds them'})")
    return required


def _extension(spec: dict[str, Any], key: str) -> tuple[bool, bool]:
    """(allowed, auto_approve) from the `extension` mapping."""
    extension = mapping(spec.get("extension") or {}, f"{key}.extension")
    known(extension, f"{key}.extension", {"allowed", "auto_approve"})
    return flag(extension, "allowed", True, f"{key}.extension"), flag(extension, "auto_approve", False,
                                                                         f"{key}.extension")


def _color(spec: dict[str, Any], key: str) -> str | None:
    color = spec.get("color")
    if color is not None and (not isinstance(color, str) or not _COLORS.match(color)):
        raise CatalogError(f"{key}.color: {quote(color)} must be a 6-digit hex colour like F2B0A9")
    return color


def _account(value: Any, key: str) -> str:
    text = str(value) if isinstance(value, (str, int)) else ""
    if not _ACCOUNT.match(text):
        raise CatalogError(f"{key}: {quote(value)} is not a 12-digit AWS account id "
                           f"(quote it in YAML: \"012345678901\")")
    return text


def _channel(value: Any, key: str) -> str | None:
    if value is not None and (not isinstance(value, str) or not _SLACK_CHANNEL.match(value)):
        raise CatalogError(f"{key}: {quote(value)} is not a Slack channel id like C01ABCDEF")
    return value


