"""IAM takes a while to apply a new grant (issue 23): until `grant.usable_at` the console link answers a small page
(200, text/html) that says access is getting ready and moves on to the switch-role URL by itself; from then on, the
302 as before. The broker's delay here is the local world's model (LOCAL_IAM_PROPAGATION) plus a second."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from html import unescape

import pytest

from chalicelib import bootstrap

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture
def slow_iam(api, clock, monkeypatch):
    """The app wired as `make run` wires it with a 20 s model: a grant is announced usable 21 s after its attach."""
    monkeypatch.setenv("LOCAL_IAM_PROPAGATION", "20")
    bootstrap.reset()
    bootstrap.broker(clock=clock)
    yield api
    monkeypatch.setenv("LOCAL_IAM_PROPAGATION", "0")
    bootstrap.reset()


def granted(api) -> dict:
    request = api.create(duration="1h")
    return api.post(f"/v1/requests/{request['id']}/approve", "bob").json


def test_the_request_says_when_the_grant_is_usable(slow_iam, clock) -> None:
    grant = granted(slow_iam)["grant"]
    assert grant["usable_at"] == (clock() + timedelta(seconds=21)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert grant["starts_at"] == clock().strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize("accept", [BROWSER, "application/json", None])
def test_before_usable_at_the_link_answers_a_page_that_moves_on_by_itself(slow_iam, clock, accept) -> None:
    grant = granted(slow_iam)["grant"]
    clock.advance(seconds=6)
    page = slow_iam.get(grant["console_url"], headers={"Accept": accept} if accept else {})
    assert page.status_code == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.body.decode()
    (refresh,) = re.findall(r'<meta http-equiv="refresh" content="([^"]+)">', html)
    assert unescape(refresh) == f"15; url={grant['switch_role_url']}", "on to the console once IAM has applied it"
    said = " ".join(unescape(re.sub(r"<[^>]+>", "", html.split("<body>", 1)[1])).split())
    usable = datetime.fromisoformat(grant["usable_at"].replace("Z", "+00:00"))
    assert f"moves on to the AWS console by itself at {usable:%H:%M:%S} UTC, in about 15 seconds" in said
    assert "<script" not in html and page.headers["Cache-Control"] == "no-store"


def test_from_usable_at_on_the_link_redirects_as_before(slow_iam, clock) -> None:
    grant = granted(slow_iam)["grant"]
    clock.advance(seconds=21)
    moved = slow_iam.get(grant["console_url"])
    assert moved.status_code == 302 and moved.headers["Location"] == grant["switch_role_url"]


def test_with_the_model_off_the_link_redirects_at_once(api) -> None:
    grant = granted(api)["grant"]
    assert grant["usable_at"] == grant["starts_at"]
    assert api.get(grant["console_url"]).status_code == 302
