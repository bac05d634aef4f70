"""The catalog's model: people, profiles, trusted tools, the Slack workspace and the guard role of each target
account, and the questions asked of them ("who may request or approve what", "who is this caller"). Pure: no I/O.

Loading and validating the YAML that makes one is chalicelib/catalog.py."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from chalicelib.domain.durations import format_duration

# arn:<partition>:iam::<account>:role/<optional/path/><name>, and the session ARN API Gateway reports for it
ROLE_ARN = re.compile(r"^arn:(?P<partition>[\w-]+):iam::(?P<account>\d{12}):role/(?:[^/]+/)*(?P<name>[^/]+)$")
_SESSION_ARN = re.compile(r"^arn:(?P<partition>[\w-]+):sts::(?P<account>\d{12}):assumed-role/(?P<name>[^/]+)/[^/]+$")
SIGNIN_HOSTS = {"aws": "signin.aws.amazon.com", "aws-cn": "signin.amazonaws.cn",
                "aws-us-gov": "signin.amazonaws-us-gov.com"}  # the partitions a catalog may name


@dataclass(frozen=True)
class Person:
    id: str
    iam_user: str | None
    slack_user_id: str | None
    email: str | None


@dataclass(frozen=True)
class AutoApprove:
    """A profile's `auto_approve`: a requester on call now in one of `schedules` (PagerDuty schedule ids) is approved
    at once, for up to `max_duration` seconds (chalicelib/domain/on_call.py decides)."""
    schedules: tuple[str, ...]
    max_duration: int


@dataclass(frozen=True)
class OnCallSettings:
    """The catalog's `on_call`: the SSM parameter holding PagerDuty's REST API token. `{stage}` in its name stands for
    the stage, so that one catalog serves every stage, each reading its own parameter."""
    pagerduty_token_parameter: str

    def token_parameter(self, stage: str) -> str:
        return self.pagerduty_token_parameter.replace("{stage}", stage)


@dataclass(frozen=True)
class DirectorySettings:
    """The catalog's `directory`: people from the source account's IAM groups (chalicelib/domain/directory.py)."""
    iam_groups: tuple[str, ...]
    email_tag: str = "email"
    slack_id_tag: str = "slack-user-id"
    refresh: int = 300  # seconds: how stale membership may be
    slack_groups_may_approve: bool = True  # False: approvers come from IAM groups and `people` only


@dataclass(frozen=True)
class GroupSource:
    """A group whose members come from the directory: `{iam_group: NAME}` or `{slack_usergroup: ID}`."""
    kind: str  # "iam_group" | "slack_usergroup"
    name: str


@dataclass(frozen=True)
class Profile:
    name: str
    account: str
    role: str
    display_name: str
    color: str | None
    default_duration: int
    min_duration: int
    max_duration: int
    approvers: frozenset[str]  # person ids, groups expanded
    approvals_required: int
    requesters: frozenset[str]  # person ids, groups expanded
    approval_channel: str | None
    approval_timeout: int
    reminder_after: int
    extension_allowed: bool
    extension_auto_approve: bool
    break_glass: bool
    partition: str = "aws"
    auto_approve: AutoApprove | None = None
    # The people and groups `approvers` and `requesters` name, as written (None: everyone): resolved again whenever
    # the directory's membership changes (domain/directory.py)
    approver_refs: tuple[str, ...] = ()
    requester_refs: tuple[str, ...] | None = None

    @property
    def role_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role/{self.role}"

    def allowed_range(self) -> str:
        return f"{format_duration(self.min_duration)} to {format_duration(self.max_duration)}"


class TrustedTools:
    """The catalog's `trusted_tools`; `principal in tools` matches a caller the way API Gateway reports it.

    An IAM user or role ARN matches itself. A role also matches its sessions: API Gateway reports a role caller as
    `arn:aws:sts::<account>:assumed-role/<name>/<session>`, an ARN without the role's path, so a listed
    `arn:aws:iam::<account>:role/<path/><name>` matches on partition, account and role name (unique in an account,
    compared without case, as IAM does)."""

    def __init__(self, arns: Iterable[str] = ()) -> None:
        self.arns = frozenset(arns)
        self._roles = {_role_key(m) for m in map(ROLE_ARN.match, self.arns) if m}

    def __contains__(self, principal: object) -> bool:
        if not isinstance(principal, str):
            return False
        session = _SESSION_ARN.match(principal)
        return principal in self.arns or bool(session and _role_key(session) in self._roles)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.arns))

    def __len__(self) -> int:
        return len(self.arns)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TrustedTools) and other.arns == self.arns

    def __hash__(self) -> int:
        return hash(self.arns)

    def __repr__(self) -> str:
        return f"TrustedTools({sorted(self.arns)!r})"


def _role_key(match: re.Match[str]) -> tuple[str, str, str]:
    return match["partition"], match["account"], match["name"].lower()


@dataclass(frozen=True)
class SlackWorkspace:
    """`slack:` in the catalog: when set, Slack requests for another workspace or app are refused."""
    team_id: str | None = None
    api_app_id: str | None = None


DEFAULT_GUARD_ROLE = "access-broker-guard"


def default_external_id(source_account: str) -> str:
    """The ExternalId the guard role requires unless `target_accounts.<account>.external_id` says otherwise
    (targets/guard-role.yaml defaults to the same)."""
    return f"access-broker-{source_account}"


@dataclass(frozen=True)
class GuardRole:
    arn: str
    external_id: str


DEFAULT_IAM_PROPAGATION = 15  # seconds


@dataclass(frozen=True)
class Catalog:
    source_account: str
    partition: str
    security_channel: str | None
    trusted_tools: TrustedTools
    people: dict[str, Person]
    groups: dict[str, frozenset[str]]
    profiles: dict[str, Profile] = field(default_factory=dict)
    slack: SlackWorkspace = field(default_factory=SlackWorkspace)
    target_accounts: dict[str, GuardRole] = field(default_factory=dict)  # set per account; defaults otherwise
    # Hardened mode: the managed policy every requester's IAM user carries as its permissions boundary; the broker's
    # own policy then attaches grants only to users that carry it (tools/broker_policy.py).
    permissions_boundary: str | None = None
    on_call: OnCallSettings | None = None  # PagerDuty, for the profiles' auto_approve
    # How long IAM takes to put a change in force here (AWS publishes no figure: usually a few seconds, rarely up to a
    # minute): a grant is announced usable this long after its attach, a cut in force this long after it is written.
    iam_propagation: int = DEFAULT_IAM_PROPAGATION
    directory: DirectorySettings | None = None
    directory_groups: dict[str, GroupSource] = field(default_factory=dict)  # group name -> where its members are
    directory_unavailable: str | None = None  # why directory people are refused now (domain/directory.effective)

    def guard_role(self, account: str) -> GuardRole:
        """The guard role the broker assumes in a target account to cut open sessions (targets/guard-role.yaml)."""
        return self.target_accounts.get(account) or GuardRole(
            f"arn:{self.partition}:iam::{account}:role/{DEFAULT_GUARD_ROLE}", default_external_id(self.source_account))

    def guard_roles(self) -> list[GuardRole]:
        """One per target account a profile names: exactly the roles the broker may assume."""
        return [self.guard_role(a) for a in sorted({p.account for p in self.profiles.values()})]

    def __post_init__(self) -> None:
        if not isinstance(self.trusted_tools, TrustedTools):  # a plain set of ARNs, as tests and callers may pass
            object.__setattr__(self, "trusted_tools", TrustedTools(self.trusted_tools))

    @property
    def signin_host(self) -> str:
        return SIGNIN_HOSTS[self.partition]

    def person_by_iam_user(self, iam_user: str) -> Person | None:
        """IAM user names are unique without case (IAM refuses `Bob` beside `bob`): compared the same way here."""
        wanted = iam_user.casefold()
        return next((p for p in self.people.values() if p.iam_user and p.iam_user.casefold() == wanted), None)

    def person_by_slack_id(self, slack_user_id: str) -> Person | None:
        return next((p for p in self.people.values() if p.slack_user_id == slack_user_id), None)

    def extendable(self, profile_name: str) -> bool:
        """Whether a grant of this profile may be asked to last longer, so whether its messages offer Extend (the
        grant message and the expiry warning): the profile allows extensions; a profile gone from the catalog
        allows none."""
        profile = self.profiles.get(profile_name)
        return bool(profile and profile.extension_allowed)

    def requestable_by(self, person_id: str) -> list[Profile]:
        return [p for p in self.profiles.values() if person_id in p.requesters]

    def approvable_by(self, person_id: str) -> list[Profile]:
        return [p for p in self.profiles.values() if person_id in p.approvers]
