"""A console link that no longer works says why to an API client (problem+json `detail`), beside the same link
working. Written against the mutants of chalicelib/aws/links.py that `make mutate` found surviving (the messages)."""
from __future__ import annotations

import pytest


def _granted(api) -> dict:
    request = api.create(duration="1h")
    return api.post(f"/v1/requests/{request['id']}/approve", "bob").json


@pytest.mark.parametrize("past_the_end", [False, True])
def test_an_expired_link_says_it_expired_and_to_ask_again(api, clock, past_the_end: bool) -> None:
    grant = _granted(api)["grant"]
    clock.advance(hours=1, seconds=0 if past_the_end else -1)
    response = api.get(grant["console_url"])
    if past_the_end:
        assert response.status_code == 410
        assert response.json["detail"] == "this console link has expired; request access again"
    else:
        assert response.status_code == 302 and response.headers["Location"] == grant["switch_role_url"]


@pytest.mark.parametrize("tampered", [False, True])
def test_a_tampered_link_says_to_use_the_link_that_was_sent(api, tampered: bool) -> None:
    url = _granted(api)["grant"]["console_url"]
    if tampered:
        url = url[:-1] + ("x" if not url.endswith("x") else "y")
    response = api.get(url)
    if tampered:
        assert response.status_code == 403
        assert response.json["detail"] == "this console link is not valid; use the link access-broker sent you"
    else:
        assert response.status_code == 302
