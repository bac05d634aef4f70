"""Extend: a new approval round (or automatic where the profile says so), never past max_duration; the new end
is in the request, the grant policy, the console link and the due index at once."""
from __future__ import annotations

from datetime import timedelta

from chalicelib.domain.requests import State

HOUR = timedelta(hours=1)


def _granted(api, duration: str = "1h") -> dict:
    created = api.create(duration=duration)
    granted = api.post(f"/v1/requests/{created['id']}/approve", "bob").json
    assert granted["state"] == "active", granted
    return granted


def _condition(iam, policy_arn: str) -> str:
    return iam.document(policy_arn)["Statement"][0]["Condition"]["DateLessThan"]["aws:CurrentTime"]


def test_an_approved_extension_moves_the_end_everywhere(api, broker, people, iam, clock):
    granted = _granted(api)
    old_end, policy = granted["grant"]["expires_at"], granted["grant"]["policy_arn"]

    asked = api.post(f"/v1/requests/{granted['id']}/extend", "s3-access", {"duration": "1h"})
    assert asked.status_code == 200, asked.body
    assert asked.json["grant"]["expires_at"] == old_end, "nothing moves before the approvers decide"
    assert asked.json["extension"]["duration_seconds"] == 3600
    assert _condition(iam, policy) == old_end

    approved = api.post(f"/v1/requests/{granted['id']}/approve", "bob", {"comment": "ok, one more hour"})
    assert approved.status_code == 200, approved.body
    new_end = approved.json["grant"]["expires_at"]
    stored = broker.repo.get(granted["id"])
    assert stored.grant.expires_at == stored.grant.starts_at + 2 * HOUR and approved.json["extension"] is None
    assert _condition(iam, policy) == new_end, "the policy's condition carries the new end"
    tags = {t["Key"]: t["Value"] for t in iam.client.get_policy(PolicyArn=policy)["Policy"]["Tags"]}
    assert tags["access-broker:expires-at"] == new_end, "the policy's tag says the new end, not the old"
    versions = iam.client.list_policy_versions(PolicyArn=policy)["Versions"]
    assert [v["IsDefaultVersion"] for v in versions] == [True], "the old version is deleted: no overlap"
    assert iam.attached() == [policy], "the same policy stays attached throughout: no gap"
    assert stored.due_at == stored.grant.expires_at - timedelta(minutes=10), "the due index follows"
    assert people.kinds(granted["id"])[-2:] == ["extension_requested", "extended"]

    clock.advance(minutes=61)  # past the old end
    broker.sweep()
    assert broker.repo.get(granted["id"]).state == State.ACTIVE
    link = api.get(approved.json["grant"]["console_url"])
    assert link.status_code == 302, "the new console link works past the old end"
    clock.advance(minutes=60)
    broker.sweep()
    assert broker.repo.get(granted["id"]).state == State.EXPIRED and iam.policies() == []


def test_the_requester_is_warned_again_before_the_new_end(api, broker, people, clock, recorder):
    granted = _granted(api)
    clock.advance(minutes=51)
    broker.sweep()
    api.post(f"/v1/requests/{granted['id']}/extend", "s3-access", {"duration": "30m"})
    api.post(f"/v1/requests/{granted['id']}/approve", "carol")
    clock.advance(minutes=30)
    broker.sweep()
    assert recorder.kinds(granted["id"]).count("expiry_warning") == 2


def test_an_extension_can_be_denied_and_the_grant_ends_as_planned(api, broker, people, iam, clock):
    granted = _granted(api)
    api.post(f"/v1/requests/{granted['id']}/extend", "s3-access", {"duration": "1h"})
    denied = api.post(f"/v1/requests/{granted['id']}/deny", "carol", {"comment": "not today"})
    assert denied.status_code == 200 and denied.json["state"] == "active" and denied.json["extension"] is None
    assert denied.json["grant"]["expires_at"] == granted["grant"]["expires_at"]
    assert people.kinds(granted["id"])[-1] == "extension_denied"
    clock.advance(minutes=61)
    broker.sweep()
    assert broker.repo.get(granted["id"]).state == State.EXPIRED


def test_extensions_are_automatic_where_the_profile_allows(catalog_file, api, people, iam):
    people.broker = catalog_file(lambda doc: doc["profiles"]["s3-prod"].update(extension={"auto_approve": True}))
    granted = _granted(api)
    extended = api.post(f"/v1/requests/{granted['id']}/extend", "s3-access", {"duration": "2h"})
    assert extended.status_code == 200, extended.body
    assert extended.json["extension"] is None
    assert _condition(iam, granted["grant"]["policy_arn"]) == extended.json["grant"]["expires_at"]
    assert people.kinds(granted["id"])[-1] == "extended"


def test_an_extension_beyond_max_duration_is_refused_naming_the_longest_allowed(api):
    granted = _granted(api)
    refused = api.post(f"/v1/requests/{granted['id']}/extend", "s3-access", {"duration": "4h"})
    assert refused.status_code == 422 and refused.headers["Content-Type"] == "application/problem+json"
    detail = refused.json["detail"]
    assert "at most 4h in total" in detail and "longest extension allowed is 3h" in detail, detail
    assert refused.json["max_extension_seconds"] == 3 * 3600
    assert api.post(f"/v1/requests/{granted['id']}/extend", "s3-access", {"duration": "3h"}).status_code == 200


def test_bad_extensions_get_clear_problems(api, catalog_file):
    granted = _granted(api)
    path = f"/v1/requests/{granted['id']}/extend"
    unknown = api.post("/v1/requests/01nosuchrequest00000000000/extend", "s3-access", {"duration": "1h"})
    assert unknown.status_code == 404 and "no request with id" in unknown.json["detail"]
    assert api.post(path, "bob", {"duration": "1h"}).status_code == 403, "only the requester extends"
    assert api.post(path, "s3-access", {}).status_code == 400, "duration is required"
    assert api.post(path, "s3-access", {"duration": "soon"}).status_code == 422
    assert api.post(path, "s3-access", {"duration": "1h"}).status_code == 200
    waiting = api.post(path, "s3-access", {"duration": "1h"})
    assert waiting.status_code == 409 and "already has an extension waiting" in waiting.json["detail"]
    own = api.post(f"/v1/requests/{granted['id']}/approve", "s3-access")
    assert own.status_code == 403

    api.post(f"/v1/requests/{granted['id']}/revoke", "s3-access")
    ended = api.post(path, "s3-access", {"duration": "1h"})
    assert ended.status_code == 409 and "revoked" in ended.json["detail"]

    catalog_file(lambda doc: doc["profiles"]["s3-prod"].update(extension={"allowed": False}))
    other = _granted(api)
    closed = api.post(f"/v1/requests/{other['id']}/extend", "s3-access", {"duration": "1h"})
    assert closed.status_code == 403 and "does not allow extensions" in closed.json["detail"]


def test_iam_refusing_the_new_version_changes_nothing(api, broker, iam, faults):
    granted = _granted(api)
    api.post(f"/v1/requests/{granted['id']}/extend", "s3-access", {"duration": "1h"})
    faults.fail("CreatePolicyVersion", times=99, status=503, code="ServiceUnavailable")
    refused = api.post(f"/v1/requests/{granted['id']}/approve", "bob")
    assert refused.status_code == 503 and "still ends at" in refused.json["detail"]
    stored = broker.repo.get(granted["id"])
    assert stored.extension is not None and stored.grant.expires_at.strftime("%Y-%m-%dT%H:%M:%SZ") == \
        granted["grant"]["expires_at"]
    faults.heal()
    assert api.post(f"/v1/requests/{granted['id']}/approve", "bob").status_code == 200


def test_an_extension_approved_after_the_end_is_refused(api, broker, clock):
    """Past `expires_at` IAM already refuses the grant; an approval arriving before the sweeper must not revive it."""
    granted = _granted(api)
    clock.advance(minutes=50)
    api.post(f"/v1/requests/{granted['id']}/extend", "s3-access", {"duration": "1h"})
    clock.advance(minutes=11)
    late = api.post(f"/v1/requests/{granted['id']}/approve", "bob")
    assert late.status_code == 409 and "already ended" in late.json["detail"], late.body
    broker.sweep()
    assert broker.repo.get(granted["id"]).state == State.EXPIRED


def test_an_extension_needs_as_many_approvals_as_the_request(catalog_file, api, people):
    people.broker = catalog_file(lambda doc: doc["profiles"]["s3-prod"].update(approvals_required=2))
    created = api.create()
    api.post(f"/v1/requests/{created['id']}/approve", "bob")
    granted = api.post(f"/v1/requests/{created['id']}/approve", "carol").json
    assert granted["state"] == "active"
    api.post(f"/v1/requests/{granted['id']}/extend", "s3-access", {"duration": "1h"})

    first = api.post(f"/v1/requests/{granted['id']}/approve", "bob").json
    assert first["grant"]["expires_at"] == granted["grant"]["expires_at"] and len(first["extension"]["approvals"]) == 1
    again = api.post(f"/v1/requests/{granted['id']}/approve", "bob")
    assert again.status_code == 409 and "needs another approver" in again.json["detail"]
    second = api.post(f"/v1/requests/{granted['id']}/approve", "carol").json
    assert second["extension"] is None and second["grant"]["expires_at"] > granted["grant"]["expires_at"]
    assert people.kinds(granted["id"])[-3:] == ["extension_requested", "extension_approval_added", "extended"]
