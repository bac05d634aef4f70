"""What a security review found (issue 13, points 4, 6, 7, 9 and 10), each reproduced against the app."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tools.world import ROLE_NAME, TARGET_ACCOUNT

REASON = "prod export is down, on-call pager INC-7"
BREAK_GLASS = {"account": TARGET_ACCOUNT, "role": ROLE_NAME, "approvers": ["bob"], "break_glass": True,
               "requesters": ["alice"]}
OTHER_TEAM = {"account": TARGET_ACCOUNT, "role": ROLE_NAME, "approvers": ["carol"], "requesters": ["alice"],
              "display_name": "Other team"}


def attached(world: Any, user: str) -> list[str]:
    return [p["PolicyArn"] for p in world.client("iam").list_attached_user_policies(UserName=user)["AttachedPolicies"]]


# -- 4: a removed profile no longer freezes its grants


def without_short_profile(doc: dict) -> None:
    del doc["profiles"]["s3-prod-short"]


def test_a_grant_of_a_removed_profile_can_still_be_revoked(api, catalog_file, world) -> None:
    request = api.create(profile="s3-prod-short", duration="5m")
    assert api.post(f"/v1/requests/{request['id']}/approve", "bob").json["state"] == "active"
    catalog_file(without_short_profile)

    by_approver = api.post(f"/v1/requests/{request['id']}/revoke", "bob")

    assert by_approver.status_code == 200, by_approver.body
    assert by_approver.json["state"] == "revoked"
    assert attached(world, "s3-access") == []


def test_a_grant_of_a_removed_profile_still_expires(api, catalog_file, world, clock) -> None:
    request = api.create(profile="s3-prod-short", duration="5m")
    api.post(f"/v1/requests/{request['id']}/approve", "bob")
    broker = catalog_file(without_short_profile)
    clock.advance(minutes=6)

    report = broker.sweep()

    assert report.done["expired"] == 1 and report.errors == 0
    assert broker.repo.get(request["id"]).state.value == "expired"
    assert attached(world, "s3-access") == []


def test_a_pending_request_of_a_removed_profile_times_out(api, catalog_file, clock) -> None:
    request = api.create(profile="s3-prod-short", duration="5m")
    broker = catalog_file(without_short_profile)
    clock.advance(minutes=15)  # its next look was set while the profile existed (the reminder)

    report = broker.sweep()

    assert report.done["timed_out"] == 1 and report.errors == 0
    assert broker.repo.get(request["id"]).state.value == "timed_out"


# -- 6: the audit export is scoped to what the caller approves


def test_an_approver_sees_only_the_audit_trail_of_profiles_they_approve(api, catalog_file, clock) -> None:
    catalog_file(lambda doc: doc["profiles"].update({"other-team": OTHER_TEAM}))
    theirs = api.create(as_="alice", profile="other-team", reason="secret project name")
    ours = api.create(as_="alice")
    since = (clock.now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    clock.advance(seconds=1)  # the window ends now, and excludes it

    def exported(who: str) -> set[str]:
        response = api.get(f"/v1/audit?since={since}", who)
        assert response.status_code == 200, response.body
        return {json.loads(line)["request_id"] for line in response.body.decode().splitlines()}

    assert exported("bob") == {ours["id"]}  # bob approves s3-prod, not other-team
    assert exported("carol") == {ours["id"], theirs["id"]}  # carol approves both
    assert "secret project name" not in api.get(f"/v1/audit?since={since}", "bob").body.decode()


def test_the_auditors_group_sees_everything(api, catalog_file, clock) -> None:
    catalog_file(lambda doc: (doc["profiles"].update({"other-team": OTHER_TEAM}),
                              doc.setdefault("groups", {}).update({"auditors": ["s3-access"]})))
    theirs = api.create(as_="alice", profile="other-team")
    since = (clock.now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    clock.advance(seconds=1)

    response = api.get(f"/v1/audit?since={since}", "s3-access")

    assert response.status_code == 200, response.body
    assert theirs["id"] in response.body.decode()


# -- 7: break-glass has limits


@pytest.fixture
def break_glass_profile(catalog_file) -> Any:
    return catalog_file(lambda doc: doc["profiles"].update({"s3-break-glass": BREAK_GLASS}))


def break_glass(api: Any, **extra: Any) -> Any:
    return api.post("/v1/requests", "alice", {"profile": "s3-break-glass", "reason": REASON, "break_glass": True,
                                              **extra})


def test_one_live_break_glass_grant_per_person_and_profile(api, break_glass_profile, world) -> None:
    first = break_glass(api)
    assert first.status_code == 201 and first.json["state"] == "active"

    second = break_glass(api)

    assert second.status_code == 409, second.body
    assert first.json["id"] in second.json["detail"]
    assert len(attached(world, "alice")) == 1
    api.post(f"/v1/requests/{first.json['id']}/revoke", "alice")
    assert break_glass(api).status_code == 201  # once the first has ended, another may be had


def test_a_trusted_tool_may_not_break_glass_for_someone(api, catalog_file, world) -> None:
    tool = "arn:aws:iam::111111111111:role/ticket-bot"
    catalog_file(lambda doc: (doc["profiles"].update({"s3-break-glass": BREAK_GLASS}),
                              doc.update({"trusted_tools": [tool]})))
    response = api.post("/v1/requests", tool, {"profile": "s3-break-glass", "reason": REASON, "break_glass": True,
                                               "requester": "alice"})

    assert response.status_code == 403, response.body
    assert attached(world, "alice") == []


# -- 9: a decision after approval_timeout is refused at once


def test_an_approval_after_the_timeout_is_refused_and_the_request_timed_out(api, broker, clock, world) -> None:
    request = api.create()
    clock.advance(seconds=broker.catalog.profiles["s3-prod"].approval_timeout)

    late = api.post(f"/v1/requests/{request['id']}/approve", "bob")

    assert late.status_code == 409, late.body
    assert "timed out" in late.json["detail"]
    assert api.get(f"/v1/requests/{request['id']}", "s3-access").json["state"] == "timed_out"
    assert attached(world, "s3-access") == []


# -- 10: refusals do not say more than a GET would


@pytest.mark.parametrize(("verb", "body"), [("approve", {}), ("deny", {}), ("cancel", {}), ("revoke", {}),
                                            ("extend", {"duration": "30m"})])
def test_acting_on_a_request_one_may_not_see_is_a_404_like_get(api, catalog_file, verb: str, body: dict) -> None:
    catalog_file(lambda doc: doc["profiles"].update({"other-team": OTHER_TEAM}))
    request = api.create(as_="alice", profile="other-team")
    if verb in ("revoke", "extend"):
        assert api.post(f"/v1/requests/{request['id']}/approve", "carol").json["state"] == "active"

    seen = api.get(f"/v1/requests/{request['id']}", "bob")
    acted = api.post(f"/v1/requests/{request['id']}/{verb}", "bob", body)

    assert seen.status_code == acted.status_code == 404, acted.body
    assert acted.json["detail"] == seen.json["detail"]
    assert "carol" not in acted.body.decode() and "other-team" not in acted.body.decode()
