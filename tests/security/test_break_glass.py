"""Break-glass: on a break-glass profile the requester gets access at once, with a real reason, for a short time,
announced loudly and flagged for review."""
from __future__ import annotations

import pytest

from chalicelib.catalog import parse_catalog
from chalicelib.domain.errors import CatalogError
from tests.fakes import Recorder
from tools.world import ROLE_NAME, TARGET_ACCOUNT

REASON = "prod export is down, on-call pager INC-7"
BREAK_GLASS = {"account": TARGET_ACCOUNT, "role": ROLE_NAME, "approvers": ["s3-approvers"], "break_glass": True,
               "approval_channel": "C01APPROVALS", "requesters": ["alice"]}


@pytest.fixture
def heard(api, catalog_file) -> Recorder:
    recorder = Recorder()
    catalog_file(lambda doc: doc["profiles"].update({"s3-break-glass": BREAK_GLASS}), notifier=recorder)
    return recorder


def break_glass(api, reason: str = REASON, **extra):
    return api.post("/v1/requests", "alice", {"profile": "s3-break-glass", "reason": reason, "break_glass": True,
                                              **extra})


def test_break_glass_is_active_at_once_and_announced_for_review(api, heard, world, clock) -> None:
    response = break_glass(api)

    assert response.status_code == 201, response.body
    request = response.json
    assert request["state"] == "active" and request["break_glass"] is True
    assert request["approvals"] == [] and request["decided_by"] == "alice"
    assert request["duration_seconds"] == 3600 and request["grant"]["policy_arn"]
    sts = world.client("sts", "alice")
    assert sts.assume_role(RoleArn=request["role_arn"], RoleSessionName="alice")["Credentials"]

    kinds = [e["kind"] for e in api.get(f"/v1/requests/{request['id']}/events", "bob").json["events"]]
    assert kinds == ["break_glass_activated", "activated"]
    request, event = heard.told[0]
    kind, state, details = event.kind, request.state.value, event.details
    assert (kind, state) == ("break_glass_activated", "approved")
    assert details["review"] is True and details["reason"] == REASON
    assert (details["approval_channel"], details["security_channel"]) == ("C01APPROVALS", "C01SECURITY")
    clock.advance(seconds=1)  # the export's window ends before `now`
    audit = api.get("/v1/audit", "carol").body.decode()
    assert '"kind": "break_glass_activated"' in audit and '"review": true' in audit


def test_break_glass_can_be_revoked_by_an_approver(api, heard) -> None:
    request = break_glass(api).json
    assert api.post(f"/v1/requests/{request['id']}/revoke", "bob").json["state"] == "revoked"


@pytest.mark.parametrize("reason", ["prod is down", "x" * 19, " " * 25 + "short"])
def test_break_glass_needs_a_reason_of_20_characters(api, heard, reason: str) -> None:
    response = break_glass(api, reason)
    assert response.status_code == 422 and "at least 20 characters" in response.json["detail"]
    assert api.get("/v1/requests?mine=true", "alice").json["requests"] == [] and heard.told == []


def test_break_glass_is_capped_at_an_hour_by_default(api, heard) -> None:
    response = break_glass(api, duration="2h")
    assert response.status_code == 422 and "15m to 1h" in response.json["detail"]
    assert break_glass(api, duration="30m").json["duration_seconds"] == 1800


def test_no_break_glass_on_an_ordinary_profile(api, heard) -> None:
    response = api.post("/v1/requests", "alice", {"profile": "s3-prod", "reason": REASON, "break_glass": True})
    assert response.status_code == 403 and "no break-glass" in response.json["detail"]
    assert api.get("/v1/requests?mine=true", "alice").json["requests"] == []


def test_without_the_flag_a_break_glass_profile_asks_for_approval(api, heard) -> None:
    response = api.post("/v1/requests", "alice", {"profile": "s3-break-glass", "reason": "routine"})
    assert response.json["state"] == "pending" and response.json["break_glass"] is False
    assert heard.told[0][1].kind == "created"


def test_only_the_profiles_requesters_may_break_glass(api, heard) -> None:
    response = api.post("/v1/requests", "s3-access", {"profile": "s3-break-glass", "reason": REASON,
                                                      "break_glass": True})
    assert response.status_code == 422


def test_catalog_caps_break_glass_profiles_unless_told(tmp_path) -> None:
    base = {"source_account": "111111111111", "people": {"a": {"iam_user": "a"}, "b": {"iam_user": "b"}}}
    profile = {"account": TARGET_ACCOUNT, "role": "r", "approvers": ["b"], "break_glass": True}
    capped = parse_catalog({**base, "profiles": {"bg": profile}}).profiles["bg"]
    assert (capped.default_duration, capped.max_duration) == (3600, 3600)
    short = parse_catalog({**base, "profiles": {"bg": {**profile, "max_duration": "30m"}}}).profiles["bg"]
    assert (short.default_duration, short.max_duration) == (1800, 1800)
    with pytest.raises(CatalogError, match="break_glass: must be true or false"):
        parse_catalog({**base, "profiles": {"bg": {**profile, "break_glass": "yes"}}})
