"""What API Gateway answers itself, before the app runs, shaped like every other error of this API (problem+json).

Deployed, `x-amazon-apigateway-gateway-responses` in the API's OpenAPI body (tools/package_operations.py adds
`swagger_extension()` to the SAM and Terraform definitions); locally, tools/local_server.py applies the same
`answer_for()` to chalice's emulation of the gateway, so `make run` answers as the deployed API does."""
from __future__ import annotations

import json
from typing import Any

from chalicelib.routes.http import PROBLEM, problem_body

# API Gateway answers 403 "Missing Authentication Token" both to a method and path that no route has and, on a route
# behind the IAM authorizer, to a request that is not signed: it does not tell the two apart, so neither can we.
MISSING_AUTHENTICATION_TOKEN = "MISSING_AUTHENTICATION_TOKEN"
ANSWERS: dict[str, dict[str, Any]] = {
    MISSING_AUTHENTICATION_TOKEN: problem_body(
        403, "Forbidden", "no route answers this method and path, or the route needs a SigV4-signed request and this "
                          "one is not signed; GET /v1/openapi.json lists every route and which ones need a signature"),
}


def swagger_extension() -> dict[str, Any]:
    """The gateway responses for the API's OpenAPI body. Their templates are not VTL: a static body, no `$`."""
    return {"x-amazon-apigateway-gateway-responses": {
        kind: {"statusCode": str(body["status"]),
               "responseParameters": {"gatewayresponse.header.Content-Type": f"'{PROBLEM}'"},
               "responseTemplates": {"application/json": json.dumps(body)}}
        for kind, body in ANSWERS.items()}}


def answer_for(status: int, body: bytes | None) -> tuple[int, dict[str, str], bytes] | None:
    """The problem+json that replaces one of chalice's local gateway answers, or None to keep it (the SigV4
    refusals, like API Gateway's own, stay `{"message": ...}`)."""
    try:
        message = json.loads(body or b"{}").get("message")
    except (ValueError, AttributeError):
        return None
    if status == 403 and message == "Missing Authentication Token":
        answer = ANSWERS[MISSING_AUTHENTICATION_TOKEN]
        return answer["status"], {"Content-Type": PROBLEM}, json.dumps(answer).encode()
    return None
