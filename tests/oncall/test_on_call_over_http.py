"""On-call auto-approval through the doors people use, against the local world and the PagerDuty stand-in: over HTTP
the create call's 201 already shows the outcome (active, or pending with the reason recorded); the grant is a real
grant in IAM; a PagerDuty that refuses or fails never approves and never answers 5xx."""
from __future__ import annotations

import os
from typing import Iterator

import pytest

from tools.pagerduty_stub import STUB_TOKEN, PagerDutyStub


@pytest.fixture
def pagerduty() -> Iterator[PagerDutyStub]:
    stub = PagerDutyStub().start()
    patch = pytest.MonkeyPatch()
    patch.setenv("PAGERDUTY_API_URL", stub.url)
    patch.setenv("PAGERDUTY_TOKEN", STUB_TOKEN)
    try:
        yield stub
    finally:
        patch.undo()
        stub.stop()


@pytest.fixture
def on_call_api(api, catalog_file, pagerduty):
    catalog_file(lambda doc: None, on_call=True)  # the demo as shipped: s3-prod auto-approves P0SCHED1's on-call
    return api


def attached(world) -> list[str]:
    """The broker's grant policies on the requester's IAM user."""
    found = world.client("iam").list_attached_user_policies(UserName="s3-access")["AttachedPolicies"]
    return [p["PolicyArn"] for p in found if ":policy/access-broker/" in p["PolicyArn"]]


def events(api, request_id: str, who: str = "s3-access") -> list[dict]:
    return api.get(f"/v1/requests/{request_id}/events", who).json["events"]


def test_the_person_on_call_gets_an_active_grant_in_the_create_answer(on_call_api, pagerduty, world) -> None:
    pagerduty.set_on_call("P0SCHED1", {"email": "S3-Access@example.com", "id": "PS3ACCESS"})
    created = on_call_api.post("/v1/requests", "s3-access", {"profile": "s3-prod", "duration": "1h",
                                                                "reason": "paged: export job down"})
    assert created.status_code == 201, created.body
    body = created.json
    assert body["state"] == "active" and body["grant"]["policy_arn"] in attached(world)
    assert body["approvals"] == [{"by": "on-call", "schedule": "P0SCHED1", "pagerduty_user": "PS3ACCESS",
                                  "at": body["approvals"][0]["at"]}]
    assert [e["kind"] for e in events(on_call_api, body["id"])] == ["created", "auto_approved", "activated"]


@pytest.mark.parametrize("trouble, reason", [
    (lambda stub: None, "not_on_call"),
    (lambda stub: stub.fail(401), "pagerduty_failed"),
    (lambda stub: stub.fail(500), "pagerduty_failed"),
    (lambda stub: stub.fail(429, retry_after=30), "pagerduty_failed"),
    (lambda stub: stub.not_json(), "pagerduty_failed"),
])
def test_anything_else_waits_for_people_with_the_reason(on_call_api, pagerduty, world, trouble, reason) -> None:
    pagerduty.set_on_call("P0SCHED1", {"email": "alice@example.com", "id": "PALICE1"})
    trouble(pagerduty)
    created = on_call_api.post("/v1/requests", "s3-access", {"profile": "s3-prod", "duration": "1h",
                                                                "reason": "paged: export job down"})
    assert created.status_code == 201 and created.json["state"] == "pending", created.body
    (skipped,) = [e for e in events(on_call_api, created.json["id"]) if e["kind"] == "auto_approve_skipped"]
    assert skipped["details"]["reason"] == reason
    assert attached(world) == []


def test_without_a_token_nothing_is_asked_and_people_decide(api, catalog_file, pagerduty) -> None:
    os.environ.pop("PAGERDUTY_TOKEN", None)  # restored by the fixture
    catalog_file(lambda doc: None, on_call=True)
    pagerduty.set_on_call("P0SCHED1", {"email": "s3-access@example.com", "id": "PS3ACCESS"})
    created = api.post("/v1/requests", "s3-access", {"profile": "s3-prod", "duration": "1h", "reason": "paged"})
    assert created.json["state"] == "pending"
    (skipped,) = [e for e in events(api, created.json["id"]) if e["kind"] == "auto_approve_skipped"]
    assert skipped["details"]["reason"] == "pagerduty_failed" and "token" in skipped["details"]["detail"]
