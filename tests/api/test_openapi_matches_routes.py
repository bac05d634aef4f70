"""The OpenAPI document (chalicelib/routes/openapi.py) and the app's routes say the same thing: every route of the
HTTP API is documented with its methods, and every documented operation exists. Slack's endpoints are Slack's, not
part of the document."""
from __future__ import annotations

import app
from chalicelib.routes.openapi import openapi_document

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def routed() -> set[tuple[str, str]]:
    return {(path, method.lower()) for path, methods in app.app.routes.items() if path.startswith("/v1/")
            for method in methods}


def documented() -> set[tuple[str, str]]:
    return {(path, method) for path, operations in openapi_document()["paths"].items()
            for method in operations if method in HTTP_METHODS}


def test_every_route_is_documented() -> None:
    missing = routed() - documented()
    assert not missing, f"routes the OpenAPI document does not describe: {sorted(missing)}"


def test_every_documented_operation_is_a_route() -> None:
    extra = documented() - routed()
    assert not extra, f"documented operations no route answers: {sorted(extra)}"
