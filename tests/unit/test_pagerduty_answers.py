"""The PagerDuty client (chalicelib/pagerduty.py) against the local stand-in (tools/pagerduty_stub.py), fast: the one
request it sends, who it finds on which page, and the exact reason of every failure an approver reads (PagerDuty's
errors and rate limits, answers of an odd shape or size, an address that answers nothing, a lookup out of time).
Every lookup ends as OnCallNow, NotOnCall or LookupFailed: never an exception."""
from __future__ import annotations

import json
import socket
from datetime import datetime, timezone
from typing import Any

import pytest

from chalicelib.domain.on_call import LookupFailed, NotOnCall, OnCallNow
from chalicelib.pagerduty import PagerDuty, TokenUnavailable
from tests.pagerduty_stand_in import running, stub  # noqa: F401 (fixtures)
from tools.pagerduty_stub import STUB_TOKEN, PagerDutyStub

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc)
ALICE = "alice@example.com"


def client(stub: PagerDutyStub, token: str = STUB_TOKEN, api_url: str | None = None,
           budget_s: float = 2.0) -> PagerDuty:
    return PagerDuty(token=lambda: token, clock=lambda: NOW, api_url=api_url or stub.url, budget_s=budget_s)


def entry(schedule: str, user: dict[str, Any]) -> dict[str, Any]:
    return {"escalation_level": 1, "schedule": {"id": schedule, "type": "schedule_reference"}, "user": user}


def offsets(stub: PagerDutyStub) -> list[str]:
    return [r["query"]["offset"][0] for r in stub.requests]


# -- the request

def test_one_request_asks_pagerduty_who_is_on_call_now_in_the_schedules_with_their_users(stub):
    assert client(stub).on_call(ALICE, ["P0SCHED1", "P0SCHED2"]) == NotOnCall()
    (sent,) = stub.requests
    assert sent["path"] == "/oncalls"
    assert sent["query"] == {"schedule_ids[]": ["P0SCHED1", "P0SCHED2"], "include[]": ["users"],
                             "since": ["2026-11-28T03:00:00Z"], "until": ["2026-11-28T03:00:00Z"],
                             "limit": ["100"], "offset": ["0"]}
    assert {k: sent["headers"][k] for k in ("authorization", "accept", "user-agent")} == {
        "authorization": f"Token token={STUB_TOKEN}", "accept": "application/vnd.pagerduty+json;version=2",
        "user-agent": "access-broker"}


# -- who is found

def test_the_on_call_requester_is_found_with_their_pagerduty_user_id(stub):
    stub.set_on_call("P0SCHED2", {"email": "Alice@Example.com", "id": "PALICE1"})
    assert client(stub).on_call(ALICE, ["P0SCHED1", "P0SCHED2"]) == OnCallNow("P0SCHED2", "PALICE1",
                                                                             "Alice@Example.com")


def test_a_user_pagerduty_gave_without_an_id_is_found_with_an_empty_id(stub):
    stub.say({"oncalls": [entry("P0SCHED1", {"email": ALICE})], "limit": 100, "offset": 0, "more": False})
    assert client(stub).on_call(ALICE, ["P0SCHED1"]) == OnCallNow("P0SCHED1", "", ALICE)


def test_a_budget_under_a_second_is_enough_for_a_prompt_answer(stub):
    stub.set_on_call("P0SCHED1", ALICE)
    assert isinstance(client(stub, budget_s=0.5).on_call(ALICE, ["P0SCHED1"]), OnCallNow)


def test_every_page_is_followed_at_the_offsets_pagerduty_pages_by(stub):
    stub.set_on_call("P0SCHED1", *[f"person{i}@example.com" for i in range(250)], ALICE)
    found = client(stub).on_call(ALICE, ["P0SCHED1"])
    assert isinstance(found, OnCallNow) and offsets(stub) == ["0", "100", "200"]


def test_users_without_an_email_are_counted_over_every_page(stub):
    stub.set_on_call("P0SCHED1", *[{"email": None, "id": f"PNOMAIL{i}"} for i in range(102)])
    assert client(stub).on_call(ALICE, ["P0SCHED1"]) == NotOnCall(without_email=102)
    assert offsets(stub) == ["0", "100"]


@pytest.mark.parametrize("limit,then", [
    (100, "100"),  # fewer entries than the page size, and more follow: the next page is at the page size
    (0, "1"),  # a page size PagerDuty never gives: the next page is after the entries received
])
def test_the_next_page_starts_where_pagerduty_says_this_one_ends(stub, limit, then):
    stub.say({"oncalls": [entry("P0SCHED1", {"id": "PBOB", "email": "bob@example.com"})], "limit": limit,
              "offset": 0, "more": True})
    assert client(stub).on_call(ALICE, ["P0SCHED1"]) == NotOnCall()
    assert offsets(stub) == ["0", then]


# -- what fails, and the reason an approver reads

@pytest.mark.parametrize("body,reason", [
    ([], "PagerDuty's answer is not a JSON object"),
    ({"more": False}, "PagerDuty's answer has no oncalls list"),
    ({"oncalls": [], "limit": 100, "offset": 0, "more": True},
     "PagerDuty said more on-calls follow but sent an empty page"),
])
def test_an_answer_of_another_shape_fails_saying_what_is_wrong(stub, body, reason):
    stub.say(body)
    assert client(stub).on_call(ALICE, ["P0SCHED1"]) == LookupFailed(reason)


def test_an_answer_larger_than_4_mib_is_not_read_on(stub):
    page = {"oncalls": [entry("P0SCHED1", {"id": "PALICE1", "email": ALICE})], "more": False, "pad": ""}
    page["pad"] = "x" * (4 * 1024 * 1024 + 100 - len(json.dumps(page)))  # the whole answer: 4 MiB and 100 bytes
    stub.say(page)
    assert client(stub).on_call(ALICE, ["P0SCHED1"]) == LookupFailed("PagerDuty's answer is not JSON")


def _arrange(stub: PagerDutyStub, how: str) -> None:
    big = {"error": {"message": "Internal Server Error", "code": 2000}, "pad": ""}
    big["pad"] = "x" * (64 * 1024 + 32 - len(json.dumps(big)))  # the whole body: 64 KiB and 32 bytes
    {
        "403": lambda: stub.fail(403),
        "500": lambda: stub.fail(500),
        "429": lambda: stub.fail(429),
        "429 with Retry-After": lambda: stub.fail(429, retry_after=30),
        "no message": lambda: stub.say({"error": {"code": 2000}}, status=500),
        "no code": lambda: stub.say({"error": {"message": "Oops"}}, status=502),
        "a proxy's page": lambda: stub.say(b"<html><body>502 Bad Gateway</body></html>", status=502),
        "a long message": lambda: stub.say({"error": {"message": "m" * 400, "code": 2000}}, status=500),
        "an error body over 64 KiB": lambda: stub.say(big, status=500),
        "unknown schedule": lambda: None,
        "wrong token": lambda: None,
    }[how]()


@pytest.mark.parametrize("how,reason", [
    ("wrong token", "PagerDuty answered 401: Unauthorized (code 2006) (the token is refused)"),
    ("403", "PagerDuty answered 403: Error (code 2000) (the token may not read on-calls)"),
    ("unknown schedule", "PagerDuty answered 404: Not Found (code 2100) (an unknown schedule?)"),
    ("500", "PagerDuty answered 500: Internal Server Error (code 2000)"),
    ("429", "PagerDuty answered 429: Rate Limit Exceeded (code 2020) (rate limited)"),
    ("429 with Retry-After",
     "PagerDuty answered 429: Rate Limit Exceeded (code 2020) (rate limited; retry after 30 s)"),
    ("no message", "PagerDuty answered 500 (code 2000)"),
    ("no code", "PagerDuty answered 502: Oops"),
    ("a proxy's page", "PagerDuty answered 502"),
    ("a long message", ("PagerDuty answered 500: " + "m" * 400)[:300]),
    ("an error body over 64 KiB", "PagerDuty answered 500"),  # not read on: PagerDuty's own are a few bytes
])
def test_an_error_answer_fails_with_pagerdutys_status_message_code_and_a_hint(stub, how, reason):
    _arrange(stub, how)
    schedules = ["P0SCHED1", "PNOSUCH"] if how == "unknown schedule" else ["P0SCHED1"]
    failed = client(stub, token="wrong" if how == "wrong token" else STUB_TOKEN).on_call(ALICE, schedules)
    assert failed == LookupFailed(reason)
    assert len(stub.requests) == 1, "no retry"


def test_a_long_token_failure_is_cut_to_300_characters(stub):
    def missing() -> str:
        raise TokenUnavailable("cannot read secret parameter /access-broker/dev/" + "p" * 400)

    failed = PagerDuty(token=missing, clock=lambda: NOW, api_url=stub.url).on_call(ALICE, ["P0SCHED1"])
    assert failed == LookupFailed(("no PagerDuty token: cannot read secret parameter /access-broker/dev/"
                                   + "p" * 400)[:300])
    assert stub.requests == []


def test_a_slow_answer_fails_at_the_budget_while_pagerduty_is_still_answering(stub):
    stub.slow(0.6)
    stub.set_on_call("P0SCHED1", ALICE)
    failed = client(stub, budget_s=0.1).on_call(ALICE, ["P0SCHED1"])
    assert failed == LookupFailed("no answer from PagerDuty within 0.1 s")
    assert stub.pending == 1, "the lookup returned without waiting for the answer"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_address_where_nothing_listens_fails_saying_why():
    lookup = PagerDuty(token=lambda: STUB_TOKEN, clock=lambda: NOW, api_url=f"http://127.0.0.1:{_closed_port()}")
    assert lookup.on_call(ALICE, ["P0SCHED1"]) == LookupFailed("cannot reach PagerDuty: [Errno 111] Connection refused")


def test_a_base_url_written_with_a_trailing_slash_asks_for_the_same_path(stub):
    stub.set_on_call("P0SCHED1", ALICE)
    found = client(stub, api_url=stub.url + "/").on_call(ALICE, ["P0SCHED1"])
    assert isinstance(found, OnCallNow)
    assert [r["target"].partition("?")[0] for r in stub.requests] == ["/oncalls"], "no //oncalls"


def test_something_else_than_http_answering_fails_saying_so(stub):
    stub.not_http()
    assert client(stub).on_call(ALICE, ["P0SCHED1"]) == LookupFailed(
        "cannot reach PagerDuty: SSH-2.0-OpenSSH_9.6\r\n")


@pytest.mark.parametrize("api_url,reason", [
    ("api.pagerduty.com", "cannot reach PagerDuty: unknown url type: 'api.pagerduty.com/oncalls?"),
    ("http://127.0.0.1:pagerduty", "cannot reach PagerDuty: nonnumeric port: 'pagerduty'"),
])
def test_a_malformed_api_url_fails_the_lookup_rather_than_the_request(api_url, reason):
    lookup = PagerDuty(token=lambda: STUB_TOKEN, clock=lambda: NOW, api_url=api_url)
    failed = lookup.on_call(ALICE, ["P0SCHED1"])
    assert isinstance(failed, LookupFailed) and failed.reason.startswith(reason), failed


def test_a_long_reason_for_not_reaching_pagerduty_is_cut_to_300_characters():
    lookup = PagerDuty(token=lambda: STUB_TOKEN, clock=lambda: NOW, api_url="http://127.0.0.1:" + "p" * 400)
    assert lookup.on_call(ALICE, ["P0SCHED1"]) == LookupFailed(
        ("cannot reach PagerDuty: nonnumeric port: '" + "p" * 400)[:300])
