"""PagerDuty's REST API v2, the one call the broker makes: who is on call now (`GET /oncalls`) in some schedules.

One lookup asks afresh (no cache: rotas change at handover), follows `more`/`offset` pages, and stays within one
time budget for all of them. Whatever goes wrong (no token, no answer in time, non-2xx, not JSON, an odd shape) is a
LookupFailed with a short reason, never an exception and never a retry: the request then goes to people.
stdlib only, imported on first use: no cost on the cold path."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Sequence

from chalicelib.domain.on_call import Lookup, LookupFailed, NotOnCall, OnCallNow
from chalicelib.domain.times import rfc3339

DEFAULT_API_URL = "https://api.pagerduty.com"
ACCEPT = "application/vnd.pagerduty+json;version=2"
BUDGET_S = 2.0  # the whole lookup, every page included
PAGE_SIZE = 100  # PagerDuty's largest page
MAX_PAGES = 20  # 2,000 on-call entries: far beyond any real set of schedules; more is a broken `more`


class TokenUnavailable(Exception):
    """The token could not be read; the message names where it was looked for, never a value."""


@dataclass
class PagerDuty:
    """`token` is called on each lookup (the caller caches it if it wants); `clock` gives `since`/`until`."""
    token: Callable[[], str]
    clock: Callable[[], datetime]
    api_url: str = DEFAULT_API_URL
    budget_s: float = BUDGET_S

    def on_call(self, email: str, schedules: Sequence[str]) -> Lookup:
        """Whether the person with `email` (compared without case) is on call now in one of `schedules`."""
        deadline = time.monotonic() + self.budget_s
        try:
            token = self.token()
        except TokenUnavailable as exc:
            return LookupFailed(f"no PagerDuty token: {exc}"[:300])
        now = rfc3339(self.clock())  # one instant for since and until: PagerDuty answers who is on call at it
        query = [("schedule_ids[]", s) for s in schedules] + [
            ("include[]", "users"), ("since", now), ("until", now), ("limit", str(PAGE_SIZE))]
        wanted, without_email, offset = email.casefold(), 0, 0
        for _ in range(MAX_PAGES):
            page = self._get("/oncalls", [*query, ("offset", str(offset))], token, deadline)
            if isinstance(page, LookupFailed):
                return page
            entries = page.get("oncalls")
            if not isinstance(entries, list):
                return LookupFailed("PagerDuty's answer has no oncalls list")
            found, unmatched = _match(entries, schedules, wanted)
            if found is not None:
                return found
            without_email += unmatched
            if page.get("more") is not True:
                return NotOnCall(without_email)
            if not entries:
                return LookupFailed("PagerDuty said more on-calls follow but sent an empty page")
            limit = page.get("limit")
            offset += limit if isinstance(limit, int) and limit > 0 else len(entries)
        return LookupFailed(f"PagerDuty kept saying more after {MAX_PAGES} pages")

    def _get(self, path: str, query: list[tuple[str, str]], token: str,
             deadline: float) -> dict[str, Any] | LookupFailed:
        import http.client
        import socket
        import urllib.error
        import urllib.request
        from urllib.parse import urlencode

        left = deadline - time.monotonic()
        if left <= 0:
            return self._late()
        try:
            request = urllib.request.Request(f"{self.api_url.rstrip('/')}{path}?{urlencode(query)}", headers={
                "Authorization": f"Token token={token}", "Accept": ACCEPT, "User-Agent": "access-broker"})
            with _opener().open(request, timeout=left) as response:
                body = response.read(4 * 1024 * 1024)
        except urllib.error.HTTPError as exc:
            return LookupFailed(_http_failure(exc))
        except (socket.timeout, TimeoutError):
            return self._late()
        # refused, DNS, TLS, a malformed URL (no scheme: ValueError; a port not a number: http.client's InvalidURL),
        # an answer cut short or not HTTP (http.client's IncompleteRead, BadStatusLine)
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, (socket.timeout, TimeoutError)):
                return self._late()
            return LookupFailed(f"cannot reach PagerDuty: {reason}"[:300])
        if time.monotonic() > deadline:  # a slow trickle: each read was in time, the whole was not
            return self._late()
        try:
            decoded = json.loads(body)
        except ValueError:
            return LookupFailed("PagerDuty's answer is not JSON")
        if not isinstance(decoded, dict):
            return LookupFailed("PagerDuty's answer is not a JSON object")
        return decoded

    def _late(self) -> LookupFailed:
        return LookupFailed(f"no answer from PagerDuty within {self.budget_s:g} s")


def _match(entries: list[Any], schedules: Sequence[str], wanted: str) -> tuple[OnCallNow | None, int]:
    """The entry of one page whose email is `wanted` (casefolded), and how many on-call people had no email."""
    without_email = 0
    for entry in entries:
        found = _entry(entry, schedules)
        if found is not None and not found.email:
            without_email += 1
        elif found is not None and found.email.casefold() == wanted:
            return found, without_email
    return None, without_email


def _entry(entry: Any, schedules: Sequence[str]) -> OnCallNow | None:
    """An on-call entry of one of `schedules` as (schedule, user id, email); email "" when PagerDuty gave none.
    Entries of other schedules (or none: an escalation rule naming a user directly) do not count."""
    if not isinstance(entry, dict):
        return None
    schedule, user = entry.get("schedule"), entry.get("user")
    if not isinstance(schedule, dict) or schedule.get("id") not in schedules or not isinstance(user, dict):
        return None
    email = user.get("email")
    return OnCallNow(str(schedule["id"]), str(user.get("id", "")), email if isinstance(email, str) else "")


def _http_failure(exc: Any) -> str:
    """`PagerDuty answered 404: Not Found`, with PagerDuty's own message ({"error": {"message", "code"}}) if any."""
    status = exc.code
    try:
        error = json.loads(exc.read(64 * 1024)).get("error") or {}
        message = f": {error['message']}" if isinstance(error.get("message"), str) else ""
        code = f" (code {error['code']})" if isinstance(error.get("code"), int) else ""
    except (ValueError, AttributeError, OSError):
        message = code = ""
    hint = {401: " (the token is refused)", 403: " (the token may not read on-calls)",
            404: " (an unknown schedule?)"}.get(status, "")
    if status == 429:
        after = exc.headers.get("Retry-After") if exc.headers else None
        hint = " (rate limited" + (f"; retry after {after} s" if after else "") + ")"
    return f"PagerDuty answered {status}{message}{code}{hint}"[:300]


def _opener() -> Any:
    """urllib without redirects: a redirect would carry the token to wherever it points."""
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    return urllib.request.build_opener(NoRedirect)
