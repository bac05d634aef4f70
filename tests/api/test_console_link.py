"""The signed console link: 302 while the grant lasts, 410 once it ended, 403 when tampered with."""
from __future__ import annotations


def active_request(api) -> dict:
    request = api.create(duration="1h")
    return api.post(f"/v1/requests/{request['id']}/approve", "bob").json


def test_the_link_redirects_to_the_switch_role_page_while_the_grant_is_active(api):
    grant = active_request(api)["grant"]
    response = api.get(grant["console_url"])
    assert response.status_code == 302
    assert response.headers["Location"] == grant["switch_role_url"]


def test_the_link_is_gone_once_the_grant_is_revoked(api):
    request = active_request(api)
    api.post(f"/v1/requests/{request['id']}/revoke", "s3-access")
    response = api.get(request["grant"]["console_url"])
    assert response.status_code == 410 and "revoked" in response.json["detail"]


def test_the_link_is_gone_once_the_grant_expires(api, clock):
    request = active_request(api)
    clock.advance(hours=1, seconds=1)
    assert api.get(request["grant"]["console_url"]).status_code == 410


def test_a_tampered_link_is_forbidden(api):
    url = active_request(api)["grant"]["console_url"]
    payload, signature = url.removeprefix("/v1/console/").split(".")
    other = active_request(api)["grant"]["console_url"].removeprefix("/v1/console/").split(".")[0]
    altered = signature[:-1] + ("x" if not signature.endswith("x") else "y")
    for token in (f"{payload}.{altered}", f"{other}.{signature}", payload, "garbage"):
        assert api.get(f"/v1/console/{token}").status_code == 403, token
