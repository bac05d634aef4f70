"""IAM Condition blocks, evaluated honestly inside the local world's moto server (moto 5.2.5).

moto evaluates only `StringEquals` on `sts:ExternalId` and counts every other condition as met; it turns
an Allow whose condition fails into a deny, denies unconditionally for a conditional Deny, and skips the
trust policy of a role in another account (FACTS.md). The broker's grants (`DateLessThan aws:CurrentTime`,
`StringEquals sts:RoleSessionName ${aws:username}`), the switch role's trust (`ArnLike aws:PrincipalArn`)
and its session guards (`StringLike aws:userid`, `DateLessThan aws:TokenIssueTime`) need the real thing.

What is evaluated (`conditions_met`, `evaluate`):
- Operators: String{Equals,NotEquals,EqualsIgnoreCase,NotEqualsIgnoreCase,Like,NotLike},
  Arn{Equals,Like,NotEquals,NotLike}, Date{Equals,NotEquals,LessThan,LessThanEquals,GreaterThan,
  GreaterThanEquals}, each also as `...IfExists`, and `Null`. A list of values is OR (NOR for a negated
  operator); several operators or keys in one Condition are AND.
- Keys (case-insensitive): aws:CurrentTime, aws:EpochTime, aws:TokenIssueTime (role sessions only),
  aws:userid (a user's id as moto gives it; `<role id>:<session name>` for a session), aws:username (IAM
  users only), aws:PrincipalArn (the user ARN; the role ARN for a session), aws:PrincipalAccount,
  aws:PrincipalType, and on sts:AssumeRole sts:RoleSessionName and sts:ExternalId; aws:ResourceTag/<key> and
  iam:ResourceTag/<key> when the request's resource is an IAM role (sts:AssumeRole, and the IAM actions moto
  resolves to a role: PutRolePolicy, DeleteRolePolicy, ...), from the role's tags as they are now.
- As in IAM: a key the request lacks fails the condition, except for negated operators (met), `...IfExists`
  (met) and `Null`. Policy variables (`${aws:username}`, `${key, 'default'}`, `${*}`, `${?}`, `${$}`) are
  substituted in String and Arn operators of "2012-10-17" policies, never in Date ones; an unresolvable
  variable matches nothing. Dates are ISO 8601 (a bare date is midnight UTC) or epoch seconds.
- Semantics: an Allow whose condition is not met is neutral; a Deny whose condition is not met does not
  apply; an explicit Deny beats any Allow. A statement's Principal (in a trust policy) matches `*`, the exact
  principal ARN, the role ARN of a session, or the account (`arn:aws:iam::<acct>:root` or `<acct>`).

Kept from moto, on purpose or for lack of need:
- A condition on an operator or key not listed above (ForAnyValue:/ForAllValues:, Numeric*, Bool,
  IpAddress, aws:SourceIp, aws:MultiFactorAuthPresent, tags of resources other than roles, ...) counts as met,
  as moto always did.
- Action and Resource matching is moto's (`IAMPolicyStatement._check_element_matches`: `*` wildcards,
  case-sensitive). Session policies, permission boundaries and NotPrincipal are ignored.
- sts:AssumeRole needs both an identity-policy Allow and a trust-policy Allow, in the same account too
  (IAM lets a trust policy naming the user's own ARN suffice there; the broker never relies on it).
- S3 bucket policies are still evaluated by moto's own code (moto's semantics, conditions met).
- sts:GetCallerIdentity is always allowed, as in IAM.

Patched points, all inside the world's child process by `install()`:
1. `moto.iam.access_control.IAMRequestBase.check_action_permitted`: every enforced request. Replaced to
   build the request context and run `evaluate` over the principal's identity policies and, for
   sts:AssumeRole, over the target role's trust policy read from the role's own account (moto read it from
   the caller's account and so skipped it across accounts; it also allowed roles that do not exist).
   A session whose role was deleted is refused (moto failed on it).
2. `moto.sts.models.AssumedRole.__init__`: records `issued_at` (aws:TokenIssueTime) on the world clock and
   makes `expiration` follow the same clock. moto keeps no issue time.
3. `moto.moto_server.werkzeug_app.DomainDispatcherApplication.__call__`: adds `POST /_world/clock`
   (JSON `{"offset_seconds": N}`; GET shows it) and `POST /_world/propagation` (JSON `{"seconds": N}`), and
   sets both to 0 on `POST /moto-api/reset`.
4. The IAM backend's policy-changing methods (tools/iam_propagation.py): the identity policies point 1
   evaluates are the principal's as they were LOCAL_IAM_PROPAGATION seconds ago.
5. `moto.iam.access_control.AssumedRoleAccessKey.__init__`: a session past its `expiration` (on the world clock) is
   refused as AWS refuses it, `ExpiredToken` (403, "The security token included in the request is expired"), on
   every enforced request, sts:GetCallerIdentity included. moto accepted expired sessions for ever.
6. `moto.iam.models.IAMBackend.delete_policy`: refuses, as IAM does, with `DeleteConflict` (409) a managed policy
   still attached to a user, group or role, or still holding versions other than its default. moto deleted it,
   leaving the attachments dangling.
"""

from __future__ import annotations

import inspect
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from tools import iam_propagation

ALLOWED, IMPLICIT_DENY, EXPLICIT_DENY = "Allowed", "ImplicitlyDenied", "ExplicitlyDenied"
CLOCK_PATH = "/_world/clock"
RESOURCE_TAG_PREFIXES = ("aws:resourcetag/", "iam:resourcetag/")

MODELLED_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:CurrentTime", "aws:EpochTime", "aws:TokenIssueTime", "aws:userid", "aws:username",
        "aws:PrincipalArn", "aws:PrincipalAccount", "aws:PrincipalType", "sts:RoleSessionName", "sts:ExternalId",
    )
)


# ---------------------------------------------------------------------------------------------- the clock

class _Clock:
    """The world's notion of now: real UTC time plus an offset tests set (no sleeping)."""

    def __init__(self) -> None:
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(timezone.utc) + self._offset

    def set_offset(self, seconds: float) -> None:
        with self._lock:
            self._offset = timedelta(seconds=seconds)

    @property
    def offset_seconds(self) -> float:
        with self._lock:
            return self._offset.total_seconds()


CLOCK = _Clock()


def iso(moment: datetime) -> str:
    """How a date context value is written: ISO 8601 in UTC with a Z."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# ------------------------------------------------------------------------------------------ the evaluator

class RequestContext(dict[str, str]):
    """Condition key values of one request, looked up case-insensitively (IAM key names are).

    `resource_tags`: the resource's tags when the world knows them (an IAM role's), as `aws:ResourceTag/<key>` and
    `iam:ResourceTag/<key>`; conditions on those keys are then evaluated. Without them such conditions count as
    met, as moto always did."""

    def __init__(self, values: Mapping[str, str] | None = None, resource_tags: Mapping[str, str] | None = None
                 ) -> None:
        super().__init__({key.lower(): str(value) for key, value in (values or {}).items()})
        self.resource_tags_known = resource_tags is not None or bool(getattr(values, "resource_tags_known", False))
        for key, value in (resource_tags or {}).items():
            for prefix in RESOURCE_TAG_PREFIXES:
                self[f"{prefix}{key.lower()}"] = str(value)

    def models(self, key: str) -> bool:
        """Whether a condition on `key` is evaluated (else it counts as met)."""
        key = key.lower()
        return key in MODELLED_KEYS or (self.resource_tags_known and key.startswith(RESOURCE_TAG_PREFIXES))

    def value(self, key: str) -> str | None:
        return self.get(key.lower())


@dataclass(frozen=True)
class Principal:
    """Who makes the request, as a trust policy's Principal element sees it."""

    arns: tuple[str, ...]  # the user ARN; or the session ARN and the role ARN
    account: str

    def matches(self, element: Any) -> bool:
        if element == "*":
            return True
        if not isinstance(element, dict):
            return False  # Service/Federated-only principals never name an IAM user or role session
        wanted = element.get("AWS", [])
        for value in [wanted] if isinstance(wanted, str) else wanted:
            if value == "*" or value in self.arns:
                return True
            if value == self.account or re.fullmatch(rf"arn:[\w-]+:iam::{self.account}:root", value):
                return True
        return False


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _as_text(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def _resolve(variable: str, context: RequestContext) -> str | None:
    name, _, default = variable.partition(",")
    name = name.strip()
    if name in _ESCAPES:
        return _ESCAPES[name]
    found = context.value(name)
    if found is not None:
        return found
    default = default.strip()
    if len(default) >= 2 and default[0] == default[-1] == "'":
        return default[1:-1]
    return None


def _pattern(expected: str, context: RequestContext, substitute: bool, wildcards: bool,
             ignore_case: bool = False) -> re.Pattern[str] | None:
    """The regex for one policy value: variables substituted as literal text, `*`/`?` as wildcards when
    `wildcards`. None when a variable cannot be resolved (IAM: that value matches nothing)."""
    parts: list[str] = []
    position = 0
    for found in _VARIABLE.finditer(expected) if substitute else ():
        parts.extend(_literal_or_wild(expected[position:found.start()], wildcards))
        resolved = _resolve(found.group(1), context)
        if resolved is None:
            return None
        parts.append(re.escape(resolved))
        position = found.end()
    parts.extend(_literal_or_wild(expected[position:], wildcards))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _literal_or_wild(text: str, wildcards: bool) -> Iterable[str]:
    for char in text:
        if wildcards and char == "*":
            yield ".*"
        elif wildcards and char == "?":
            yield "."
        else:
            yield re.escape(char)


def _parse_date(text: str) -> datetime | None:
    text = text.strip()
    try:
        if re.fullmatch(r"-?\d+(\.\d+)?", text):
            return datetime.fromtimestamp(float(text), timezone.utc)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except (ValueError, OverflowError, OSError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _string_match(ignore_case: bool, wildcards: bool) -> Callable[[str, str, RequestContext, bool], bool]:
    def match(actual: str, expected: str, context: RequestContext, substitute: bool) -> bool:
        pattern = _pattern(expected, context, substitute, wildcards, ignore_case)
        return pattern is not None and pattern.fullmatch(actual) is not None
    return match


def _arn_match(actual: str, expected: str, context: RequestContext, substitute: bool) -> bool:
    # IAM compares the six colon-separated parts one by one, each with * and ? wildcards.
    actual_parts, expected_parts = actual.split(":", 5), expected.split(":", 5)
    if len(actual_parts) != 6 or len(expected_parts) != 6:
        return False
    for have, want in zip(actual_parts, expected_parts):
        pattern = _pattern(want, context, substitute, wildcards=True)
        if pattern is None or pattern.fullmatch(have) is None:
            return False
    return True


def _date_match(compare: Callable[[datetime, datetime], bool]) -> Callable[[str, str, RequestContext, bool], bool]:
    def match(actual: str, expected: str, _context: RequestContext, _substitute: bool) -> bool:
        have, want = _parse_date(actual), _parse_date(expected)  # no policy variables in Date operators
        return have is not None and want is not None and compare(have, want)
    return match


# name -> (matcher, negated, takes policy variables)
_OPERATORS: dict[str, tuple[Callable[[str, str, RequestContext, bool], bool], bool, bool]] = {
    "stringequals": (_string_match(False, False), False, True),
    "stringnotequals": (_string_match(False, False), True, True),
    "stringequalsignorecase": (_string_match(True, False), False, True),
    "stringnotequalsignorecase": (_string_match(True, False), True, True),
    "stringlike": (_string_match(False, True), False, True),
    "stringnotlike": (_string_match(False, True), True, True),
    "arnequals": (_arn_match, False, True),
    "arnlike": (_arn_match, False, True),
    "arnnotequals": (_arn_match, True, True),
    "arnnotlike": (_arn_match, True, True),
    "dateequals": (_date_match(lambda a, b: a == b), False, False),
    "datenotequals": (_date_match(lambda a, b: a == b), True, False),
    "datelessthan": (_date_match(lambda a, b: a < b), False, False),
    "datelessthanequals": (_date_match(lambda a, b: a <= b), False, False),
    "dategreaterthan": (_date_match(lambda a, b: a > b), False, False),
    "dategreaterthanequals": (_date_match(lambda a, b: a >= b), False, False),
}


def _one_condition_met(operator: str, key: str, expected: Any, context: RequestContext, version: str) -> bool:
    name = operator.lower()
    if ":" in name or not context.models(key):
        return True  # ForAnyValue:/ForAllValues: or a key we do not model: moto's old behaviour (met)
    actual = context.value(key)
    values = [_as_text(value) for value in _as_list(expected)]
    if name == "null":
        return any((actual is None) == (value.lower() == "true") for value in values)
    if_exists = name.endswith("ifexists")
    spec = _OPERATORS.get(name[: -len("ifexists")] if if_exists else name)
    if spec is None:
        return True  # an operator we do not model (Numeric*, Bool, IpAddress...): moto's old behaviour (met)
    matcher, negated, takes_variables = spec
    if actual is None:
        return if_exists or negated
    substitute = takes_variables and version == "2012-10-17"
    matched = any(matcher(actual, value, context, substitute) for value in values)
    return not matched if negated else matched


def conditions_met(condition: Mapping[str, Any] | None, context: Mapping[str, str],
                   version: str = "2012-10-17") -> bool:
    """Whether a statement's Condition element holds for a request: every operator and key (AND), any of a
    key's values (OR)."""
    request = context if isinstance(context, RequestContext) else RequestContext(context)
    for operator, keys in (condition or {}).items():
        for key, expected in keys.items():
            if not _one_condition_met(operator, key, expected, request, version):
                return False
    return True


def _element_matches(statement: Mapping[str, Any], element: str, value: str) -> bool:
    from moto.iam.access_control import IAMPolicyStatement  # moto's own Action/Resource matching

    return IAMPolicyStatement(statement)._check_element_matches(element, value)


def statement_applies(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str],
                      principal: Principal | None = None, version: str = "2012-10-17") -> bool:
    """Whether a statement is about this request: action, resource, principal (when the policy names one and
    one is given) and its conditions all match."""
    if "NotAction" in statement:
        if _element_matches(statement, "NotAction", action):
            return False
    elif "Action" not in statement or not _element_matches(statement, "Action", action):
        return False
    if "Resource" in statement and not _element_matches(statement, "Resource", resource):
        return False
    if "NotResource" in statement and _element_matches(statement, "NotResource", resource):
        return False
    if principal is not None and "Principal" in statement and not principal.matches(statement["Principal"]):
        return False
    return conditions_met(statement.get("Condition"), context, version)


def policy_decision(document: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str],
                    principal: Principal | None = None) -> str:
    """One policy's verdict: ExplicitlyDenied if a Deny applies, Allowed if an Allow does, else neutral."""
    version = str(document.get("Version", "2008-10-17"))
    allowed = False
    for statement in _as_list(document.get("Statement", [])):
        if statement_applies(statement, action, resource, context, principal, version):
            if statement.get("Effect") == "Deny":
                return EXPLICIT_DENY
            allowed = allowed or statement.get("Effect") == "Allow"
    return ALLOWED if allowed else IMPLICIT_DENY


def evaluate(identity_policies: Iterable[Mapping[str, Any]], action: str, resource: str,
             context: Mapping[str, str], trust_policy: Mapping[str, Any] | None = None,
             principal: Principal | None = None) -> str:
    """The decision for a request: "Allowed", "ImplicitlyDenied" or "ExplicitlyDenied". With a trust policy
    (sts:AssumeRole), both the identity policies and the trust policy must allow."""
    request = context if isinstance(context, RequestContext) else RequestContext(context)
    verdicts = [policy_decision(document, action, resource, request) for document in identity_policies]
    if EXPLICIT_DENY in verdicts:
        return EXPLICIT_DENY
    allowed = ALLOWED in verdicts
    if trust_policy is not None:
        trusted = policy_decision(trust_policy, action, resource, request, principal)
        if trusted == EXPLICIT_DENY:
            return EXPLICIT_DENY
        allowed = allowed and trusted == ALLOWED
    return ALLOWED if allowed else IMPLICIT_DENY


# -------------------------------------------------------------------------------- moto, inside the child

def _parameter(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return None if value is None else str(value)


def _request_context(request: Any) -> tuple[RequestContext, Principal] | None:
    """The condition keys and principal of a request moto is checking (an `IAMRequestBase`); None when the
    session's role no longer exists (IAM refuses such a session)."""
    from moto.iam.access_control import AssumedRoleAccessKey
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    key = request._access_key
    account, partition = key.account_id, key.partition
    now = CLOCK.now()
    values = {"aws:CurrentTime": iso(now), "aws:EpochTime": str(int(now.timestamp())),
              "aws:PrincipalAccount": account}
    if isinstance(key, AssumedRoleAccessKey):
        session = sts_backends[account][partition].get_assumed_role_from_access_key(key._access_key_id)
        try:
            role = iam_backends[account][partition].get_role(key._owner_role_name)
        except NotFoundException:
            return None
        values.update({"aws:userid": f"{role.id}:{key._session_name}", "aws:PrincipalArn": role.arn,
                       "aws:PrincipalType": "AssumedRole"})
        issued = getattr(session, "issued_at", None)
        if issued is not None:
            values["aws:TokenIssueTime"] = iso(issued)
        principal = Principal((key.arn, role.arn), account)
    else:
        user = iam_backends[account][partition].get_user(key._owner_user_name)
        values.update({"aws:userid": user.id, "aws:username": user.name, "aws:PrincipalArn": user.arn,
                       "aws:PrincipalType": "User"})
        principal = Principal((user.arn,), account)
    if request._action == "sts:AssumeRole":
        for parameter, condition_key in (("RoleSessionName", "sts:RoleSessionName"),
                                         ("ExternalId", "sts:ExternalId")):
            given = _parameter(request._data, parameter)
            if given is not None:
                values[condition_key] = given
    return RequestContext(values), principal


def role_by_arn(arn: str, partition: str) -> Any:
    """moto's Role named by `arn`, read in the role's own account; None if `arn` names no role of the world."""
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    account = re.match(r"arn:[\w-]+:iam::(\d{12}):role/", arn)
    if account is None or account.group(1) not in iam_backends:
        return None
    try:
        return iam_backends[account.group(1)][partition].get_role_by_arn(arn)
    except NotFoundException:
        return None


def _check_action_permitted(self: Any, resource: str) -> None:
    """Replaces moto's `IAMRequestBase.check_action_permitted` (patched point 1)."""
    if self._action == "sts:GetCallerIdentity":
        return  # always allowed, even under an explicit Deny (as in IAM)
    request = _request_context(self)
    if request is None:
        self._raise_access_denied()
        return
    context, principal = request
    identity = iam_propagation.identity_policies(self._access_key, CLOCK.now())  # as of the propagation delay ago
    role = role_by_arn(resource, self._access_key.partition)  # the resource, when it is a role
    if role is not None:
        context = RequestContext(context, resource_tags={tag["Key"]: tag["Value"] for tag in role.tags})
    trust: dict[str, Any] | None = None
    if self._action == "sts:AssumeRole":
        if role is None:
            self._raise_access_denied()  # IAM refuses to assume a role that does not exist
        trust = json.loads(role.assume_role_policy_document)
    if evaluate(identity, self._action, resource, context, trust, principal) != ALLOWED:
        self._raise_access_denied()


def _record_issue_time(original: Callable[..., None]) -> Callable[..., None]:
    """Wraps `AssumedRole.__init__` (patched point 2)."""
    signature = inspect.signature(original)

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        issued = CLOCK.now()
        original(self, *args, **kwargs)
        duration = int(signature.bind(self, *args, **kwargs).arguments["duration"])
        self.issued_at = issued
        self.expiration = issued.replace(tzinfo=None) + timedelta(seconds=duration)  # moto's are naive UTC

    return init


def _refuse_expired_sessions(original: Callable[..., None]) -> Callable[..., None]:
    """Wraps `AssumedRoleAccessKey.__init__` (patched point 4)."""
    from moto.core.exceptions import _RESTError
    from moto.s3.exceptions import S3ClientError
    from moto.sts.models import sts_backends

    class ExpiredToken(_RESTError):
        code = 403

        def __init__(self) -> None:
            super().__init__("ExpiredToken", "The security token included in the request is expired")

    def init(self: Any, account_id: str, partition: str, access_key_id: str, headers: dict[str, str]) -> None:
        original(self, account_id, partition, access_key_id, headers)
        session = sts_backends[account_id][partition].get_assumed_role_from_access_key(access_key_id)
        expiration = getattr(session, "expiration", None)
        if expiration is not None and expiration <= CLOCK.now().replace(tzinfo=None):
            if "/s3/aws4_request" in headers.get("Authorization", ""):  # S3's own error shape and wording
                raise S3ClientError("ExpiredToken", "The provided token has expired.")
            raise ExpiredToken()

    return init


def _refuse_deleting_policies_in_use(original: Callable[..., None]) -> Callable[..., None]:
    """Wraps `IAMBackend.delete_policy` (patched point 5)."""
    from moto.iam.exceptions import DeleteConflictException

    def delete_policy(self: Any, policy_arn: str) -> None:
        policy = self.get_policy(policy_arn)  # NoSuchEntity first, as IAM answers
        holders = [*self.users.values(), *self.roles.values(), *self.groups.values()]
        if any(policy.arn in holder.managed_policies for holder in holders):  # moto's attachment_count drifts
            raise DeleteConflictException("Cannot delete a policy attached to entities.")
        if len(policy.versions) > 1:
            raise DeleteConflictException("This policy has more than one version. Before you delete a policy, you "
                                          "must delete the policy's versions. The default version is deleted with "
                                          "the policy.")
        original(self, policy_arn)

    return delete_policy


def _respond(start_response: Callable[..., Any], status: str, body: dict[str, Any]) -> list[bytes]:
    payload = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]


def _posted_number(environ: Mapping[str, Any], name: str) -> float | bytes:
    """The number `name` of a POSTed JSON body, or the raw body when it holds none."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw: bytes = environ["wsgi.input"].read(length) if length else b""
    try:
        value = json.loads(raw or b"null")[name]
    except (ValueError, TypeError, KeyError):
        return raw
    return raw if isinstance(value, bool) or not isinstance(value, (int, float)) else float(value)


def _clock_route(environ: Mapping[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    if environ.get("REQUEST_METHOD") == "POST":
        offset = _posted_number(environ, "offset_seconds")
        if isinstance(offset, bytes):
            return _respond(start_response, "400 Bad Request", {
                "Error": f'{CLOCK_PATH} wants a JSON body {{"offset_seconds": <number>}}, got {offset[:200]!r}'})
        CLOCK.set_offset(offset)
        iam_propagation.TIMELINE.clock_moved(CLOCK.now())
    return _respond(start_response, "200 OK", {"offset_seconds": CLOCK.offset_seconds, "now": iso(CLOCK.now())})


def _propagation_route(environ: Mapping[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    if environ.get("REQUEST_METHOD") == "POST":
        seconds = _posted_number(environ, "seconds")
        if isinstance(seconds, bytes) or not 0 <= seconds < float("inf"):
            return _respond(start_response, "400 Bad Request", {
                "Error": f'{iam_propagation.PROPAGATION_PATH} wants a JSON body {{"seconds": <0 or more>}}, '
                         f"got {seconds[:200] if isinstance(seconds, bytes) else seconds!r}"})
        iam_propagation.TIMELINE.set_delay(seconds, CLOCK.now())
    return _respond(start_response, "200 OK", {"seconds": iam_propagation.TIMELINE.delay.total_seconds()})


def _with_world_routes(dispatch: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps `DomainDispatcherApplication.__call__` (patched point 3)."""

    def call(self: Any, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == CLOCK_PATH:
            return _clock_route(environ, start_response)
        if path == iam_propagation.PROPAGATION_PATH:
            return _propagation_route(environ, start_response)
        if path == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
            CLOCK.set_offset(0)
            iam_propagation.reset()
        return dispatch(self, environ, start_response)

    return call


_installed = False


def install() -> None:
    """Patches moto (in this process) to evaluate conditions and trust as above. Idempotent."""
    global _installed
    if _installed:
        return
    from moto.iam.access_control import AssumedRoleAccessKey, IAMRequestBase
    from moto.iam.models import IAMBackend
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication
    from moto.sts.models import AssumedRole

    IAMRequestBase.check_action_permitted = _check_action_permitted  # type: ignore[method-assign]
    AssumedRole.__init__ = _record_issue_time(AssumedRole.__init__)  # type: ignore[method-assign]
    AssumedRoleAccessKey.__init__ = _refuse_expired_sessions(  # type: ignore[method-assign]
        AssumedRoleAccessKey.__init__)
    IAMBackend.delete_policy = _refuse_deleting_policies_in_use(  # type: ignore[method-assign]
        IAMBackend.delete_policy)
    DomainDispatcherApplication.__call__ = _with_world_routes(  # type: ignore[method-assign]
        DomainDispatcherApplication.__call__)
    iam_propagation.install(CLOCK.now)
    _installed = True
