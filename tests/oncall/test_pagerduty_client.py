"""The PagerDuty client (chalicelib/pagerduty.py) against the local stand-in (tools/pagerduty_stub.py), over real HTTP:
who is on call now, every page followed, and every failure a short reason rather than an exception or a retry."""
from __future__ import annotations

from datetime import datetime, timezone

from chalicelib.domain.on_call import LookupFailed, NotOnCall, OnCallNow
from chalicelib.pagerduty import PagerDuty, TokenUnavailable
from tests.pagerduty_stand_in import running, stub  # noqa: F401 (fixtures)
from tools.pagerduty_stub import STUB_TOKEN, PagerDutyStub

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc)


def client(stub: PagerDutyStub, token: str = STUB_TOKEN) -> PagerDuty:
    return PagerDuty(token=lambda: token, clock=lambda: NOW, api_url=stub.url)


def test_a_requester_on_call_in_a_listed_schedule_is_found_with_their_pagerduty_user(stub):
    stub.set_on_call("P0SCHED2", {"email": "alice@example.com", "id": "PALICE1"})
    found = client(stub).on_call("alice@example.com", ["P0SCHED1", "P0SCHED2"])
    assert found == OnCallNow("P0SCHED2", "PALICE1", "alice@example.com")


def test_the_request_is_the_one_pagerduty_documents(stub):
    client(stub).on_call("alice@example.com", ["P0SCHED1", "P0SCHED2"])
    (sent,) = stub.requests
    assert sent["path"] == "/oncalls"
    assert sent["query"]["schedule_ids[]"] == ["P0SCHED1", "P0SCHED2"] and sent["query"]["include[]"] == ["users"]
    assert sent["query"]["since"] == sent["query"]["until"] == ["2026-11-28T03:00:00Z"], "who is on call now"
    assert sent["headers"]["authorization"] == f"Token token={STUB_TOKEN}"
    assert sent["headers"]["accept"] == "application/vnd.pagerduty+json;version=2"


def test_someone_else_on_call_is_not_on_call(stub):
    stub.set_on_call("P0SCHED1", "bob@example.com")
    assert client(stub).on_call("alice@example.com", ["P0SCHED1"]) == NotOnCall()


def test_emails_compare_without_case(stub):
    stub.set_on_call("P0SCHED1", "Alice@Example.COM")
    found = client(stub).on_call("alice@example.com", ["P0SCHED1"])
    assert isinstance(found, OnCallNow) and found.schedule == "P0SCHED1"


def test_every_page_is_followed(stub):
    stub.set_on_call("P0SCHED1", *[f"person{i}@example.com" for i in range(250)], "alice@example.com")
    found = client(stub).on_call("alice@example.com", ["P0SCHED1"])
    assert isinstance(found, OnCallNow), found
    assert [r["query"]["offset"] for r in stub.requests] == [["0"], ["100"], ["200"]]


def test_nobody_matching_on_any_page_is_not_on_call(stub):
    stub.set_on_call("P0SCHED1", *[f"person{i}@example.com" for i in range(150)])
    assert client(stub).on_call("alice@example.com", ["P0SCHED1"]) == NotOnCall()
    assert len(stub.requests) == 2


def test_a_user_without_an_email_matches_nobody_and_is_counted(stub):
    stub.set_on_call("P0SCHED1", {"id": "PNOMAIL", "email": None})
    assert client(stub).on_call("alice@example.com", ["P0SCHED1"]) == NotOnCall(without_email=1)


def test_a_refused_token_is_a_failure_saying_so(stub):
    failed = client(stub, token="wrong").on_call("alice@example.com", ["P0SCHED1"])
    assert isinstance(failed, LookupFailed) and failed.reason.startswith("PagerDuty answered 401: Unauthorized")
    assert "token is refused" in failed.reason and "wrong" not in failed.reason, "the token never shows"


def test_an_unknown_schedule_is_a_failure_saying_so(stub):
    failed = client(stub).on_call("alice@example.com", ["P0SCHED1", "PNOSUCH"])
    assert isinstance(failed, LookupFailed)
    assert "404: Not Found" in failed.reason and "unknown schedule" in failed.reason


def test_rate_limited_is_a_failure_without_a_retry(stub):
    stub.fail(429, retry_after=30)
    failed = client(stub).on_call("alice@example.com", ["P0SCHED1"])
    assert failed == LookupFailed("PagerDuty answered 429: Rate Limit Exceeded (code 2020) (rate limited; retry "
                                  "after 30 s)")
    assert len(stub.requests) == 1, "no retry loop"


def test_a_server_error_is_a_failure_without_a_retry(stub):
    stub.fail(500)
    failed = client(stub).on_call("alice@example.com", ["P0SCHED1"])
    assert isinstance(failed, LookupFailed) and failed.reason.startswith("PagerDuty answered 500")
    assert len(stub.requests) == 1, "no retry loop"


def test_an_answer_that_is_not_json_is_a_failure(stub):
    stub.not_json()
    assert client(stub).on_call("alice@example.com", ["P0SCHED1"]) == LookupFailed("PagerDuty's answer is not JSON")


def test_a_slow_answer_fails_at_the_budget_without_waiting_for_it(stub):
    stub.slow(30)  # the stand-in answers after 30 s (or when stopped)
    stub.set_on_call("P0SCHED1", "alice@example.com")
    failed = client(stub).on_call("alice@example.com", ["P0SCHED1"])
    assert failed == LookupFailed("no answer from PagerDuty within 2 s")
    assert stub.pending == 1, "the lookup returned while PagerDuty was still answering"


def test_the_budget_covers_all_pages_together(stub):
    stub.set_on_call("P0SCHED1", *[f"person{i}@example.com" for i in range(150)], "alice@example.com")
    stub.slow(1.2, times=2)  # each page alone is within 2 s; both together are not
    failed = client(stub).on_call("alice@example.com", ["P0SCHED1"])
    assert failed == LookupFailed("no answer from PagerDuty within 2 s")


def test_nothing_listening_is_a_failure():
    lookup = PagerDuty(token=lambda: STUB_TOKEN, clock=lambda: NOW, api_url="http://127.0.0.1:9")
    failed = lookup.on_call("alice@example.com", ["P0SCHED1"])
    assert isinstance(failed, LookupFailed) and failed.reason.startswith("cannot reach PagerDuty")


def test_no_token_is_a_failure_before_any_call(stub):
    def missing() -> str:
        raise TokenUnavailable("cannot read secret parameter /access-broker/dev/pagerduty-token: ParameterNotFound")

    failed = PagerDuty(token=missing, clock=lambda: NOW, api_url=stub.url).on_call("alice@example.com", ["P0SCHED1"])
    assert failed == LookupFailed("no PagerDuty token: cannot read secret parameter "
                                  "/access-broker/dev/pagerduty-token: ParameterNotFound")
    assert stub.requests == []
