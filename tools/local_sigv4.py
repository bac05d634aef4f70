"""API Gateway's IAM authorizer, for the local stage: checks a request's SigV4 signature (service `execute-api`)
against the access keys the local AWS world holds, and names the caller as API Gateway would.

Secrets come from moto's server (its `/moto-api/data.json`: IAM users' keys and STS sessions); who owns a key, and
whether it still works (deleted, or a session past its end on the world's clock: tools/moto_conditions.py), is asked
of moto itself (sts:GetCallerIdentity signed with that key). Every signature is computed by botocore's signer; nothing
here does crypto of its own.

Refused as API Gateway refuses them (403, `{"message": ...}`, `x-amzn-ErrorType`): a bad or stale signature, a
signature scoped to another service or another region than the API's, a body other than the one whose hash was signed
(`x-amz-content-sha256`), an unknown key, a temporary (ASIA) key without its session token, and an expired session."""
from __future__ import annotations

import hmac
import json
import os
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping, Protocol
from urllib.parse import parse_qs, urlsplit

SERVICE = "execute-api"
SKEW = timedelta(minutes=5)  # API Gateway's window, both ways
ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE = "%Y%m%dT%H%M%SZ"
STS_NS = {"sts": "https://sts.amazonaws.com/doc/2011-06-15/"}

# API Gateway's own wording, so a client sees here what it will see deployed.
BAD_SIGNATURE = ("The request signature we calculated does not match the signature you provided. Check your AWS "
                 "Secret Access Key and signing method. Consult the service documentation for details.")
UNKNOWN_KEY = "The security token included in the request is invalid."
EXPIRED_TOKEN = "The security token included in the request is expired"
DEFAULT_REGION = "us-east-1"  # the local world's (tools/world.py REGION)


class Refused(Exception):
    """The request gets API Gateway's 403: `{"message": ...}` with an `x-amzn-ErrorType` header."""

    def __init__(self, message: str, error_type: str = "InvalidSignatureException") -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type


class WorldUnavailable(Exception):
    """moto's server did not answer: the request gets a 500, as API Gateway answers when its authorizer fails."""


@dataclass(frozen=True)
class Identity:
    """The caller as API Gateway puts it in `requestContext.identity`."""
    arn: str
    account: str
    user_id: str
    access_key: str

    def context(self) -> dict[str, str]:
        return {"userArn": self.arn, "accountId": self.account, "user": self.user_id, "caller": self.user_id,
                "accessKey": self.access_key}


def api_region() -> str:
    """The region the API serves in, as its Lambdas see it: AWS_REGION, else AWS_DEFAULT_REGION, else the world's."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


@dataclass(frozen=True)
class Secret:
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def is_signed(headers: Mapping[str, str], raw_path: str) -> bool:
    """Whether the request tries to carry a signature (headers lowercased): such a request is identified by it
    or refused, never by `X-Local-Principal`."""
    query = parse_qs(urlsplit(raw_path).query, keep_blank_values=True)
    return "authorization" in headers or any(name.lower() == "x-amz-signature" for name in query)


class WorldKeys:
    """Access keys of the local world: secrets read from moto's server (cached: a key's secret never changes),
    owners asked of moto on every request (a deleted key stops working at once)."""

    def __init__(self, endpoint: Callable[[], str | None] = lambda: os.environ.get("AWS_ENDPOINT_URL")) -> None:
        self._endpoint = endpoint
        self._secrets: dict[str, Secret] = {}
        self._lock = threading.Lock()

    def secret(self, key_id: str) -> Secret | None:
        with self._lock:
            if key_id not in self._secrets:
                self._secrets = self._read_secrets()
            return self._secrets.get(key_id)

    def owner(self, key_id: str, secret: Secret, region: str) -> Identity | None:
        """sts:GetCallerIdentity signed with the key: moto says whose it is, or that it is no longer valid."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        request = AWSRequest(method="POST", url=self._world() + "/",
                             data=b"Action=GetCallerIdentity&Version=2011-06-15",
                             headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        credentials = Credentials(key_id, secret.secret_access_key, secret.session_token)
        SigV4Auth(credentials, "sts", region).add_auth(request)
        sent = urllib.request.Request(request.url, data=request.body, method="POST", headers=dict(request.headers))
        try:
            with urllib.request.urlopen(sent, timeout=10) as response:
                found = ElementTree.fromstring(response.read()).find("sts:GetCallerIdentityResult", STS_NS)
        except urllib.error.HTTPError as exc:
            if exc.code in (400, 403):  # moto does not know the key (any more), or the session has ended
                if _error_code(exc.read()) == "ExpiredToken":
                    raise Refused(EXPIRED_TOKEN, "ExpiredTokenException") from None
                return None
            raise WorldUnavailable(f"the local AWS world answered {exc.code} to GetCallerIdentity") from None
        except OSError as exc:
            raise WorldUnavailable(f"the local AWS world at {self._world()} did not answer: {exc}") from None
        if found is None:
            return None
        value = {name: found.findtext(f"sts:{name}", "", STS_NS) for name in ("Arn", "Account", "UserId")}
        return Identity(value["Arn"], value["Account"], value["UserId"], key_id)

    def _read_secrets(self) -> dict[str, Secret]:
        try:
            keys_and_sessions = self._world() + "/moto-api/data.json?service=iam&service=sts"  # tools/moto_dump.py
            with urllib.request.urlopen(keys_and_sessions, timeout=10) as response:
                models: dict[str, Any] = json.loads(response.read())
        except OSError as exc:  # urllib's errors included
            raise WorldUnavailable(f"the local AWS world at {self._world()} did not answer: {exc}") from None
        found = {key["access_key_id"]: Secret(key["secret_access_key"])
                 for key in models.get("iam", {}).get("AccessKey", []) if key.get("status") == "Active"}
        found.update({session["access_key_id"]: Secret(session["secret_access_key"], session["session_token"])
                      for session in models.get("sts", {}).get("AssumedRole", [])})
        return found

    def _world(self) -> str:
        endpoint = self._endpoint()
        if not endpoint:
            raise WorldUnavailable("the local server has no AWS_ENDPOINT_URL, so no local AWS world to check keys "
                                   "against")
        return endpoint.rstrip("/")


def _error_code(body: bytes) -> str:
    """The `<Code>` of an AWS query-protocol error answer, or "" when there is none."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return ""
    return next((element.text or "" for element in root.iter() if element.tag.rpartition("}")[2] == "Code"), "")


class Keys(Protocol):
    """Where `verify` finds a key's secret and asks whose it is (WorldKeys; the unit tests' stand-in)."""

    def secret(self, key_id: str) -> Secret | None: ...

    def owner(self, key_id: str, secret: Secret, region: str) -> Identity | None: ...


@dataclass(frozen=True)
class _Authorization:
    key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def verify(method: str, url: str, headers: Mapping[str, str], body: bytes | None, keys: Keys,
           now: datetime | None = None, region: str | None = None) -> Identity:
    """The caller of a SigV4-signed request to the API in `region` (default: api_region()), or Refused with API
    Gateway's message. `headers` lowercased."""
    if any(name.lower() == "x-amz-signature" for name in parse_qs(urlsplit(url).query, keep_blank_values=True)):
        raise Refused("the local stage checks SigV4 in the Authorization header only; sign the request's headers, "
                      "not its query string", "IncompleteSignatureException")
    auth = _parse(headers.get("authorization", ""), headers.get("x-amz-date"))
    stamp = headers["x-amz-date"]
    when = _timestamp(stamp)
    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)
    if when < now - SKEW:
        raise Refused(f"Signature expired: {stamp} is now earlier than {(now - SKEW).strftime(AMZ_DATE)} "
                      f"({now.strftime(AMZ_DATE)} - 5 min.)")
    if when > now + SKEW:
        raise Refused(f"Signature not yet current: {stamp} is still later than {(now + SKEW).strftime(AMZ_DATE)} "
                      f"({now.strftime(AMZ_DATE)} + 5 min.)")
    if auth.date != stamp[:8]:
        raise Refused(f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
                      f"'{auth.date}' != '{stamp[:8]}', from '{stamp}'.")
    wrong_scope = ""  # API Gateway names both when both are wrong
    if auth.region != (region or api_region()):
        wrong_scope += f"Credential should be scoped to a valid region, not '{auth.region}'. "
    if auth.service != SERVICE:
        wrong_scope += f"Credential should be scoped to correct service: '{SERVICE}'. "
    if wrong_scope:
        raise Refused(wrong_scope)
    secret = keys.secret(auth.key_id)
    if secret is None or secret.session_token != headers.get("x-amz-security-token"):
        raise Refused(UNKNOWN_KEY, "UnrecognizedClientException")  # a session's key without its token included
    if not hmac.compare_digest(_expected_signature(method, url, headers, body, auth, secret), auth.signature):
        raise Refused(BAD_SIGNATURE)
    identity = keys.owner(auth.key_id, secret, auth.region)
    if identity is None:
        raise Refused(UNKNOWN_KEY, "UnrecognizedClientException")
    return identity


def _parse(value: str, amz_date: str | None) -> _Authorization:
    algorithm, _, rest = value.strip().partition(" ")
    parts = dict(p.strip().partition("=")[::2] for p in rest.split(",") if "=" in p)
    missing = [f"Authorization header requires '{name}' parameter." for name in ("Credential", "Signature",
                                                                                  "SignedHeaders")
               if not parts.get(name)]
    if not amz_date:
        missing.append("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
    if algorithm != ALGORITHM or missing:
        raise Refused(" ".join(missing or [f"Unsupported signing algorithm {algorithm!r}; use {ALGORITHM}."])
                      + f" Authorization={algorithm}", "IncompleteSignatureException")
    scope = parts["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise Refused(f"Credential should be scoped to a valid region, service and 'aws4_request'; got "
                      f"{'/'.join(scope[1:])!r}.", "IncompleteSignatureException")
    return _Authorization(scope[0], scope[1], scope[2], scope[3], tuple(parts["SignedHeaders"].split(";")),
                          parts["Signature"])


def _timestamp(stamp: str) -> datetime:
    try:
        return datetime.strptime(stamp, AMZ_DATE).replace(tzinfo=timezone.utc)
    except ValueError:
        raise Refused(f"X-Amz-Date {stamp!r} must be in the form {AMZ_DATE} (UTC)",
                      "IncompleteSignatureException") from None


def _expected_signature(method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                        auth: _Authorization, secret: Secret) -> str:
    """What botocore's signer computes for this request with the key's secret, over the headers the client signed."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    if any(name not in headers for name in auth.signed_headers) or "host" not in auth.signed_headers:
        raise Refused(BAD_SIGNATURE)
    request = AWSRequest(method=method, url=url, data=body or b"",
                         headers={name: headers[name] for name in auth.signed_headers})
    request.context["timestamp"] = headers["x-amz-date"]
    signer = SigV4Auth(Credentials(auth.key_id, secret.secret_access_key, secret.session_token), auth.service,
                       auth.region)
    declared = request.headers.get("x-amz-content-sha256")
    if declared is not None:  # botocore signs the declared hash: the body must be the one it declares
        del request.headers["x-amz-content-sha256"]
        body_hash = signer.payload(request)
        request.headers["x-amz-content-sha256"] = declared
        if declared != body_hash:
            raise Refused(BAD_SIGNATURE)
    canonical = signer.canonical_request(request)
    if signer.signed_headers(signer.headers_to_sign(request)) != ";".join(auth.signed_headers):
        raise Refused(BAD_SIGNATURE)  # a header botocore never signs, or names out of order
    signature: str = signer.signature(signer.string_to_sign(request, canonical), request)
    return signature
