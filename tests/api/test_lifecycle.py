"""The access lifecycle over the HTTP API, against the local AWS world (moto's server, IAM enforced)."""
from __future__ import annotations

import json
from datetime import datetime

import pytest

POLICY_PATH = "/access-broker/"


def iam_policies(world) -> list[dict]:
    return world.client("iam").list_policies(Scope="Local", PathPrefix=POLICY_PATH)["Policies"]


def test_approval_attaches_a_policy_allowing_exactly_that_role_until_expiry(api, world):
    created = api.create(duration="2h")
    assert created["state"] == "pending" and created["grant"] is None
    assert created["requester"] == {"id": "s3-access", "iam_user": "s3-access"}

    approved = api.post(f"/v1/requests/{created['id']}/approve", "bob", {"comment": "go"})

    assert approved.status_code == 200, approved.body
    request = approved.json
    assert request["state"] == "active"
    assert [a["by"] for a in request["approvals"]] == ["bob"]
    grant = request["grant"]
    starts, expires = (datetime.fromisoformat(grant[k].replace("Z", "+00:00")) for k in ("starts_at", "expires_at"))
    assert (expires - starts).total_seconds() == 7200
    assert grant["role_arn"] == "arn:aws:iam::222222222222:role/switch-role-for-S3"
    assert grant["switch_role_url"] == ("https://signin.aws.amazon.com/switchrole?account=222222222222"
                                        "&roleName=switch-role-for-S3&displayName=S3+prod&color=F2B0A9")
    assert grant["console_url"].startswith("/v1/console/")

    iam = world.client("iam")
    policy = iam.get_policy(PolicyArn=grant["policy_arn"])["Policy"]
    assert policy["Path"] == "/access-broker/local/", "the stage's own path"
    assert {"Key": "access-broker:request-id", "Value": created["id"]} in policy["Tags"]
    document = iam.get_policy_version(PolicyArn=grant["policy_arn"], VersionId=policy["DefaultVersionId"])
    document = document["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    assert document["Statement"] == [{
        "Sid": "AccessBrokerGrant", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": grant["role_arn"],
        "Condition": {"DateLessThan": {"aws:CurrentTime": grant["expires_at"]},
                      "StringEquals": {"sts:RoleSessionName": "${aws:username}"}}}]
    attached = iam.list_attached_user_policies(UserName="s3-access")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [grant["policy_arn"]]


def test_revoke_detaches_and_deletes_the_policy(api, world):
    request = api.create()
    api.post(f"/v1/requests/{request['id']}/approve", "carol")

    revoked = api.post(f"/v1/requests/{request['id']}/revoke", "s3-access")

    assert revoked.status_code == 200 and revoked.json["state"] == "revoked"
    assert iam_policies(world) == []
    assert world.client("iam").list_attached_user_policies(UserName="s3-access")["AttachedPolicies"] == []
    again = api.post(f"/v1/requests/{request['id']}/revoke", "s3-access")
    assert again.status_code == 409 and "already revoked by s3-access" in again.json["detail"]


def test_every_step_is_an_event_kept_after_the_grant_ends(api):
    request = api.create()
    api.post(f"/v1/requests/{request['id']}/approve", "bob", {"comment": "looks fine"})
    api.post(f"/v1/requests/{request['id']}/revoke", "bob")

    events = api.get(f"/v1/requests/{request['id']}/events", "s3-access").json["events"]

    assert [(e["kind"], e["actor"], e["channel"]) for e in events] == [
        ("created", "s3-access", "api"), ("approved", "bob", "api"), ("activated", "access-broker", "system"),
        ("revoked", "bob", "api")]
    assert events[0]["details"]["reason"] == "fixing the export job"
    assert events[1]["details"]["comment"] == "looks fine"
    assert events[2]["details"]["policy_arn"].startswith("arn:aws:iam::111111111111:policy/access-broker/")
    assert all(e["at"].endswith("Z") for e in events)


def test_deny_and_cancel_end_a_pending_request_without_touching_iam(api, world):
    denied = api.create()
    response = api.post(f"/v1/requests/{denied['id']}/deny", "carol", {"comment": "use the read-only profile"})
    assert response.json["state"] == "denied" and response.json["decided_by"] == "carol"

    cancelled = api.create()
    assert api.post(f"/v1/requests/{cancelled['id']}/cancel", "bob").status_code == 403
    assert api.post(f"/v1/requests/{cancelled['id']}/cancel", "s3-access").json["state"] == "cancelled"
    assert iam_policies(world) == []


def test_only_the_profiles_approvers_decide_and_never_their_own_request(api):
    mine = api.create(as_="bob")
    own = api.post(f"/v1/requests/{mine['id']}/approve", "bob")
    assert own.status_code == 403 and "own request" in own.json["detail"]

    theirs = api.create()
    outsider = api.post(f"/v1/requests/{theirs['id']}/approve", "alice")
    # alice may not see s3-access's request: refused as GET refuses it, naming neither profile nor approvers
    assert outsider.status_code == 404 and "bob" not in outsider.json["detail"]
    assert api.get(f"/v1/requests/{theirs['id']}", "s3-access").json["state"] == "pending"


def test_a_second_approval_of_a_decided_request_changes_nothing(api):
    request = api.create()
    api.post(f"/v1/requests/{request['id']}/approve", "bob")

    late = api.post(f"/v1/requests/{request['id']}/approve", "carol")
    repeat = api.post(f"/v1/requests/{request['id']}/approve", "bob")

    assert late.status_code == 409 and "already approved by bob" in late.json["detail"]
    assert repeat.status_code == 409
    kinds = [e["kind"] for e in api.get(f"/v1/requests/{request['id']}/events", "bob").json["events"]]
    assert kinds.count("activated") == 1


def test_two_required_approvals_come_from_two_different_approvers(api, catalog_file):
    catalog_file(lambda doc: doc["profiles"]["s3-prod"].update(approvals_required=2))
    request = api.create()

    first = api.post(f"/v1/requests/{request['id']}/approve", "bob")
    assert first.json["state"] == "pending" and first.json["approvals_required"] == 2
    assert api.post(f"/v1/requests/{request['id']}/approve", "bob").status_code == 409
    second = api.post(f"/v1/requests/{request['id']}/approve", "carol")

    assert second.json["state"] == "active"
    assert [a["by"] for a in second.json["approvals"]] == ["bob", "carol"]


def test_when_iam_refuses_the_request_fails_with_the_reason_and_nothing_attached(api, world, catalog_file):
    # ghost is in the catalog but has no IAM user in the world: attach fails with NoSuchEntity.
    catalog_file(lambda doc: doc["people"].update(ghost={"iam_user": "ghost"}))
    request = api.create(as_="ghost")

    response = api.post(f"/v1/requests/{request['id']}/approve", "bob")

    assert response.json["state"] == "failed"
    assert "NoSuchEntity" in response.json["failure_reason"]
    events = api.get(f"/v1/requests/{request['id']}/events", "bob").json["events"]
    assert events[-1]["kind"] == "failed" and "ghost" in events[-1]["details"]["reason"]
    assert iam_policies(world) == []


@pytest.mark.parametrize("path", ["/v1/profiles", "/v1/requests", "/v1/requests/x", "/v1/requests/x/events",
                                  "/v1/audit"])
def test_routes_need_an_identity(api, path):
    response = api.get(path)
    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "X-Local-Principal" in response.json["detail"]


def test_health_and_openapi_need_no_identity(api):
    assert api.get("/v1/health").json == {"ok": True}
    document = api.get("/v1/openapi.json").json
    assert document["openapi"].startswith("3.") and "/v1/requests/{request_id}/approve" in document["paths"]


def test_profiles_lists_what_the_caller_may_request(api, catalog_file):
    names = [p["name"] for p in api.get("/v1/profiles", "alice").json["profiles"]]
    assert names == ["s3-prod", "s3-prod-short"]
    catalog_file(lambda doc: doc["profiles"]["s3-prod-short"].update(requesters=["bob"]))
    assert [p["name"] for p in api.get("/v1/profiles", "alice").json["profiles"]] == ["s3-prod"]


def test_listing_shows_mine_and_what_awaits_me(api):
    first, second = api.create(), api.create(as_="alice")
    api.post(f"/v1/requests/{first['id']}/deny", "bob")

    mine = api.get("/v1/requests?mine=true", "s3-access").json
    awaiting = api.get("/v1/requests?awaiting_me=true", "bob").json
    pending = api.get("/v1/requests?state=pending", "carol").json

    assert [r["id"] for r in mine["requests"]] == [first["id"]] and mine["next"] is None
    assert [r["id"] for r in awaiting["requests"]] == [second["id"]]
    assert [r["id"] for r in pending["requests"]] == [second["id"]]
    assert api.get(f"/v1/requests/{second['id']}", "s3-access").status_code == 404  # not theirs


def test_lists_page_newest_first_with_an_opaque_cursor(api, clock):
    ids = []
    for _ in range(3):
        ids.append(api.create()["id"])
        clock.advance(seconds=1)
    first = api.get("/v1/requests?mine=true&limit=2", "s3-access").json
    second = api.get(f"/v1/requests?mine=true&limit=2&next={first['next']}", "s3-access").json
    assert [r["id"] for r in first["requests"] + second["requests"]] == ids[::-1]
    assert api.get("/v1/requests?mine=true&next=garbage", "s3-access").status_code == 400
