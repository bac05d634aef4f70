"""What a person sees when they submit one of access-broker's Slack modals (CONTRACT.md, Slack): an empty 200 closes
the modal; an error shows under the field it is about (the reason, else the first field); a click on a request that
was decided meanwhile says so; a Slack re-delivery creates nothing twice; the Deny form denies the round it was opened
for, with the reason typed as its comment. And the front door: no signing secret, no request served."""
from __future__ import annotations

import dataclasses
import json
import logging
from typing import Any, Iterator

import pytest

from chalicelib.catalog import parse_catalog
from chalicelib.domain.catalog import AutoApprove, OnCallSettings
from chalicelib.domain.requests import State
from chalicelib.domain.rounds import extension_round
from chalicelib.slack.jobs import OnCallJob
from tests import fakes
from tests.app_on_fakes import OnFakes, serve
from tools.slack_cli import interaction_body, submission_payload

BOB, NOBODY = "U01BOB", "U0NOBODY00"


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[OnFakes]:
    yield from serve(monkeypatch)


def errors(response: Any) -> dict[str, str]:
    assert response.status_code == 200, response.body
    answer = json.loads(response.body)
    assert answer["response_action"] == "errors", answer
    return dict(answer["errors"])


def closes(response: Any) -> None:
    assert (response.status_code, response.body) == (200, b""), response.body


def test_a_deny_form_denies_with_the_reason_typed_and_closes(app: OnFakes) -> None:
    request = fakes.ask(app.wired)
    closes(app.submit("deny", {"reason": "not during the freeze"}, {"request_id": request.id}))
    denied = app.wired.store.get(request.id)
    assert (denied.state, denied.decided_by, denied.decision_comment) == (State.DENIED, "bob", "not during the freeze")


def test_a_deny_form_for_an_extension_denies_that_extension_only(app: OnFakes) -> None:
    active = fakes.granted(app.wired)
    asked = app.wired.broker.extend(fakes.as_(app.wired, "s3-access"), active.id, "1h")
    assert asked.extension is not None
    closes(app.submit("deny", {"reason": "enough"}, {"request_id": active.id,
                                                    "round": extension_round(asked.extension)}))
    after = app.wired.store.get(active.id)
    assert (after.state, after.extension) == (State.ACTIVE, None)


def test_a_round_access_broker_never_named_is_refused_and_denies_nothing(app: OnFakes) -> None:
    request = fakes.ask(app.wired)
    response = app.submit("deny", {"reason": "no"}, {"request_id": request.id, "round": "everything"})
    assert errors(response) == {"reason": "payload.view.private_metadata names no approval round access-broker put "
                                          "there"}
    assert app.wired.store.get(request.id).state == State.PENDING


def test_denying_a_request_decided_meanwhile_says_so_under_the_reason(app: OnFakes) -> None:
    request = fakes.granted(app.wired)
    assert errors(app.submit("deny", {"reason": "too late"}, {"request_id": request.id})) == {
        "reason": f"Request `{request.id}` was already approved by @bob; nothing changed."}


def test_an_extension_refused_shows_its_own_reason_under_the_duration(app: OnFakes) -> None:
    denied = app.wired.broker.deny(fakes.as_(app.wired, "bob"), fakes.ask(app.wired).id)
    shown = errors(app.submit("extend", {"duration": "1h"}, {"request_id": denied.id}, user_id="U01S3ACCESS"))
    assert list(shown) == ["duration"] and "already decided" not in shown["duration"]


def test_an_error_about_no_field_of_the_form_shows_under_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """The catalog's Erin is in Slack but has no IAM user: the refusal names `requester`, a field the form has not."""
    doc = {"source_account": "111111111111", "security_channel": "C01SECURITY",
           "people": {**fakes.DEMO_PEOPLE, "erin": {"slack_user_id": "U01ERIN"}},
           "groups": {"s3-approvers": ["bob", "carol"]},
           "profiles": {"s3-prod": {"account": "222222222222", "role": "switch-role-for-S3",
                                    "approvers": ["s3-approvers"], "default_duration": "1h", "max_duration": "4h"}}}
    for served in serve(monkeypatch, fakes.broker(parse_catalog(doc))):
        shown = errors(served.submit("request_access", {"profile": "s3-prod", "duration": "1h", "reason": "x"},
                                     user_id="U01ERIN"))
        assert shown == {"reason": "person 'erin' has no IAM user; set people.erin.iam_user in the catalog"}


def test_an_unknown_person_is_told_under_the_first_field(app: OnFakes) -> None:
    shown = errors(app.submit("extend", {"duration": "1h"}, {"request_id": "01000000000000000000000001"},
                              user_id=NOBODY))
    assert shown == {"duration": f"I don't know who you are yet: your Slack user `{NOBODY}` is not in access-broker's "
                                 f"catalog. Ask an admin to add `slack_user_id: {NOBODY}` to your "}  # Slack's 150


def test_a_redelivered_request_form_creates_one_request(app: OnFakes) -> None:
    body = interaction_body(submission_payload("U01S3ACCESS", "request_access",
                                               {"profile": "s3-prod", "duration": "1h", "reason": "fixing it"}))
    for _ in range(2):
        closes(app.slack("/slack/interactions", body))
    assert len(app.wired.store.requests) == 1


def test_a_request_the_on_call_may_approve_asks_pagerduty_after_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    on_call = fakes.broker(dataclasses.replace(fakes.catalog(), on_call=OnCallSettings("/pagerduty-token"),
                                               profiles={"s3-prod": dataclasses.replace(
                                                   fakes.catalog().profiles["s3-prod"],
                                                   auto_approve=AutoApprove(("P0SCHED1",), 7200))}))
    for served in serve(monkeypatch, on_call):
        closes(served.submit("request_access", {"profile": "s3-prod", "duration": "1h", "reason": "paged"},
                             user_id="U01S3ACCESS"))
        [request] = on_call.store.requests.values()
        assert served.deferred.jobs == [OnCallJob(kind="on_call", request_id=request.id)]


def test_a_request_nobody_on_call_may_approve_asks_pagerduty_nothing(app: OnFakes) -> None:
    closes(app.submit("request_access", {"profile": "s3-prod", "duration": "1h", "reason": "fixing it"},
                      user_id="U01S3ACCESS"))
    assert not [job for job in app.deferred.jobs if isinstance(job, OnCallJob)]


def test_without_its_signing_secret_slack_is_refused_and_the_log_says_why(
        app: OnFakes, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    with caplog.at_level(logging.ERROR, logger="chalicelib.routes.slack"):
        response = app.command("help")
    assert (response.status_code, response.body) == (401, b"")
    assert [r.getMessage() for r in caplog.records if r.name == "chalicelib.routes.slack"] == [
        "every Slack request is refused until the signing secret can be read: SLACK_SIGNING_SECRET is not set; put "
        "it in the environment, or name its SSM parameter in SLACK_SIGNING_SECRET_PARAMETER (see README, Deploy)"]


def test_while_the_directory_cannot_be_read_an_unknown_person_is_told_why(monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = dataclasses.replace(fakes.catalog(), directory_unavailable="the IAM groups could not be read")
    for served in serve(monkeypatch, fakes.broker(catalog)):
        assert errors(served.submit("extend", {"duration": "1h"}, {"request_id": "01000000000000000000000001"},
                                    user_id=NOBODY)) == {
            "duration": "I can't tell who you are just now: the IAM groups could not be read."}
