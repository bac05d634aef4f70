"""On Lambda, slow work leaves the answer path as an asynchronous invocation of the worker function
(InvocationType=Event), signed by the broker's own credentials against the emulator's Lambda API, the job
sealed with the job key (chalicelib/slack/sealed.py)."""
from __future__ import annotations

import json
from typing import cast

from chalicelib import bootstrap
from chalicelib.slack import sealed
from chalicelib.slack.deferred import LambdaInvoke
from chalicelib.slack.jobs import Job
from tests.slack.conftest import WORKER


def test_a_job_is_sent_to_the_worker_as_an_asynchronous_invocation(broker, worker_function: str) -> None:
    invoker = LambdaInvoke(worker_function, bootstrap.job_key)
    invoker.submit(cast(Job, {"kind": "notify", "request_id": "warm-up"}))  # builds the client, signed as the broker
    sent: list[dict] = []
    invoker._client.meta.events.register("before-call.lambda.Invoke",
                                         lambda params, **kw: sent.append(params))
    job = {"kind": "act", "action": "approve", "request_id": "01jbx5v6d8k2m3n4p5q6r7s8t9", "user_id": "U01BOB"}
    invoker.submit(job)
    [call] = sent
    assert call["url_path"].endswith(f"/functions/{worker_function}/invocations")
    assert call["headers"]["X-Amz-Invocation-Type"] == "Event"
    assert sealed.open_sealed(json.loads(call["body"]), bootstrap.job_key(), broker.clock()) == job


def test_in_lambda_the_api_function_hands_work_to_the_worker(monkeypatch, worker_function: str) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "access-broker-test")
    monkeypatch.setenv("ACCESS_BROKER_WORKER_FUNCTION", worker_function)
    bootstrap.reset()
    assert isinstance(bootstrap.deferred(), LambdaInvoke) and bootstrap.deferred().function_name == WORKER
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", WORKER)
    bootstrap.reset()
    assert not isinstance(bootstrap.deferred(), LambdaInvoke), "inside the worker, jobs it spawns run inline"
    bootstrap.reset()


def test_a_command_on_lambda_answers_and_leaves_slack_to_the_worker(slack, clock, monkeypatch, worker_function):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "access-broker-test")
    monkeypatch.setenv("ACCESS_BROKER_WORKER_FUNCTION", worker_function)
    bootstrap.reset()
    bootstrap.broker(clock=clock)
    invoker = bootstrap.deferred()
    invoker.submit({"kind": "warm-up"})
    sent: list[dict] = []
    invoker._client.meta.events.register("before-call.lambda.Invoke", lambda params, **kw: sent.append(params))

    answer = slack.command("s3-prod 1h fixing the export job")
    assert "Request `" in answer.json["text"]
    [job] = [sealed.open_sealed(json.loads(call["body"]), bootstrap.job_key(), clock()) for call in sent]
    assert (job["kind"], job["event"]["kind"]) == ("notify", "created")
    assert slack.calls() == [], "nothing talks to Slack on the answer path"


def test_a_notification_the_worker_could_not_be_handed_waits_in_the_outbox(slack, clock, monkeypatch,
                                                                             worker_function, caplog):
    """Issue 24, point 14: the job key unreadable on the API function (an SSM hiccup, a missing parameter) lost the
    approval message; now it waits in the table's outbox and the next sweep after its retry sends it."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "access-broker-test")
    monkeypatch.setenv("ACCESS_BROKER_WORKER_FUNCTION", worker_function)
    monkeypatch.delenv("ACCESS_BROKER_JOB_KEY")
    bootstrap.reset()
    bootstrap.broker(clock=clock)
    answer = slack.command("s3-prod 1h fixing the export job")
    assert "Request `" in answer.json["text"], "the person still gets their answer"
    assert "kept in the outbox, retried in 60 s" in caplog.text

    monkeypatch.setenv("ACCESS_BROKER_JOB_KEY", "test-worker-job-key-0123456789abcdef")
    bootstrap.reset()
    bootstrap.broker(clock=clock)
    invoker = bootstrap.deferred()
    invoker.submit({"kind": "warm-up"})
    sent: list[dict] = []
    invoker._client.meta.events.register("before-call.lambda.Invoke", lambda params, **kw: sent.append(params))
    clock.advance(seconds=61)
    bootstrap.broker().sweep()
    jobs = [sealed.open_sealed(json.loads(call["body"]), bootstrap.job_key(), clock()) for call in sent]
    assert [(job["kind"], job["event"]["kind"], job["attempts"]) for job in jobs if job["kind"] == "notify"] == [
        ("notify", "created", 1)]
