"""Rules at their edges, each shown allowed and refused over the HTTP API: who a caller is, what awaits an approver,
the break-glass reason's length, and an extension decided at the very moment its grant ends.

Each test here was written against a single-line fault planted in the code (issue 16, point 6) and fails with it."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tools.world import ROLE_NAME, SOURCE_ACCOUNT, TARGET_ACCOUNT

OTHER_ACCOUNT = "333333333333"
BREAK_GLASS = {"account": TARGET_ACCOUNT, "role": ROLE_NAME, "approvers": ["s3-approvers"], "break_glass": True,
               "approval_channel": "C01APPROVALS", "requesters": ["alice"]}


def _user(name: str, account: str = SOURCE_ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:user/{name}"


# -- who the caller is: an IAM user is a person only in the catalog's source account

@pytest.mark.parametrize("account, person", [(SOURCE_ACCOUNT, "bob"), (OTHER_ACCOUNT, None)])
def test_an_iam_user_is_a_person_only_in_the_source_account(api, account: str, person: str | None) -> None:
    """Fault caught: caller_from_arn without its account check maps `bob` of any account to the approver bob."""
    pending = api.create()
    profiles = api.get("/v1/profiles", _user("bob", account)).json["profiles"]
    decided = api.post(f"/v1/requests/{pending['id']}/approve", _user("bob", account))
    if person:
        assert [p["name"] for p in profiles] == ["s3-prod", "s3-prod-short"]
        assert decided.status_code == 200 and decided.json["state"] == "active", decided.body
    else:
        assert profiles == [], "an IAM user named bob in another account is nobody here"
        assert decided.status_code == 403 and "is not mapped to a person" in decided.json["detail"], decided.body
        assert api.get(f"/v1/requests/{pending['id']}", "s3-access").json["state"] == "pending"


# -- what awaits an approver: other people's requests, never their own

def test_awaiting_me_lists_what_others_ask_and_never_an_approvers_own_request(api) -> None:
    """Fault caught: an approver's own pending requests listed as awaiting them (they may never approve those)."""
    theirs = api.create(as_="s3-access")["id"]
    own = api.create(as_="bob")["id"]

    awaiting_bob = [r["id"] for r in api.get("/v1/requests?awaiting_me=true", "bob").json["requests"]]
    awaiting_carol = [r["id"] for r in api.get("/v1/requests?awaiting_me=true", "carol").json["requests"]]

    assert theirs in awaiting_bob and own not in awaiting_bob
    assert sorted(awaiting_carol) == sorted([theirs, own]), "the other approver sees both"
    assert api.post(f"/v1/requests/{own}/approve", "bob").status_code == 403  # why it must not be listed


# -- break-glass: a reason of 20 characters is enough, 19 is not

@pytest.fixture
def break_glass_profile(api, catalog_file) -> None:
    catalog_file(lambda doc: doc["profiles"].update({"s3-break-glass": BREAK_GLASS}))


@pytest.mark.parametrize("length, status", [(20, 201), (19, 422)])
def test_a_break_glass_reason_of_exactly_20_characters_is_enough(api, break_glass_profile, length: int,
                                                                 status: int) -> None:
    """Fault caught: `len(reason) <= 20` refusing a reason of exactly the documented minimum."""
    reason = "prod down, pager 7!!"[:length].ljust(length, "!")
    assert len(reason) == length
    response = api.post("/v1/requests", "alice", {"profile": "s3-break-glass", "reason": reason, "break_glass": True})
    assert response.status_code == status, response.body
    if status == 201:
        assert response.json["state"] == "active" and response.json["break_glass"] is True
    else:
        assert "at least 20 characters (this one has 19)" in response.json["detail"]


# -- an extension decided when its grant ends: one second before is in time, the very end is too late

@pytest.mark.parametrize("before_end, status", [(timedelta(seconds=1), 200), (timedelta(0), 409)])
def test_an_extension_approved_at_exactly_the_grants_end_is_refused(api, broker, clock, before_end: timedelta,
                                                                    status: int) -> None:
    """Fault caught: `now > expires_at` in the extension check, extending a grant IAM has already ended."""
    created = api.create()
    granted = api.post(f"/v1/requests/{created['id']}/approve", "bob").json
    end = granted["grant"]["expires_at"]
    assert api.post(f"/v1/requests/{created['id']}/extend", "s3-access", {"duration": "30m"}).status_code == 200

    clock.now = datetime.fromisoformat(end.replace("Z", "+00:00")) - before_end
    decided = api.post(f"/v1/requests/{created['id']}/approve", "bob")

    assert decided.status_code == status, decided.body
    stored = broker.repo.get(created["id"]).grant.expires_at
    if status == 200:
        assert decided.json["grant"]["expires_at"] != end
        assert stored == datetime.fromisoformat(end.replace("Z", "+00:00")) + timedelta(minutes=30)
    else:
        assert "already ended" in decided.json["detail"] and "request access again" in decided.json["detail"]
        assert stored == datetime.fromisoformat(end.replace("Z", "+00:00")), "the end did not move"
