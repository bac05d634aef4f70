"""Rejected requests say what to fix, as problem+json, and write nothing."""
from __future__ import annotations

import pytest


def nothing_written(api) -> bool:
    return all(api.get("/v1/requests?mine=true", who).json["requests"] == [] for who in ("s3-access", "alice"))


@pytest.mark.parametrize("body,status,detail", [
    ("{not json", 400, "not valid JSON"),
    ("[1, 2]", 400, "must be a JSON object"),
    ({"profile": "s3-prod"}, 400, "field 'reason' is required"),
    ({"profile": 7, "reason": "x"}, 400, "field 'profile' must be a string"),
    ({"profile": "s3-prod", "reason": "x", "duration": 3600}, 400, "field 'duration' must be a string"),
    ({"profile": "s3-prod", "reason": "x", "admin": True}, 400, "unknown field 'admin'"),
    ({"profile": "s3-prod", "reason": "x" * 1001}, 422, "keep it to 1000"),
    ({"profile": "s3-prod", "reason": "   "}, 422, "reason is required"),
    ({"profile": "s3-prod", "reason": "x", "duration": "5h"}, 422, "allows: 15m to 4h"),
    ({"profile": "s3-prod", "reason": "x", "duration": "10m"}, 422, "allows: 15m to 4h"),
    ({"profile": "s3-prod", "reason": "x", "duration": "soon"}, 422, "PT2H"),
    ({"profile": "s3-dev", "reason": "x"}, 422, "profiles you may request: s3-prod, s3-prod-short"),
])
def test_bad_input_gets_a_problem_naming_what_to_fix(api, body, status, detail):
    response = api.post("/v1/requests", "s3-access", body)

    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/problem+json"
    assert set(response.json) >= {"type", "title", "status", "detail"} and response.json["status"] == status
    assert detail in response.json["detail"]
    assert nothing_written(api)


def test_durations_in_iso_and_short_forms_are_accepted(api):
    assert api.create(duration="PT2H")["duration_seconds"] == 7200
    assert api.create(duration="90m")["duration_seconds"] == 5400
    assert api.create(duration=None)["duration_seconds"] == 3600  # the profile's default


def test_an_unmapped_principal_is_told_how_to_get_mapped(api):
    response = api.post("/v1/requests", "dave", {"profile": "s3-prod", "reason": "x"})
    assert response.status_code == 422
    assert "arn:aws:iam::111111111111:user/dave is not mapped" in response.json["detail"]
    assert "iam_user" in response.json["detail"]


def test_a_person_without_an_iam_user_is_told_how_to_map_them(api, catalog_file):
    tool = "arn:aws:iam::111111111111:role/ticket-bot"
    catalog_file(lambda doc: (doc.update(trusted_tools=[tool]), doc["people"].update(erin={"email": "e@x"})))
    response = api.post("/v1/requests", tool, {"profile": "s3-prod", "reason": "x", "requester": "erin"})
    assert response.status_code == 422
    assert "people.erin.iam_user" in response.json["detail"]


def test_only_trusted_tools_may_ask_on_someones_behalf(api, catalog_file):
    tool = "arn:aws:iam::111111111111:role/ticket-bot"
    denied = api.post("/v1/requests", "alice", {"profile": "s3-prod", "reason": "x", "requester": "bob"})
    assert denied.status_code == 403

    catalog_file(lambda doc: doc.update(trusted_tools=[tool]))
    created = api.post("/v1/requests", tool, {"profile": "s3-prod", "reason": "ticket 42", "requester": "bob"})
    assert created.status_code == 201
    assert created.json["requester"]["id"] == "bob" and created.json["requested_by_tool"] == tool
    events = api.get(f"/v1/requests/{created.json['id']}/events", "bob").json["events"]
    assert events[0]["details"]["requested_by_tool"] == tool


def test_an_idempotency_key_is_its_caller_s_own(api):
    body = {"profile": "s3-prod", "reason": "export job"}
    mine = api.post("/v1/requests", "s3-access", body, headers={"Idempotency-Key": "shared-key"})
    hers = api.post("/v1/requests", "alice", body, headers={"Idempotency-Key": "shared-key"})
    assert mine.status_code == hers.status_code == 201
    assert hers.json["id"] != mine.json["id"] and hers.json["requester"]["id"] == "alice", \
        "the same key from someone else is their own request, never a replay of another's"
    assert api.get(f"/v1/requests/{mine.json['id']}", "alice").status_code == 404


def test_an_idempotency_key_makes_a_retried_create_return_the_first_request(api):
    body = {"profile": "s3-prod", "reason": "export job"}
    first = api.post("/v1/requests", "s3-access", body, headers={"Idempotency-Key": "k-1"})
    again = api.post("/v1/requests", "s3-access", body, headers={"Idempotency-Key": "k-1"})
    other = api.post("/v1/requests", "s3-access", {**body, "reason": "else"}, headers={"Idempotency-Key": "k-1"})

    assert first.status_code == again.status_code == 201
    assert again.json["id"] == first.json["id"]
    assert other.status_code == 409 and "different body" in other.json["detail"]
    assert len(api.get("/v1/requests?mine=true", "s3-access").json["requests"]) == 1


def test_unknown_and_invalid_query_values_are_named(api):
    assert "state 'nope'" in api.get("/v1/requests?state=nope", "bob").json["detail"]
    assert "limit" in api.get("/v1/requests?limit=0", "bob").json["detail"]
    assert api.get("/v1/requests/does-not-exist", "bob").status_code == 404
    assert api.post("/v1/requests/does-not-exist/approve", "bob").status_code == 404
