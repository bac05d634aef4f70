"""Hostile input gets a 4xx saying what is wrong, never a 5xx, and never a megabyte echoed back (issue 13, point 5)."""
from __future__ import annotations

import pytest

BIG = "9" * 5000
ID = "0" * 26  # shaped like a request id; no such request
LONG_ID = "a" * 2049
DETAIL_MAX = 400  # a message quoting at most ~200 characters of the input


@pytest.mark.parametrize("path", ["/v1/requests", "/v1/audit"])
@pytest.mark.parametrize("limit", ["²", "٣", BIG, "-1", "0", "1.5", "", "１０"])
def test_a_limit_that_is_not_a_small_ascii_number_is_a_400(api, path: str, limit: str) -> None:
    response = api.get(f"{path}?limit={limit}", "bob")
    assert response.status_code == 400, response.body
    assert "limit must be a whole number" in response.json["detail"]


@pytest.mark.parametrize("query", ["until=0001-01-01T00:00:00Z", "since=0001-01-01T00:00:00Z",
                                   "until=9999-12-31T23:59:59Z", "since=9999-12-31T23:59:59-23:59",
                                   "until=0001-01-01T00:00:00%2B23:59"])
def test_audit_times_at_the_ends_of_the_calendar_are_a_400(api, query: str) -> None:
    response = api.get(f"/v1/audit?{query}", "bob")
    assert response.status_code == 400, response.body
    assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize("duration", [BIG + "h", "PT" + BIG + "H", "٢h", "２h", "PT٢H", "1" + "0" * 12 + "s",
                                      "99999999d"])
def test_durations_take_a_few_ascii_digits_only(api, duration: str) -> None:
    response = api.post("/v1/requests", "s3-access", {"profile": "s3-prod", "reason": "x", "duration": duration})
    assert response.status_code == 422, response.body
    assert "duration" in response.json["detail"] and len(response.json["detail"]) < DETAIL_MAX


def test_an_extension_of_5000_digits_is_a_422(api) -> None:
    request = api.create()
    assert api.post(f"/v1/requests/{request['id']}/approve", "bob").json["state"] == "active"
    response = api.post(f"/v1/requests/{request['id']}/extend", "s3-access", {"duration": BIG + "h"})
    assert response.status_code == 422, response.body


ROUTES = [("GET", ""), ("GET", "/events"), ("POST", "/approve"), ("POST", "/deny"), ("POST", "/cancel"),
          ("POST", "/revoke"), ("POST", "/extend")]


@pytest.mark.parametrize("method, tail", ROUTES)
@pytest.mark.parametrize("request_id", [LONG_ID, "x" * 100_000, "é" * 1100, "not-a-request-id"])
def test_a_request_id_that_cannot_exist_is_a_404_without_a_read(api, broker, monkeypatch, method, tail,
                                                                request_id) -> None:
    reads = []
    monkeypatch.setattr(broker.repo, "get", lambda rid: reads.append(rid))  # DynamoDB refuses keys over 2048 bytes
    body = {"duration": "1h"} if tail == "/extend" else {}
    response = api.call(method, f"/v1/requests/{request_id}{tail}", "bob", body=body if method == "POST" else None)

    assert response.status_code == 404, response.body
    assert len(response.json["detail"]) < DETAIL_MAX
    assert reads == []


def test_a_request_id_still_needs_an_identity_first(api) -> None:
    assert api.get(f"/v1/requests/{LONG_ID}").status_code == 401


@pytest.mark.parametrize("body", [
    {"profile": "p" * 1_000_000, "reason": "x"},
    {"profile": "s3-prod", "reason": "x", "duration": "9" * 1_000_000},
    {"profile": "s3-prod", "reason": "x", "duration": "h" * 1_000_000},
    {"profile": "s3-prod", "reason": "x", "f" * 1_000_000: 1},
])
def test_an_error_quotes_at_most_about_200_characters_of_the_input(api, body) -> None:
    response = api.post("/v1/requests", "s3-access", body)

    assert 400 <= response.status_code < 500, response.body[:300]
    detail = response.json["detail"]
    assert len(detail) < DETAIL_MAX, detail[:300]
    assert "1000000 characters" in detail  # says how much was cut


def test_a_long_state_is_quoted_short(api) -> None:
    response = api.get("/v1/requests?state=" + "s" * 100_000, "bob")
    assert response.status_code == 400 and len(response.json["detail"]) < DETAIL_MAX


BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def test_bidirectional_controls_are_stripped_from_reasons_and_comments(api) -> None:
    tricky = "fix the \u202eexport\u202c job \u2067tonight\u2069"
    request = api.create(reason=tricky)
    assert request["reason"] == "fix the export job tonight"

    denied = api.post(f"/v1/requests/{request['id']}/deny", "bob", {"comment": "not \u202etoday\u202c"})
    assert denied.status_code == 200, denied.body
    events = api.get(f"/v1/requests/{request['id']}/events", "bob").json["events"]
    assert events[-1]["details"]["comment"] == "not today"
    assert not any(c in repr(events) for c in BIDI)


def test_a_reason_of_only_bidirectional_controls_is_no_reason(api) -> None:
    response = api.post("/v1/requests", "s3-access", {"profile": "s3-prod", "reason": BIDI})
    assert response.status_code == 422 and "reason is required" in response.json["detail"]


# -- control characters (issue 24, point 12): an escape sequence in a reason ran in an approver's terminal

TERMINAL_TRICKS = {"erase the line": "fixing the export\x1b[2K\rapproved by bob",
                   "set the clipboard (OSC 52)": "fixing \x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07the export",
                   "C1 CSI": "fixing \x9b2Kthe export", "DEL": "fixing\x7f the export", "NUL": "fixing\x00"}


@pytest.mark.parametrize("trick", sorted(TERMINAL_TRICKS))
def test_a_reason_with_control_characters_is_a_422_naming_the_reason(api, trick: str) -> None:
    response = api.post("/v1/requests", "s3-access", {"profile": "s3-prod", "reason": TERMINAL_TRICKS[trick]})
    assert response.status_code == 422, response.body
    assert response.json["detail"].startswith("reason holds the control character U+00")
    assert "write it as plain text (newlines and tabs are fine)" in response.json["detail"]


@pytest.mark.parametrize("verb", ["approve", "deny"])
def test_a_comment_with_control_characters_is_a_400_naming_the_comment(api, verb: str) -> None:
    request = api.create()
    response = api.post(f"/v1/requests/{request['id']}/{verb}", "bob", {"comment": "ok\x1b]52;c;ZXZpbA==\x07"})
    assert response.status_code == 400, response.body
    assert response.json["detail"] == ("comment holds the control character U+001B at position 3; write it as plain "
                                       "text (newlines and tabs are fine)")
    assert api.get(f"/v1/requests/{request['id']}", "bob").json["state"] == "pending", "nothing was decided"


def test_newlines_tabs_and_any_script_are_still_a_reason_and_a_comment(api) -> None:
    reason = "fixing the export job:\n\t1. re-run it\n\t2. check ünïcödé, 日本語, emoji 🚀"
    request = api.create(reason=reason)
    assert request["reason"] == reason
    denied = api.post(f"/v1/requests/{request['id']}/deny", "bob", {"comment": "not today:\n\tuse staging"})
    assert denied.status_code == 200, denied.body
