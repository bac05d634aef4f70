"""The access-broker HTTP API, every call signed with SigV4 (service `execute-api`) from the standard AWS credential
chain. botocore is imported on the first call only, so `--help` and usage errors start fast."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any, Dict, Optional
from urllib.parse import quote, urljoin, urlsplit

from access_broker_cli import __version__, checks
from access_broker_cli.errors import ApiError, Refused, Unreachable, UsageError
from access_broker_cli.terminal import one_line

SERVICE = "execute-api"
DEFAULT_REGION = "us-east-1"
TIMEOUT_S = 30
_API_GATEWAY_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


class Api:
    def __init__(self, base_url: str) -> None:
        try:
            checks.url(base_url, "the API URL")
        except ValueError as exc:
            raise UsageError(f"{exc}; pass --url or set ACCESS_BROKER_URL to something like "
                             "https://abc123.execute-api.eu-west-1.amazonaws.com/api") from None
        self.base_url = base_url.rstrip("/")
        self._session: Any = None

    # -- the AWS side: who signs

    @property
    def session(self) -> Any:
        """botocore's session: the standard credential chain (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE, ...)."""
        if self._session is None:
            import botocore.session

            self._session = botocore.session.Session()
        return self._session

    def credentials(self) -> Any:
        from botocore.exceptions import BotoCoreError

        try:
            found = self.session.get_credentials()
        except BotoCoreError as exc:
            raise UsageError(f"cannot load AWS credentials: {exc}") from None
        if found is None:
            raise UsageError("no AWS credentials found: set AWS_PROFILE to a profile in your AWS config or "
                             "credentials file (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
        return found

    def region(self) -> str:
        """The API's region: from an API Gateway host name, else the AWS configuration, else us-east-1."""
        matched = _API_GATEWAY_HOST.search(urlsplit(self.base_url).hostname or "")
        if matched:
            return matched.group(1)
        return self.session.get_config_variable("region") or DEFAULT_REGION

    # -- calls

    def get(self, path: str, query: Optional[Dict[str, str]] = None) -> Any:
        return self.call("GET", path, query=query)

    def post(self, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        return self.call("POST", path, body=body if body is not None else {})

    def call(self, method: str, path: str, body: Any = None, query: Optional[Dict[str, str]] = None) -> Any:
        url = self.base_url + path
        if query:
            # Already in SigV4's canonical encoding, so API Gateway and botocore see the same query string.
            url += "?" + "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in query.items())
        data = None if body is None else json.dumps(body).encode()
        headers = self._signed_headers(method, url, data)
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise _api_error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreachable(f"cannot reach the API at {self.base_url}: {reason}") from None
        return json.loads(raw) if raw.strip() else None

    def absolute(self, link: str) -> str:
        """A link the API returned, made absolute against the API's URL (the local stage returns paths), and
        checked like the API's own URL (it may be opened in a browser)."""
        absolute = link if urlsplit(link).scheme else urljoin(self.base_url + "/", link.lstrip("/"))
        try:
            return checks.url(absolute, "the link the API gave")
        except ValueError as exc:
            raise Refused(str(exc)) from None

    def _signed_headers(self, method: str, url: str, data: Optional[bytes]) -> Dict[str, str]:
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        headers = {"Accept": "application/json", "User-Agent": f"access-broker-cli/{__version__}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = AWSRequest(method=method, url=url, data=data, headers=headers)
        SigV4Auth(self.credentials().get_frozen_credentials(), SERVICE, self.region()).add_auth(request)
        return dict(request.headers.items())


def _api_error(exc: urllib.error.HTTPError) -> Exception:
    """The API's own words: problem+json's `detail`, or API Gateway's `message`."""
    raw = exc.read() or b""
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    detail = None
    if isinstance(body, dict):
        detail = body.get("detail") or body.get("message") or body.get("Message") or body.get("title")
    detail = one_line(str(detail or raw.decode("utf-8", "replace").strip()[:300] or exc.reason))
    if exc.code >= 500:
        return Unreachable(f"the API failed ({exc.code}): {detail}", body)
    return ApiError(exc.code, detail, body)
