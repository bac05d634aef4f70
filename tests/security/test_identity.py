"""Who is calling: SigV4 (API Gateway's IAM authorizer) in deployed stages; X-Local-Principal only on a laptop."""
from __future__ import annotations

from pathlib import Path

import pytest
from chalice import IAMAuthorizer
from chalice.test import Client

import app
from chalicelib import bootstrap

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = {"/v1/health", "/v1/openapi.json", "/v1/console/{token}"}
BOB = {"X-Local-Principal": "arn:aws:iam::111111111111:user/bob"}


def test_every_v1_route_but_health_openapi_and_console_has_the_iam_authorizer() -> None:
    routes = {(path, method): entry for path, methods in app.app.routes.items() for method, entry in methods.items()}
    assert routes, "no routes registered"
    for (path, method), entry in routes.items():
        if not path.startswith("/v1/"):
            continue
        if path in PUBLIC:
            assert entry.authorizer is None, f"{method} {path} should be public"
        else:
            assert isinstance(entry.authorizer, IAMAuthorizer), f"{method} {path} is unsigned"


@pytest.fixture
def stage(broker, monkeypatch):
    """A test client on a chosen stage; settings are rebuilt so the stage's environment is read afresh."""
    opened = []

    def open_stage(name: str) -> Client:
        bootstrap.reset()
        client = Client(app.app, stage_name=name, project_dir=str(ROOT))
        opened.append(client)
        return client.__enter__()

    yield open_stage
    for client in opened:
        client.__exit__(None, None, None)
    bootstrap.reset()


@pytest.mark.parametrize("path", ["/v1/profiles", "/v1/requests", "/v1/audit"])
def test_prod_ignores_x_local_principal(stage, path: str) -> None:
    response = stage("prod").http.get(path, headers=BOB)
    assert response.status_code == 401, response.body
    assert b"SigV4" in response.body


def test_prod_ignores_x_local_principal_on_writes(stage) -> None:
    response = stage("prod").http.post("/v1/requests", headers={**BOB, "Content-Type": "application/json"},
                                       body='{"profile": "s3-prod", "reason": "let me in"}')
    assert response.status_code == 401


def test_local_stage_inside_lambda_ignores_x_local_principal(stage, monkeypatch) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "access-broker-local")
    assert stage("local").http.get("/v1/profiles", headers=BOB).status_code == 401


def test_local_stage_on_a_laptop_honours_x_local_principal(stage) -> None:
    response = stage("local").http.get("/v1/profiles", headers=BOB)
    assert response.status_code == 200 and response.json_body["profiles"], response.body


def test_in_prod_every_signed_route_answers_401_without_identity_and_public_ones_answer(stage) -> None:
    client = stage("prod")
    for path, methods in app.app.routes.items():
        for method in methods:
            concrete = path.replace("{request_id}", "r-1").replace("{token}", "x.y")
            response = client.http.request(method, concrete, headers={**BOB, "Content-Type": "application/json"},
                                           body=b"{}")
            if path in PUBLIC:
                assert response.status_code != 401, f"{method} {path}"
            elif path.startswith("/v1/"):
                assert response.status_code == 401, f"{method} {path} answered {response.status_code}"
