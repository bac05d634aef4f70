"""The JSON API for people and internal tools: /v1/..."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from chalice import Blueprint, IAMAuthorizer, Response

from chalicelib import bootstrap
from chalicelib.access_rules import comment_of
from chalicelib.domain.errors import InvalidInput, NotFound, quote
from chalicelib.domain.ids import is_request_id
from chalicelib.domain.requests import State
from chalicelib.domain.times import rfc3339
from chalicelib.ports import IdempotencyClaim
from chalicelib.routes import cursors
from chalicelib.routes.http import caller, json_body, json_response, routes
from chalicelib.routes.openapi import openapi_document
from chalicelib.routes.views import event_view, request_view

if TYPE_CHECKING:
    from collections.abc import Mapping

api = Blueprint(__name__)
route = routes(api)
AUDIT_WINDOW = timedelta(days=31)
# A day inside the calendar's ends, so that a window's arithmetic (a day before `until`) never leaves it
EARLIEST, LATEST = datetime(1, 1, 2, tzinfo=timezone.utc), datetime(9999, 12, 30, tzinfo=timezone.utc)
signed = IAMAuthorizer()  # deployed stages: API Gateway checks SigV4 before the Lambda runs


@route("/v1/health")
def health() -> Response:
    return json_response({"ok": True})


@route("/v1/openapi.json")
def openapi() -> Response:
    return json_response(openapi_document())


@route("/v1/profiles", authorizer=signed)
def profiles() -> Response:
    who = caller(api)
    return json_response({"profiles": [
        {"name": p.name, "display_name": p.display_name, "account": p.account, "role_arn": p.role_arn,
         "default_duration_seconds": p.default_duration, "min_duration_seconds": p.min_duration,
         "max_duration_seconds": p.max_duration, "approvals_required": p.approvals_required,
         "break_glass": p.break_glass}
        for p in bootstrap.broker().profiles_for(who)]})


@route("/v1/requests", methods=["POST"], authorizer=signed)
def create_request() -> Response:
    who = caller(api)
    body = json_body(api, {"profile": str, "duration": str, "reason": str, "requester": str, "break_glass": bool},
                     required=("profile", "reason"))
    key = api.current_request.headers.get("idempotency-key")
    claim = None
    if key is not None:
        if not 1 <= len(key) <= 255:
            raise InvalidInput("Idempotency-Key must be 1 to 255 characters")
        fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        claim = IdempotencyClaim(who.principal, key, fingerprint)
    request = bootstrap.broker().request_access(who, body["profile"], body.get("duration"), body["reason"],
                                                requester=body.get("requester"), idempotency=claim,
                                                break_glass=body.get("break_glass") is True)
    return json_response(request_view(request), 201, {"Location": f"/v1/requests/{request.id}"})


@route("/v1/requests", authorizer=signed)
def list_requests() -> Response:
    who = caller(api)
    params: Mapping[str, str] = api.current_request.query_params or {}  # a MultiDict: the last value of each
    state = params.get("state")
    if state is not None and state not in {s.value for s in State}:
        raise InvalidInput(f"state {quote(state)} is not one of {', '.join(s.value for s in State)}")
    limit = _int(params.get("limit", "50"), "limit", 1, 200)
    page = bootstrap.broker().list(who, State(state) if state else None, mine=_flag(params, "mine"),
                                   awaiting_me=_flag(params, "awaiting_me"), limit=limit,
                                   cursor=cursors.opened(params.get("next"), _cursor_key()))
    return json_response({"requests": [request_view(r) for r in page.items],
                          "next": cursors.seal(page.next, _cursor_key())})


@route("/v1/requests/{request_id}", authorizer=signed)
def get_request(request_id: str) -> Response:
    who = caller(api)  # identity first: an anonymous call never builds the broker (nor reads its secrets)
    return json_response(request_view(bootstrap.broker().get(who, _known_id(request_id))))


@route("/v1/requests/{request_id}/events", authorizer=signed)
def request_events(request_id: str) -> Response:
    who = caller(api)
    events = bootstrap.broker().events(who, _known_id(request_id))
    return json_response({"events": [event_view(e) for e in events]})


@route("/v1/requests/{request_id}/approve", methods=["POST"], authorizer=signed)
def approve(request_id: str) -> Response:
    who, comment = caller(api), _comment()
    return json_response(request_view(bootstrap.broker().approve(who, _known_id(request_id), comment)))


@route("/v1/requests/{request_id}/deny", methods=["POST"], authorizer=signed)
def deny(request_id: str) -> Response:
    who, comment = caller(api), _comment()
    return json_response(request_view(bootstrap.broker().deny(who, _known_id(request_id), comment)))


@route("/v1/requests/{request_id}/cancel", methods=["POST"], authorizer=signed)
def cancel(request_id: str) -> Response:
    who = caller(api)
    json_body(api, {})
    return json_response(request_view(bootstrap.broker().cancel(who, _known_id(request_id))))


@route("/v1/requests/{request_id}/revoke", methods=["POST"], authorizer=signed)
def revoke(request_id: str) -> Response:
    who = caller(api)
    json_body(api, {})
    return json_response(request_view(bootstrap.broker().revoke(who, _known_id(request_id))))


@route("/v1/requests/{request_id}/extend", methods=["POST"], authorizer=signed)
def extend(request_id: str) -> Response:
    who = caller(api)
    body = json_body(api, {"duration": str}, required=("duration",))
    return json_response(request_view(bootstrap.broker().extend(who, _known_id(request_id), body["duration"])))


@route("/v1/audit", authorizer=signed)
def audit() -> Response:
    who = caller(api)
    params: Mapping[str, str] = api.current_request.query_params or {}  # a MultiDict: the last value of each
    now = bootstrap.broker().clock()
    until = _time(params.get("until"), "until") or now
    since = _time(params.get("since"), "since") or until - timedelta(days=1)
    if since >= until:
        raise InvalidInput("`since` must be before `until`")
    # Bounded so that one call costs a bounded number of queries (one per day); longer periods are several calls.
    if until - since > AUDIT_WINDOW:
        raise InvalidInput(f"the window is at most {AUDIT_WINDOW.days} days; export longer periods in parts")
    if until > now + timedelta(days=1):
        raise InvalidInput("`until` is in the future; no events are recorded there yet")
    limit = _int(params.get("limit", "500"), "limit", 1, 1000)
    page = bootstrap.broker().audit(who, since, until, limit, cursors.opened(params.get("next"), _cursor_key()))
    following = cursors.seal(page.next, _cursor_key())
    lines = "".join(json.dumps(event_view(e)) + "\n" for e in page.items)
    headers: dict[str, str | list[str]] = {"Content-Type": "application/x-ndjson"}
    if following:
        query = {"since": rfc3339(since), "until": rfc3339(until), **({"limit": limit} if "limit" in params else {}),
                 "next": following}
        headers["Link"] = f'<{_base_path()}/v1/audit?{urlencode(query)}>; rel="next"'
        headers["X-Next-Cursor"] = following
    return Response(body=lines, status_code=200, headers=headers)


def _cursor_key() -> bytes:
    """The key cursors are sealed under: the console-link key's (routes/cursors.py derives its own from it)."""
    return bootstrap.secret("ACCESS_BROKER_CONSOLE_KEY").encode()


def _base_path() -> str:
    """What the caller's URL holds before this API's own paths, for links they can follow: the stage (`/api`) on API
    Gateway's own domain, a custom domain's base path, nothing locally. API Gateway's request context holds the path
    as called (`/api/v1/audit`); the route's path is the app's own (`/v1/audit`)."""
    request = api.current_request
    called = str((request.context or {}).get("path") or "")
    return called[:-len(request.path)] if called.endswith(request.path) else ""


def _known_id(request_id: str) -> str:
    """The path's request id, if it could name a request at all (after the caller's identity, before any read)."""
    if not is_request_id(request_id):
        raise NotFound(f"no request with id {quote(request_id)}; ids are 26 letters and digits, as created")
    return request_id


def _comment() -> str:
    return comment_of(json_body(api, {"comment": str}).get("comment"))


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "false").lower()
    if value not in ("true", "false"):
        raise InvalidInput(f"{name} must be true or false")
    return value == "true"


def _int(text: str, name: str, low: int, high: int) -> int:
    # ASCII digits, and few: `²`.isdigit() is true yet int() refuses it, and int() refuses thousands of digits
    if not (text.isascii() and text.isdigit() and len(text) <= 9) or not low <= int(text) <= high:
        raise InvalidInput(f"{name} must be a whole number from {low} to {high}")
    return int(text)


def _time(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:  # RFC 3339 (5.6) lets the `T` and `Z` be lowercase too
        when = datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{name} must be an RFC 3339 time like 2026-11-28T13:00:00Z") from None
    when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
    if not EARLIEST <= when <= LATEST:
        raise InvalidInput(f"{name} must be a time between {EARLIEST.date()} and {LATEST.date()}")
    return when
