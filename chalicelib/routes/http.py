"""What every HTTP route shares: identity, JSON in, JSON out, and the one mapping of errors to problem+json."""
from __future__ import annotations

import functools
import json
import logging
from typing import Any, Callable

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.access_rules import Caller
from chalicelib.domain.errors import DomainError, InvalidInput, Unauthenticated, quote

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(body=json.dumps(body), status_code=status,
                    headers={"Content-Type": "application/json", **(headers or {})})


def problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    return Response(body=json.dumps(body), status_code=status, headers={"Content-Type": PROBLEM})


def routes(blueprint: Blueprint) -> Callable[..., Callable]:
    """`@route(path, ...)` registers a view whose domain errors become problem+json, and nothing else leaks."""
    def route(path: str, **options: Any) -> Callable:
        def register(view: Callable) -> Callable:
            @functools.wraps(view)
            def guarded(*args: Any, **kwargs: Any) -> Response:
                try:
                    return view(*args, **kwargs)
                except DomainError as exc:
                    return problem(exc.status, exc.title, exc.detail, **exc.extra)
                except Exception:
                    log.exception("unhandled error in %s %s", ",".join(options.get("methods", ["GET"])), path)
                    return problem(500, "Internal error", "something went wrong on our side; it has been logged")
            return blueprint.route(path, **options)(guarded)
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


def json_body(blueprint: Blueprint, allowed: dict[str, type | tuple[type, ...]],
              required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The request's JSON object, with only `allowed` fields of the right types."""
    raw = blueprint.current_request.raw_body or b""
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
    return " or ".join({str: "string", int: "integer", dict: "object", list: "array", bool: "boolean"}.get(k, k.__name__)
                       for k in kinds)
