"""The worker function obeys the broker's own functions only (issue 13, point 2).

The attack: anyone able to invoke the worker Lambda handed it a crafted job naming U01BOB and it approved
s3-access's request, reading exactly like bob's click; a `respond` job posted any message to any URL. Now a job
must carry a seal (HMAC-SHA256 under ACCESS_BROKER_JOB_KEY) issued within the window, and answers go only to
Slack's own response URLs (locally: the stub's, named by SLACK_LOCAL_RESPONSE_URL_PREFIX)."""
from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Iterator

import pytest

from chalicelib import bootstrap
from chalicelib.domain.requests import State
from chalicelib.slack import sealed
from tools.slack_stub import SlackStub

KEY = "test-worker-job-key-0123456789abcdef"  # tests/conftest.py's ACCESS_BROKER_JOB_KEY


def invoke_worker(event: Any) -> None:
    """What Lambda does with an invocation of the worker function, whoever sent it."""
    import app

    app.worker(event, None)


def bobs_approval(request_id: str, slack: Any) -> dict:
    return {"kind": "act", "action": "approve", "request_id": request_id, "user_id": "U01BOB",
            "response_url": slack.stub.response_url("bob")}


def still_pending(request_id: str) -> bool:
    request = bootstrap.broker().repo.get(request_id)
    kinds = [e.kind for e in bootstrap.broker().repo.events(request_id)]
    return request.state == State.PENDING and not request.approvals and "approved" not in kinds


@pytest.fixture
def elsewhere() -> Iterator[SlackStub]:
    """Another HTTP server on loopback that records every POST: where a forged answer would land."""
    stub = SlackStub().start()
    yield stub
    stub.stop()


def test_a_crafted_approve_job_naming_bob_does_nothing(slack, world, caplog) -> None:
    request_id = slack.create()
    before = len(slack.stub.calls())

    with caplog.at_level(logging.ERROR, logger="chalicelib.slack.worker"):
        invoke_worker(bobs_approval(request_id, slack))  # the attack as reproduced: the bare job
    slack.drain()

    assert still_pending(request_id), "the worker approved a job nobody sealed"
    assert world.client("iam").list_attached_user_policies(UserName="s3-access")["AttachedPolicies"] == []
    assert slack.stub.calls()[before:] == [], "nothing was said to Slack either"
    assert "worker refused a job (kind 'act'): not a sealed job" in caplog.text


@pytest.mark.parametrize("forgery", ["wrong key", "tampered", "replayed later", "no signature", "bad signature"])
def test_a_job_with_a_bad_or_missing_seal_or_outside_the_window_is_refused(
        slack, clock, caplog, forgery):
    request_id = slack.create()
    job = bobs_approval(request_id, slack)
    envelope = {
        "wrong key": lambda: sealed.seal(job, b"a-guessed-key-0123456789abcdef-01", clock()),
        "tampered": lambda: {**sealed.seal({**job, "user_id": "U01CAROL"}, KEY.encode(), clock()), "job": job},
        "replayed later": lambda: sealed.seal(job, KEY.encode(), clock() - sealed.WINDOW - timedelta(seconds=1)),
        "no signature": lambda: {"job": job, "issued_at": int(clock().timestamp())},
        "bad signature": lambda: {**sealed.seal(job, KEY.encode(), clock()), "signature": "v1=" + "0" * 64},
    }[forgery]()

    with caplog.at_level(logging.ERROR, logger="chalicelib.slack.worker"):
        invoke_worker(envelope)
    slack.drain()

    assert still_pending(request_id), forgery
    assert "worker refused a job" in caplog.text and "nothing done" in caplog.text
    assert KEY not in caplog.text and "v1=" not in caplog.text, "the log shows neither the key nor a signature"


def test_a_genuine_job_within_the_window_runs(slack, clock) -> None:
    """The other side of the tests above: what the broker itself sends is obeyed, even near the window's end."""
    request_id = slack.create()
    envelope = sealed.seal(bobs_approval(request_id, slack), bootstrap.job_key(), clock())
    clock.advance(seconds=sealed.WINDOW.total_seconds() - 1)
    invoke_worker(envelope)
    slack.drain()
    assert bootstrap.broker().repo.get(request_id).state == State.ACTIVE


def test_without_a_job_key_the_worker_refuses_everything(
        slack, clock, monkeypatch, caplog) -> None:
    request_id = slack.create()
    envelope = sealed.seal(bobs_approval(request_id, slack), KEY.encode(), clock())
    monkeypatch.delenv("ACCESS_BROKER_JOB_KEY")
    bootstrap.reset()
    bootstrap.broker(clock=clock)
    with caplog.at_level(logging.ERROR, logger="chalicelib.slack.worker"):
        invoke_worker(envelope)
    assert still_pending(request_id)
    assert "ACCESS_BROKER_JOB_KEY is not set" in caplog.text


def test_a_forged_respond_job_posts_nothing(slack, elsewhere) -> None:
    invoke_worker({"kind": "respond", "response_url": elsewhere.response_url("attacker"),
                   "message": {"text": "Your access was approved: https://evil.example/login"}})
    invoke_worker({"kind": "respond", "response_url": slack.stub.response_url("bob"),
                   "message": {"text": "Your access was approved: https://evil.example/login"}})
    slack.drain()
    assert elsewhere.calls() == [] and slack.stub.calls() == []


@pytest.mark.parametrize("where", ["another server", "a look-alike host", "the stub's Web API"])
def test_even_a_sealed_answer_goes_only_to_a_slack_response_url(
        slack, clock, elsewhere, caplog, where):
    """A response_url that is not Slack's is never posted to, whoever put it in the job."""
    url = {"another server": elsewhere.response_url("attacker"),
           "a look-alike host": "https://hooks.slack.com.evil.example/commands/T1/2/x",
           "the stub's Web API": slack.stub.url + "/api/chat.postMessage"}[where]
    with caplog.at_level(logging.ERROR, logger="chalicelib.slack.worker"):
        invoke_worker(sealed.seal({"kind": "respond", "response_url": url, "message": {"text": "hi"}},
                                  bootstrap.job_key(), clock()))
    assert elsewhere.calls() == [] and slack.stub.calls() == []
    assert "not a Slack response URL; nothing posted" in caplog.text
    assert "/attacker" not in caplog.text and "/commands/T1" not in caplog.text, "a response URL is a credential"


def test_a_sealed_answer_to_the_stub_is_posted(slack, clock) -> None:
    invoke_worker(sealed.seal({"kind": "respond", "response_url": slack.stub.response_url("bob"),
                               "message": {"response_type": "ephemeral", "text": "done"}},
                              bootstrap.job_key(), clock()))
    assert slack.replies("bob") == ["done"]


def test_refusals_in_a_reply_go_only_to_slack_response_urls_too(
        slack, clock, elsewhere) -> None:
    """`act` and `open_view` answer a refusal through the job's response_url: the same rule applies."""
    request_id = slack.create()
    job = {**bobs_approval(request_id, slack), "user_id": "U01S3ACCESS",  # self-approval: refused with a reply
           "response_url": elsewhere.response_url("attacker")}
    invoke_worker(sealed.seal(job, bootstrap.job_key(), clock()))
    slack.drain()
    assert still_pending(request_id) and elsewhere.calls() == []
