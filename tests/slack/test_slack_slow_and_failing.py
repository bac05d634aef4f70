"""Slack's 3 seconds and Slack's failures: answers never wait on the Web API, and a failing Web API never
loses a request or its state change; failed notifications are recorded and sent again later."""
from __future__ import annotations

from chalicelib import bootstrap
from chalicelib.domain.requests import State


def kinds(request_id: str) -> list[str]:
    return [e.kind for e in bootstrap.broker().repo.events(request_id)]


def failures(request_id: str) -> list[dict]:
    return [e.details for e in bootstrap.broker().repo.events(request_id) if e.kind == "notify_failed"]


def test_the_command_answer_does_not_wait_for_a_slow_web_api(slack) -> None:
    slow = slack.stub.hold("chat.postMessage")  # Slack takes its time (up to 5 s) until released
    answer = slack.command("s3-prod 1h fixing the export job")
    assert "Request `" in answer.json["text"]
    assert not any(c.answered for c in slack.calls("chat.postMessage")), \
        "the answer came back while the approval message was still waiting on the Web API"
    slow.set()
    slack.drain()
    [posted] = slack.calls("chat.postMessage")
    assert posted.answered and posted.body["channel"] == "C01APPROVALS"


def test_the_click_answer_does_not_wait_for_iam_or_the_web_api(slack) -> None:
    request_id = slack.create()
    slow = slack.stub.hold("chat.update")
    answer = slack.click("approve", request_id, as_="bob")
    assert (answer.status_code, answer.text) == (200, "")
    assert not any(c.answered for c in slack.calls("chat.update"))
    assert "activated" not in kinds(request_id), "the grant is applied after the answer, not before"
    slow.set()
    slack.drain()
    assert bootstrap.broker().repo.get(request_id).state == State.ACTIVE
    assert all(c.answered for c in slack.calls("chat.update"))


def test_channel_not_found_is_recorded_and_retried_later(slack, clock) -> None:
    slack.stub.fail("chat.postMessage", "channel_not_found")
    request_id = slack.create()
    assert bootstrap.broker().repo.get(request_id).state == State.PENDING
    [failure] = failures(request_id)
    assert failure == {"event": "created", "method": "chat.postMessage", "error": "channel_not_found", "attempt": 1,
                       "retry_in_seconds": 60}
    assert "slack_posted" not in kinds(request_id)

    bootstrap.broker().sweep(repair=False)  # not due yet: nothing sent
    slack.drain()
    assert len(slack.calls("chat.postMessage")) == 1
    clock.advance(seconds=61)
    bootstrap.broker().sweep(repair=False)
    slack.drain()
    assert len(slack.calls("chat.postMessage")) == 2
    assert "Waiting for approval" in slack.seen("chat.postMessage", "C01APPROVALS")
    assert kinds(request_id).count("slack_posted") == 1
    bootstrap.broker().sweep(repair=False)  # taken from the outbox once: never sent twice
    slack.drain()
    assert len(slack.calls("chat.postMessage")) == 2


def test_ratelimited_is_retried_after_retry_after(slack, clock) -> None:
    slack.stub.fail("chat.postMessage", "ratelimited", retry_after=0)  # short: retried at once
    request_id = slack.create()
    assert len(slack.calls("chat.postMessage")) == 2 and failures(request_id) == []
    assert kinds(request_id).count("slack_posted") == 1

    slack.stub.fail("chat.update", "ratelimited", retry_after=120)  # long: back to the outbox, 120 s
    slack.click("deny", request_id, as_="bob")
    slack.drain()
    slack.submit("deny", {"reason": "no"}, {"request_id": request_id}, as_="bob")
    slack.drain()
    assert bootstrap.broker().repo.get(request_id).state == State.DENIED
    [failure] = failures(request_id)
    assert (failure["error"], failure["retry_in_seconds"]) == ("ratelimited", 120)
    assert "Denied by @bob" in slack.seen("chat.postMessage", "U01S3ACCESS"), "the DM is not held up by the update"
    clock.advance(seconds=90)
    bootstrap.broker().sweep(repair=False)
    slack.drain()
    assert len(slack.calls("chat.update")) == 1
    clock.advance(seconds=31)
    bootstrap.broker().sweep(repair=False)
    slack.drain()
    assert "Denied by @bob" in slack.seen("chat.update", "C01APPROVALS")
    assert len(slack.calls("chat.postMessage", "U01S3ACCESS")) == 1, "the requester is told once"


def test_not_in_channel_never_undoes_an_approval(slack, world) -> None:
    request_id = slack.create()
    slack.stub.fail("chat.update", "not_in_channel", times=5)
    slack.click("approve", request_id, as_="bob")
    slack.drain()
    request = bootstrap.broker().repo.get(request_id)
    assert request.state == State.ACTIVE
    attached = world.client("iam").list_attached_user_policies(UserName="s3-access")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [request.grant.policy_arn]
    assert {f["error"] for f in failures(request_id)} == {"not_in_channel"}


def test_a_form_that_could_not_open_in_time_is_explained(slack) -> None:
    slack.stub.fail("views.open", "expired_trigger_id")
    slack.command("")
    slack.drain()
    [reply] = slack.replies("s3-access")
    assert "Slack gave up waiting for the form to open" in reply and "/request-access <profile>" in reply
