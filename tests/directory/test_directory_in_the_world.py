"""People and approvers from the directory, end to end in the local world (issue 21): the demo catalog of a few lines
(chalicelib/catalog/demo-directory.yaml) over the world's IAM groups and tagged users (tools/world_directory.py).
The sweeper's refresh reads IAM with the broker's own keys; then a directory person asks over HTTP and an approver
from an IAM group grants it, as for catalog people; nobody from outside the groups gets in."""
from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib import bootstrap

DIRECTORY_CATALOG = Path(__file__).resolve().parents[2] / "chalicelib" / "catalog" / "demo-directory.yaml"


@pytest.fixture
def directory_api(world, directory_keys, api, broker, clock, monkeypatch):
    monkeypatch.setenv("ACCESS_BROKER_CATALOG", str(DIRECTORY_CATALOG))
    bootstrap.reset()
    built = bootstrap.broker(clock=clock)
    yield api, built
    bootstrap.reset()


def test_before_the_first_refresh_directory_people_are_told_why_not(directory_api) -> None:
    api, _ = directory_api
    refused = api.post("/v1/requests", "dave", {"profile": "s3-prod", "reason": "fixing the export job"})
    assert refused.status_code == 403 and "has not been read yet" in refused.json["detail"]


def test_a_directory_person_asks_and_an_approver_from_an_iam_group_grants(directory_api) -> None:
    api, broker = directory_api
    report = broker.sweep(repair=False)
    assert report.done["directory_refreshed"] == 1 and report.errors == 0
    asked = api.post("/v1/requests", "dave", {"profile": "s3-prod", "reason": "fixing the export job"})
    assert asked.status_code == 201, asked.body
    assert asked.json["requester"] == {"id": "dave", "iam_user": "dave"}
    granted = api.post(f"/v1/requests/{asked.json['id']}/approve", "erin")  # erin is in the IAM group sre
    assert granted.status_code == 200 and granted.json["state"] == "active", granted.body
    outsider = api.post("/v1/requests", "judy", {"profile": "s3-prod", "reason": "fixing the export job"})
    assert outsider.status_code == 422, "judy is in no directory group: no person here"
    assert api.post(f"/v1/requests/{asked.json['id']}/revoke", "dave").status_code == 200


def test_the_refresh_says_what_it_could_not_join(directory_api) -> None:
    _, broker = directory_api
    report = broker.sweep(repair=False)
    assert report.done["directory_notices"] >= 1  # ivan's malformed tags
    stored = broker.written.memberships.read()
    assert any("ivan" in notice and "is not an email" in notice for notice in stored.notices)
    assert "heidi" in stored.people and stored.people["heidi"].email is None, "no tags: a person over HTTP only"
