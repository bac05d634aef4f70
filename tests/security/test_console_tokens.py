"""Console links cannot be forged, stretched or moved to another grant; an ended grant's link is gone."""
from __future__ import annotations

import base64
import json
from datetime import datetime

import pytest

from chalicelib.aws.links import ConsoleTokens


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).rstrip(b"=").decode()


def claims(token: str) -> dict:
    payload = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


@pytest.fixture
def two_grants(api):
    mine = api.post(f"/v1/requests/{api.create()['id']}/approve", "bob").json
    theirs = api.post(f"/v1/requests/{api.create(as_='alice')['id']}/approve", "carol").json
    return [r["grant"]["console_url"].removeprefix("/v1/console/") for r in (mine, theirs)], mine, theirs


def test_forged_console_tokens_are_forbidden(api, two_grants) -> None:
    (token, other), mine, theirs = two_grants
    payload, signature = token.split(".")
    stretched = b64({**claims(token), "e": claims(token)["e"] + 86400})
    moved = b64({**claims(token), "r": theirs["id"]})
    forged = {
        "altered payload (a day longer)": f"{stretched}.{signature}",
        "altered signature": f"{payload}.{signature[:-2]}{'AA' if not signature.endswith('AA') else 'BB'}",
        "swapped grant id": f"{moved}.{signature}",
        "another grant's payload": f"{other.split('.')[0]}.{signature}",
        "signed with another key": ConsoleTokens(b"not-the-broker-key-0123456789").sign(
            mine["id"], datetime.fromisoformat(mine["grant"]["expires_at"])),
        "no signature": payload,
        "empty signature": f"{payload}.",
        "not a token": "%00%ff..",
    }
    for what, forgery in forged.items():
        response = api.get(f"/v1/console/{forgery}")
        assert response.status_code == 403, f"{what}: {response.status_code} {response.body!r}"
        assert response.json["title"] == "Forbidden" and "Traceback" not in response.json["detail"]
    assert api.get(f"/v1/console/{token}").status_code == 302, "the genuine link still works"


def test_a_revoked_grants_link_is_gone_and_the_other_still_works(api, two_grants) -> None:
    (token, other), mine, _ = two_grants
    api.post(f"/v1/requests/{mine['id']}/revoke", "bob")
    assert api.get(f"/v1/console/{token}").status_code == 410
    assert api.get(f"/v1/console/{other}").status_code == 302

