"""Every answer of an HTTP route is problem+json when it is not a success (CONTRACT.md, HTTP API): a domain error
keeps its status, title, detail and extra members; anything else is a logged 500 that says nothing of it; Chalice's
own 405 and 415, given before a view runs, name what to send instead. Driven through an app assembled here the way
app.py assembles the real one (`routes` on a blueprint, `chalice_answers_as_problems` over its routes)."""
from __future__ import annotations

import json
from typing import Any, Iterator

import pytest
from chalice import Blueprint, Chalice, Response
from chalice.local import LambdaContext
from chalice.test import Client

from chalicelib.domain.errors import Conflict
from chalicelib.routes.http import chalice_answers_as_problems, json_response, problem_body, routes

PROBLEM = "application/problem+json"


def assembled() -> Chalice:
    app, blueprint = Chalice("problems"), Blueprint("problems")
    route = routes(blueprint)

    @route("/v1/things", methods=["GET", "POST"])
    def things() -> Response:
        return json_response({"things": []}, 201 if blueprint.current_request.method == "POST" else 200)

    @route("/v1/things/{thing_id}/take", methods=["POST"])
    def take(thing_id: str) -> Response:
        raise Conflict(f"{thing_id} is taken", holder="bob")

    @route("/v1/broken")
    def broken() -> Response:
        raise RuntimeError("the secret table name")

    app.register_blueprint(blueprint)
    app.register_middleware(chalice_answers_as_problems(app.routes), "http")
    return app


@pytest.fixture
def client() -> Iterator[Any]:
    with Client(assembled()) as test_client:
        yield test_client.http


def problem_of(response: Any) -> dict[str, Any]:
    assert response.headers["Content-Type"] == PROBLEM, response.headers
    return dict(json.loads(response.body))


def test_a_success_passes_untouched(client) -> None:
    for method, status in (("GET", 200), ("POST", 201)):
        response = client.request(method, "/v1/things", headers={"Content-Type": "application/json"}, body=b"{}")
        assert (response.status_code, response.headers["Content-Type"], json.loads(response.body)) == \
            (status, "application/json", {"things": []})


def test_a_domain_error_is_its_problem_with_its_extra_members(client) -> None:
    response = client.post("/v1/things/t1/take", headers={"Content-Type": "application/json"}, body=b"{}")
    assert response.status_code == 409
    assert problem_of(response) == {"type": "about:blank", "title": "Conflict", "status": 409,
                                    "detail": "t1 is taken", "holder": "bob"}


def test_anything_else_is_a_500_that_tells_nothing(client) -> None:
    response = client.get("/v1/broken")
    assert response.status_code == 500
    assert problem_of(response) == {"type": "about:blank", "title": "Internal error", "status": 500,
                                    "detail": "something went wrong on our side; it has been logged"}


def test_a_method_the_path_does_not_answer_is_a_405_naming_those_it_does(client) -> None:
    response = client.request("DELETE", "/v1/things")
    assert response.status_code == 405
    assert problem_of(response) == {"type": "about:blank", "title": "Method Not Allowed", "status": 405,
                                    "detail": "/v1/things answers GET, POST, not 'DELETE'"}
    assert response.headers["Allow"] == "GET, POST"


def test_a_body_of_another_type_is_a_415_naming_the_one_to_send(client) -> None:
    response = client.post("/v1/things", headers={"Content-Type": "text/plain"}, body=b"hi")
    assert response.status_code == 415
    assert problem_of(response) == {
        "type": "about:blank", "title": "Unsupported Media Type", "status": 415,
        "detail": "POST /v1/things does not accept Content-Type 'text/plain'; send application/json"}


def test_a_problem_body_is_rfc_9457s_about_blank() -> None:
    assert problem_body(404, "Not found", "no such thing", id="x") == {
        "type": "about:blank", "title": "Not found", "status": 404, "detail": "no such thing", "id": "x"}


def test_an_event_api_gateway_did_not_send_is_a_500_problem_too() -> None:
    """Invoked by hand (`aws lambda invoke` with another event): Chalice's own "Unknown request." as problem+json."""
    answer = assembled()({"not": "from API Gateway"}, LambdaContext("problems", 128))
    assert (answer["statusCode"], answer["headers"]["Content-Type"]) == (500, PROBLEM)
    assert json.loads(answer["body"]) == {"type": "about:blank", "title": "Internal Server Error", "status": 500,
                                          "detail": "Unknown request."}
