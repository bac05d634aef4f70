"""The console link opened in a browser once it no longer works: a small HTML page (what happened, until when the
access ran, how to ask again), every value escaped; API clients keep problem+json."""
from __future__ import annotations

import re
from html import unescape

import pytest

from chalicelib.routes.pages import prefers_html

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"  # Chromium's


def granted(api) -> dict:
    request = api.create(duration="1h")
    return api.post(f"/v1/requests/{request['id']}/approve", "bob").json


def text(response) -> str:
    """What a reader sees: the page's text, tags dropped, entities decoded, spaces collapsed."""
    body = re.sub(r"</?(?:p|h1|main|body)\b[^>]*>", "\n", response.body.decode().split("<body>", 1)[1])
    return " ".join(unescape(re.sub(r"<[^>]+>", "", body)).split())


def test_a_revoked_grant_shows_when_it_ended_and_how_to_ask_again(api, clock) -> None:
    request = granted(api)
    clock.advance(minutes=10)
    api.post(f"/v1/requests/{request['id']}/revoke", "s3-access")
    page = api.get(request["grant"]["console_url"], headers={"Accept": BROWSER})
    assert page.status_code == 410
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    said = text(page)
    revoked_at = clock().strftime("%Y-%m-%d %H:%M UTC")
    assert f"Your access to S3 prod has ended It was revoked: your access ran until {revoked_at}." in said, said
    assert "To ask again, type /request-access s3-prod in Slack" in said
    assert request["id"] in said and "222222222222" in said
    assert f'<time datetime="{clock().strftime("%Y-%m-%dT%H:%M:%SZ")}">' in page.body.decode()
    assert '<html lang="en">' in page.body.decode() and "<title>" in page.body.decode()


@pytest.mark.parametrize("swept", [False, True])
def test_an_expired_grant_says_it_expired_at_its_end(api, broker, clock, swept) -> None:
    request = granted(api)
    clock.advance(hours=1, minutes=30)
    if swept:
        broker.sweep()
        assert broker.repo.get(request["id"]).state.value == "expired"
    page = api.get(request["grant"]["console_url"], headers={"Accept": BROWSER})
    assert page.status_code == 410
    ends = request["grant"]["expires_at"].replace("T", " ")[:16] + " UTC"
    assert f"It expired: your access ran until {ends}." in text(page)


def test_an_old_link_of_an_extended_grant_points_to_the_newer_one(api, clock) -> None:
    request = granted(api)
    api.post(f"/v1/requests/{request['id']}/extend", "s3-access", {"duration": "1h"})
    extended = api.post(f"/v1/requests/{request['id']}/approve", "bob").json
    clock.advance(minutes=90)  # past the old link's end, inside the extended grant
    page = api.get(request["grant"]["console_url"], headers={"Accept": BROWSER})
    assert page.status_code == 410
    ends = extended["grant"]["expires_at"].replace("T", " ")[:16] + " UTC"
    assert f"was extended: it runs until {ends}. Open the newest link access-broker sent you in Slack." in text(page)
    assert api.get(extended["grant"]["console_url"], headers={"Accept": BROWSER}).status_code == 302


def test_a_link_that_is_not_ours_is_a_403_page_without_details(api) -> None:
    url = granted(api)["grant"]["console_url"]
    page = api.get(url[:-3] + "xyz", headers={"Accept": BROWSER})
    assert page.status_code == 403 and page.headers["Content-Type"].startswith("text/html")
    said = text(page)
    assert "This console link is not valid" in said and "S3 prod" not in said
    assert "/request-access <profile>" in said and "&lt;profile&gt;" in page.body.decode()


def test_the_page_sends_no_referrer_runs_no_script_and_is_not_cached(api) -> None:
    request = granted(api)
    api.post(f"/v1/requests/{request['id']}/revoke", "s3-access")
    page = api.get(request["grant"]["console_url"], headers={"Accept": BROWSER})
    assert page.headers["Referrer-Policy"] == "no-referrer"  # the token is in the URL
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Vary"] == "Accept"
    assert "<script" not in page.body.decode()


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/problem+json",
                                    "text/html;q=0.5, application/json"])
def test_api_clients_keep_problem_json(api, accept) -> None:
    request = granted(api)
    api.post(f"/v1/requests/{request['id']}/revoke", "s3-access")
    answer = api.get(request["grant"]["console_url"], headers={"Accept": accept} if accept else {})
    assert answer.status_code == 410
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json["status"] == 410 and "revoked" in answer.json["detail"]
    assert answer.headers["Vary"] == "Accept"


def test_catalog_text_is_escaped(api, catalog_file) -> None:
    def hostile(doc: dict) -> None:
        doc["profiles"]["s3-prod"]["display_name"] = '<img src=x onerror="alert(1)"> & "prod"'

    catalog_file(hostile)
    request = granted(api)
    api.post(f"/v1/requests/{request['id']}/revoke", "s3-access")
    page = api.get(request["grant"]["console_url"], headers={"Accept": BROWSER})
    body = page.body.decode()
    assert "<img" not in body and "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &quot;prod&quot;" in body
    assert 'Your access to <img src=x onerror="alert(1)"> & "prod" has ended' in text(page)


@pytest.mark.parametrize("accept, html", [
    (BROWSER, True), ("text/html", True), ("application/xhtml+xml", True), ("TEXT/HTML; q=1", True),
    (None, False), ("", False), ("*/*", False), ("text/*", False), ("application/json", False),
    ("text/html;q=0", False), ("text/html;q=0.5, application/problem+json", False),
    ("text/html;q=oops", False), ("text/html, application/json", True),
])
def test_who_gets_html(accept, html) -> None:
    assert prefers_html(accept) is html
