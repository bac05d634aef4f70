"""A sealed job replayed inside its window decides nothing it was not made for (issue 24, point 3).

The attack as reproduced: bob's Approve click on a pending request went to the worker function as a sealed `act`
job naming only the request; s3-access then asked to extend the grant, and the same envelope, sent again within its
15 minutes, approved the extension bob never saw. Now the worker runs each envelope once, and every Approve and
Deny names the approval round its message showed: the same click sealed again (a redelivery, a click on an old
message) is refused too, while a click on the message as it is now decides the extension."""
from __future__ import annotations

import json
import logging
from typing import Any, Callable

import pytest

from chalicelib import bootstrap
from chalicelib.domain.requests import AccessRequest
from chalicelib.slack import sealed
from tools.slack_cli import click_payload, interaction_body


def stored(request_id: str) -> AccessRequest:
    return bootstrap.broker().repo.get(request_id)


def invoke_worker(envelope: Any) -> None:
    """What Lambda does with an invocation of the worker function."""
    import app

    app.worker(envelope, None)


@pytest.fixture
def on_lambda(slack, clock, monkeypatch, worker_function: str) -> Callable[[], list[dict]]:
    """The API function runs on Lambda: its slow work goes to the worker function, sealed. Returns the envelopes
    sent since the last call (what an attacker watching the invocations could capture)."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "access-broker-test")
    monkeypatch.setenv("ACCESS_BROKER_WORKER_FUNCTION", worker_function)
    bootstrap.reset()
    bootstrap.broker(clock=clock)
    invoker = bootstrap.deferred()
    invoker.submit({"kind": "warm-up"})  # builds its Lambda client
    sent: list[dict] = []
    invoker._client.meta.events.register("before-call.lambda.Invoke", lambda params, **kw: sent.append(params))

    def envelopes() -> list[dict]:
        found = [json.loads(call["body"]) for call in sent]
        sent.clear()
        return found
    return envelopes


def act_envelope(envelopes: list[dict]) -> dict:
    [act] = [e for e in envelopes if e["job"]["kind"] == "act"]
    return act


def granted_by_bobs_click(slack, on_lambda) -> tuple[str, dict]:
    """bob approves s3-access's request in Slack; the worker function runs the sealed job. The id and the envelope."""
    request_id = slack.create()
    for created in on_lambda():  # the worker posts the approval message
        invoke_worker(created)
    slack.click("approve", request_id, as_="bob")
    envelope = act_envelope(on_lambda())
    invoke_worker(envelope)
    assert stored(request_id).grant is not None and stored(request_id).grant.policy_arn
    return request_id, envelope


def test_a_replayed_approval_does_not_approve_a_later_extension(slack, clock, on_lambda, caplog) -> None:
    request_id, envelope = granted_by_bobs_click(slack, on_lambda)
    end = stored(request_id).grant.expires_at
    clock.advance(minutes=3)
    bootstrap.broker().extend(bootstrap.broker().caller_from_slack("U01S3ACCESS"), request_id, "30m")

    clock.advance(minutes=3)  # still inside the envelope's window
    with caplog.at_level(logging.ERROR, logger="chalicelib.slack.worker"):
        invoke_worker(envelope)
    assert "this sealed job already ran; nothing done" in caplog.text
    after = stored(request_id)
    assert after.extension is not None and after.grant.expires_at == end, "the extension still waits for a decision"

    invoke_worker(sealed.seal(envelope["job"], bootstrap.job_key(), clock()))  # the same click, sealed anew
    after = stored(request_id)
    assert after.extension is not None and after.grant.expires_at == end, "bob's click decided the request's round only"


def test_a_click_on_the_message_as_it_is_now_decides_the_extension(slack, clock, on_lambda) -> None:
    request_id, _ = granted_by_bobs_click(slack, on_lambda)
    end = stored(request_id).grant.expires_at
    bootstrap.broker().extend(bootstrap.broker().caller_from_slack("U01S3ACCESS"), request_id, "30m")
    for envelope in on_lambda():  # the worker tells Slack: the approval message now shows the extension's round
        invoke_worker(envelope)
    value = slack.button("approve", request_id)
    assert value.startswith(f"{request_id}:ext"), "the message's buttons name the extension's round"

    slack.click("approve", request_id, as_="carol")
    invoke_worker(act_envelope(on_lambda()))
    after = stored(request_id)
    assert after.extension is None and after.grant.expires_at > end


def test_deny_on_an_old_message_opens_no_form_for_the_extension(slack) -> None:
    """Deny asks for a reason in a form first: clicked on the message as it was while the request was pending, it
    opens none for the extension open now, and a form opened for the request's round denies nothing later."""
    request_id = slack.create()
    slack.click("approve", request_id, as_="bob")
    slack.drain()
    pending_form = {"request_id": request_id}  # what a Deny form opened while the request was pending carried
    slack.submit("extend", {"duration": "30m"}, {"request_id": request_id}, as_="s3-access")
    slack.drain()

    slack.send("/slack/interactions", interaction_body(click_payload(
        "U01CAROL", "deny", request_id, slack.stub.response_url("carol"))))  # the old message's Deny: the bare id
    slack.drain()
    assert slack.calls("views.open") == []
    assert "has moved on to another approval round since that message" in slack.replies("carol")[-1]

    answer = slack.submit("deny", {"reason": "no"}, pending_form, as_="carol")
    assert "has moved on to another approval round" in answer.json["errors"]["reason"]
    assert stored(request_id).extension is not None, "the extension still waits"
