"""Every error of this API is problem+json, Chalice's and the gateway's own answers included: 405 (method not
allowed) and 415 (unsupported media type) come from Chalice before a view runs, 403 "Missing Authentication Token"
from the gateway for a path no route has (locally tools/local_server.py, deployed the gateway response that
tools/gateway_responses.py writes into the API's definition)."""
from __future__ import annotations

import json

import pytest
import requests

from tests.api.served_app import served  # noqa: F401 (a fixture)
from tools import gateway_responses
from tools.world import SOURCE_ACCOUNT

ALICE = {"X-Local-Principal": f"arn:aws:iam::{SOURCE_ACCOUNT}:user/alice"}
PROBLEM_FIELDS = {"type", "title", "status", "detail"}


def is_problem(status: int, content_type: str, body: bytes) -> dict:
    assert content_type == "application/problem+json", (status, content_type, body)
    problem = json.loads(body)
    assert PROBLEM_FIELDS <= set(problem) and problem["status"] == status, problem
    return problem


def test_test_client_405_names_the_methods_the_route_answers(api) -> None:
    answer = api.call("DELETE", "/v1/requests", "alice")
    assert answer.status_code == 405
    problem = is_problem(405, answer.headers["Content-Type"], answer.body)
    assert problem["title"] == "Method Not Allowed"
    assert problem["detail"] == "/v1/requests answers GET, POST, not 'DELETE'"
    assert answer.headers["Allow"] in ("GET, POST", "POST, GET")  # Chalice's Allow header stays


def test_test_client_415_names_what_to_send(api) -> None:
    answer = api.post("/v1/requests", "alice", "profile=s3-prod", headers={"Content-Type": "text/plain"})
    assert answer.status_code == 415
    problem = is_problem(415, answer.headers["Content-Type"], answer.body)
    assert problem["title"] == "Unsupported Media Type"
    assert problem["detail"] == "POST /v1/requests does not accept Content-Type 'text/plain'; send application/json"


@pytest.mark.parametrize("method, path, headers, status", [
    ("GET", "/v1/nothing-here", {}, 403),
    ("GET", "/", {}, 403),
    ("PATCH", "/v1/requests", {}, 405),
    ("POST", "/v1/requests", {"Content-Type": "text/plain"}, 415),
])
def test_the_local_server_answers_problem_json(served: str, method: str, path: str, headers: dict,
                                                status: int) -> None:
    answer = requests.request(method, served + path, headers={**ALICE, **headers}, data=b"x", timeout=30)
    assert answer.status_code == status
    problem = is_problem(status, answer.headers["Content-Type"], answer.content)
    if status == 403:
        assert problem == gateway_responses.ANSWERS["MISSING_AUTHENTICATION_TOKEN"]
        assert "GET /v1/openapi.json lists every route" in problem["detail"]


def test_the_local_server_keeps_api_gateways_own_sigv4_refusals(served: str) -> None:
    """A bad signature stays API Gateway's {"message"} (the CLI and tests/cli read it): only the missing route
    changes."""
    answer = requests.get(served + "/v1/profiles", headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x"},
                          timeout=30)
    assert answer.status_code == 403 and "message" in answer.json()


def test_the_deployed_gateway_response_is_the_same_problem() -> None:
    """What tools/package_operations.py puts into the API's OpenAPI body: API Gateway's
    x-amazon-apigateway-gateway-responses, a static (non-VTL) body and the problem+json Content-Type."""
    [(kind, response)] = gateway_responses.swagger_extension()["x-amazon-apigateway-gateway-responses"].items()
    assert kind == "MISSING_AUTHENTICATION_TOKEN" and response["statusCode"] == "403"
    assert response["responseParameters"] == {"gatewayresponse.header.Content-Type": "'application/problem+json'"}
    body = response["responseTemplates"]["application/json"]
    assert "$" not in body and json.loads(body) == gateway_responses.ANSWERS[kind]
