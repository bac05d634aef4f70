"""What the HTTP API answers to what a caller sends (CONTRACT.md, HTTP API; docs/openapi.json): the JSON body's shape
and fields, query numbers and times, request ids, and who is calling (SigV4, or X-Local-Principal only on an unsigned
local request). Each refusal is a 400, 401 or 404 problem+json naming what to send instead."""
from __future__ import annotations

import json
from typing import Any, Iterator
from urllib.parse import quote

import pytest

from tests import fakes
from tests.app_on_fakes import OnFakes, serve

PROBLEM = "application/problem+json"
CREATE = "/v1/requests"
SIGV4_DETAIL = ("this route needs an IAM identity: sign the request with SigV4 "
                "(locally: send X-Local-Principal: <IAM ARN>)")


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[OnFakes]:
    yield from serve(monkeypatch)


def problem(response: Any, status: int) -> str:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == PROBLEM
    return str(json.loads(response.body)["detail"])


def body(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.body
    return json.loads(response.body)


# -- the JSON body


@pytest.mark.parametrize(("raw", "detail"), [
    (b"{", "the body is not valid JSON; send a JSON object"),
    (b'["s3-prod"]', "the body must be a JSON object"),
    (json.dumps({"profile": "s3-prod", "reason": "r", "zone": 1, "colour": 2}).encode(),
     "unknown field 'colour'; allowed fields are profile, duration, reason, requester, break_glass"),
    (json.dumps({"profile": 5, "reason": "r"}).encode(), "field 'profile' must be a string"),
    (json.dumps({"profile": "s3-prod", "reason": "r", "break_glass": "yes"}).encode(),
     "field 'break_glass' must be a boolean"),
])
def test_a_body_that_is_not_the_object_asked_for_is_a_400_saying_why(app: OnFakes, raw: bytes, detail: str) -> None:
    assert problem(app.post(CREATE, raw=raw, as_="s3-access"), 400) == detail


def test_an_empty_body_is_an_empty_object(app: OnFakes) -> None:
    request = fakes.ask(app.wired)
    answer = body(app.post(f"/v1/requests/{request.id}/cancel", raw=b"", as_="s3-access"))
    assert answer["state"] == "cancelled"


# -- who is calling


def test_no_identity_is_a_401_saying_how_to_give_one(app: OnFakes) -> None:
    assert problem(app.get("/v1/profiles", as_=None), 401) == SIGV4_DETAIL


@pytest.mark.parametrize(("headers", "query"), [
    ({"Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/20261128/eu-west-1/execute-api/aws4_request"}, ""),
    ({"authorization": "AWS4-HMAC-SHA256 Credential=AKIA/20261128/eu-west-1/execute-api/aws4_request"}, ""),
    ({}, "?X-Amz-Signature=0123abcd"),
    ({}, "?x-amz-signature=0123abcd"),
])
def test_a_signed_request_is_never_named_by_x_local_principal(app: OnFakes, headers: dict[str, str],
                                                             query: str) -> None:
    assert problem(app.get(f"/v1/profiles{query}", headers=headers), 401) == SIGV4_DETAIL


def test_an_unsigned_local_request_is_named_by_x_local_principal_and_its_events_say_api(app: OnFakes) -> None:
    assert body(app.get("/v1/profiles?X-Amz-Date=20261128T120000Z"))["profiles"]
    created = body(app.post(CREATE, {"profile": "s3-prod", "reason": "fixing the export job"}, as_="s3-access"), 201)
    events = body(app.get(f"/v1/requests/{created['id']}/events", as_="s3-access"))["events"]
    assert [(e["kind"], e["actor"], e["channel"]) for e in events] == [("created", "s3-access", "api")]


# -- ids and numbers


def test_an_id_that_names_no_request_is_a_404_quoting_it(app: OnFakes) -> None:
    assert problem(app.get("/v1/requests/not-an-id"), 404) == \
        "no request with id 'not-an-id'; ids are 26 letters and digits, as created"


@pytest.mark.parametrize("limit", ["1", "200", "000000200"])
def test_a_limit_from_1_to_200_in_at_most_9_digits_is_taken(app: OnFakes, limit: str) -> None:
    fakes.ask(app.wired)
    fakes.ask(app.wired)
    assert len(body(app.get(f"/v1/requests?limit={limit}", as_="s3-access"))["requests"]) == min(int(limit), 2)


@pytest.mark.parametrize("limit", ["0", "201", "abc", "1.5", "-1", "0000000001", "²"])
def test_any_other_limit_is_a_400(app: OnFakes, limit: str) -> None:
    assert problem(app.get(f"/v1/requests?limit={quote(limit)}"), 400) == "limit must be a whole number from 1 to 200"


# -- the audit window's times


def audit(app: OnFakes, since: str, until: str, **more: str) -> Any:
    query = "&".join(f"{k}={quote(v)}" for k, v in {"since": since, "until": until, **more}.items())
    return app.get(f"/v1/audit?{query}")


def events(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.body
    return [json.loads(line) for line in response.body.decode().splitlines()]


def test_times_without_an_offset_are_utc_and_with_one_are_that_offset(app: OnFakes) -> None:
    created = fakes.ask(app.wired)  # at 12:00 UTC
    app.wired.clock.advance(minutes=5)
    assert [e["request_id"] for e in events(audit(app, "2026-11-28T11:59:00", "2026-11-28T12:01:00"))] == [created.id]
    assert events(audit(app, "2026-11-28T12:59:00+01:00", "2026-11-28T13:01:00+01:00"))[0]["request_id"] == created.id
    assert events(audit(app, "2026-11-28T11:59:00+02:00", "2026-11-28T12:01:00+02:00")) == []


def test_rfc_3339_s_lowercase_z_is_utc_too(app: OnFakes) -> None:
    created = fakes.ask(app.wired)
    app.wired.clock.advance(minutes=5)
    assert [e["request_id"] for e in events(audit(app, "2026-11-28t11:59:00z", "2026-11-28T12:01:00Z"))] == \
        [created.id]


def test_the_calendar_s_first_and_last_days_bound_the_times(app: OnFakes) -> None:
    assert events(audit(app, "0001-01-02T00:00:00Z", "0001-01-03T00:00:00Z")) == []
    assert problem(audit(app, "0001-01-01T23:59:59Z", "0001-01-03T00:00:00Z"), 400) == \
        "since must be a time between 0001-01-02 and 9999-12-30"
    assert problem(audit(app, "9999-12-29T00:00:00Z", "9999-12-30T00:00:00Z"), 400) == \
        "`until` is in the future; no events are recorded there yet"
    assert problem(audit(app, "9999-12-29T00:00:00Z", "9999-12-30T00:00:01Z"), 400) == \
        "until must be a time between 0001-01-02 and 9999-12-30"


def test_locally_the_next_page_s_link_is_the_api_s_own_path(app: OnFakes) -> None:
    fakes.ask(app.wired)
    fakes.ask(app.wired)
    app.wired.clock.advance(minutes=1)
    first = audit(app, "2026-11-28T11:00:00Z", "2026-11-28T12:01:00Z", limit="1")
    assert len(events(first)) == 1
    link = first.headers["Link"]
    assert link.startswith("</v1/audit?since=2026-11-28T11%3A00%3A00Z&until=2026-11-28T12%3A01%3A00Z&limit=1&next=")
    following = app.get(link[1:link.index(">")])
    assert len(events(following)) == 1 and following.body != first.body
