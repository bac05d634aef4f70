"""`trusted_tools`: a listed IAM ARN may request on a person's behalf, and is named in the trail; nobody else may."""
from __future__ import annotations

import dataclasses

import pytest

from chalicelib import bootstrap

TOOL = "arn:aws:iam::111111111111:role/ticket-bot"
BODY = {"profile": "s3-prod", "duration": "1h", "reason": "INC-42: restore the export", "requester": "alice"}


@pytest.fixture
def tool_api(api, broker):
    bootstrap.broker(clock=broker.clock, catalog=dataclasses.replace(broker.catalog, trusted_tools=frozenset({TOOL})))
    return api


def test_a_trusted_tool_requests_for_a_person_and_is_recorded(tool_api) -> None:
    response = tool_api.post("/v1/requests", TOOL, BODY)

    assert response.status_code == 201, response.body
    request = response.json
    assert request["requester"] == {"id": "alice", "iam_user": "alice"}
    assert request["requested_by_tool"] == TOOL
    events = tool_api.get(f"/v1/requests/{request['id']}/events", "alice").json["events"]
    assert events[0]["kind"] == "created" and events[0]["actor"] == TOOL
    assert events[0]["details"]["requested_by_tool"] == TOOL
    # the person it was made for sees it as theirs, and an approver can grant it
    assert [r["id"] for r in tool_api.get("/v1/requests?mine=true", "alice").json["requests"]] == [request["id"]]
    assert tool_api.post(f"/v1/requests/{request['id']}/approve", "bob").json["state"] == "active"


@pytest.mark.parametrize("who", ["bob", "arn:aws:iam::111111111111:role/other-bot",
                                 "arn:aws:iam::999999999999:role/ticket-bot"])
def test_anyone_else_setting_requester_is_forbidden_and_nothing_is_written(tool_api, who: str) -> None:
    response = tool_api.post("/v1/requests", who, BODY)

    assert response.status_code == 403, response.body
    assert "trusted tools" in response.json["detail"]
    assert tool_api.get("/v1/requests?mine=true", "alice").json["requests"] == []


def test_a_person_naming_themselves_as_requester_is_still_forbidden(tool_api) -> None:
    assert tool_api.post("/v1/requests", "alice", BODY).status_code == 403


def test_a_trusted_tool_must_name_a_known_person(tool_api) -> None:
    response = tool_api.post("/v1/requests", TOOL, {**BODY, "requester": "mallory"})
    assert response.status_code == 422 and "mallory" in response.json["detail"]
    response = tool_api.post("/v1/requests", TOOL, {k: v for k, v in BODY.items() if k != "requester"})
    assert response.status_code == 422 and "not mapped to a person" in response.json["detail"]
