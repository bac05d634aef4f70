"""What every HTTP route shares: identity, JSON in, JSON out, and the one mapping of errors to problem+json:
our routes' errors (`routes`) and Chalice's own answers before a view runs (`chalice_answers_as_problems`). What the
gateway answers itself before the app runs (a path no route has) is tools/gateway_responses.py's."""
from __future__ import annotations

import functools
import json
import logging
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Callable, Mapping

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.access_rules import Caller
from chalicelib.domain.errors import DomainError, InvalidInput, Unauthenticated, quote

if TYPE_CHECKING:
    from chalice.app import Request

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"
View = Callable[..., Response]  # a route's view: path parameters in, a Response out
Middleware = Callable[[Any, Callable[[Any], Response]], Response]  # Chalice's HTTP middleware


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body), status_code=status,
                    headers={"Content-Type": "application/json", **(headers or {})})


def problem(status: int, title: str, detail: str, headers: Mapping[str, str | list[str]] | None = None,
            **extra: Any) -> Response:
    return Response(body=json.dumps(problem_body(status, title, detail, **extra)), status_code=status,
                    headers={**(headers or {}), "Content-Type": PROBLEM})


def problem_body(status: int, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}


def chalice_answers_as_problems(routes_table: Mapping[str, Mapping[str, Any]]) -> Middleware:
    """HTTP middleware (`app.register_middleware(..., "http")`): the answers Chalice gives itself before any view
    runs, a JSON `{"Code", "Message"}` (405 method not allowed, 415 unsupported media type, and the rest), become
    problem+json naming what to send instead. `routes_table` is the app's `routes` (path -> method -> entry)."""
    def middleware(request: Any, get_response: Callable[[Any], Response]) -> Response:
        response = get_response(request)
        body = response.body
        if response.status_code < 400 or not (isinstance(body, dict) and set(body) == {"Code", "Message"}):
            return response
        status = response.status_code
        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Error"
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
        return problem(status, title, _chalice_detail(request, routes_table, body), headers)
    return middleware


def _chalice_detail(request: Any, routes_table: Mapping[str, Mapping[str, Any]], body: dict[str, Any]) -> str:
    if request is None:
        return str(body["Message"])
    methods = routes_table.get(request.path, {})
    if body["Code"] == "MethodNotAllowedError":
        return f"{request.path} answers {', '.join(sorted(methods))}, not {quote(request.method)}"
    if body["Code"] == "UnsupportedMediaType":
        entry = methods.get(request.method)
        accepted = ", ".join(entry.content_types) if entry else "application/json"
        sent = request.headers.get("content-type", "application/json")
        return f"{request.method} {request.path} does not accept Content-Type {quote(sent)}; send {accepted}"
    return str(body["Message"])


def routes(blueprint: Blueprint) -> Callable[..., Callable[[View], View]]:
    """`@route(path, ...)` registers a view whose domain errors become problem+json, and nothing else leaks."""
    def route(path: str, **options: Any) -> Callable[[View], View]:
        def register(view: View) -> View:
            @functools.wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Response:
                try:
                    return view(*args, **kwargs)
                except DomainError as exc:
                    return problem(exc.status, exc.title, exc.detail, None, **exc.extra)
                except Exception:
                    log.exception("unhandled error in %s %s", ",".join(options.get("methods", ["GET"])), path)
                    return problem(500, "Internal error", "something went wrong on our side; it has been logged")
            registered: View = blueprint.route(path, **options)(guarded)  # Chalice types its decorators as Any
            return registered
        return register
    return route


def caller(blueprint: Blueprint) -> Caller:
    """The IAM principal behind the request: API Gateway's SigV4 identity, or `X-Local-Principal` on an unsigned
    request when running locally (a signed one is always named by its signature). 401 when there is none."""
    request = blueprint.current_request
    arn = (request.context.get("identity") or {}).get("userArn")
    if not arn and bootstrap.settings().local_identity_allowed and not _signed(request):
        arn = request.headers.get("x-local-principal")
    if not arn:
        raise Unauthenticated("this route needs an IAM identity: sign the request with SigV4 "
                              "(locally: send X-Local-Principal: <IAM ARN>)")
    return bootstrap.broker().caller_from_arn(arn, "api")


def _signed(request: Any) -> bool:
    """Whether the request carries a signature (verified or not): then X-Local-Principal never names the caller."""
    return "authorization" in request.headers or any(
        name.lower() == "x-amz-signature" for name in (request.query_params or {}))


def raw_body(request: Request) -> bytes:
    """The request's body as bytes. Chalice types `raw_body` as str | bytes, yet always makes it bytes (decoding
    base64, or encoding a text body as UTF-8); a str is encoded the same way."""
    raw = request.raw_body or b""
    return raw if isinstance(raw, bytes) else raw.encode("utf-8")


def json_body(blueprint: Blueprint, allowed: dict[str, type | tuple[type, ...]],
              required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The request's JSON object, with only `allowed` fields of the right types."""
    raw = raw_body(blueprint.current_request)
    try:
        body = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("the body is not valid JSON; send a JSON object") from None
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidInput(f"unknown field {quote(unknown[0])}; allowed fields are {', '.join(allowed)}")
    for name in required:
        if name not in body:
            raise InvalidInput(f"field {name!r} is required")
    for name, kinds in allowed.items():
        if name in body and body[name] is not None and not isinstance(body[name], kinds):
            raise InvalidInput(f"field {name!r} must be a {_kind(kinds)}")
    return body


def _kind(kinds: type | tuple[type, ...]) -> str:
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    names = {str: "string", int: "integer", dict: "object", list: "array", bool: "boolean"}
    return " or ".join(names.get(k, k.__name__)
                       for k in kinds)
