"""What the sweeper's work looks like in Slack: reminders, expiry warnings, expiry, time-outs; and approvers
who hear by DM when a profile has no approval channel."""
from __future__ import annotations

from chalicelib import bootstrap
from chalicelib.domain.requests import State


def sweep_now(slack) -> None:
    bootstrap.broker().sweep(repair=False)
    slack.drain()


def test_a_reminder_goes_to_the_approval_message_thread_once(slack, clock) -> None:
    request_id = slack.create()
    [approval] = slack.calls("chat.postMessage", "C01APPROVALS")
    [posted] = [e for e in bootstrap.broker().repo.events(request_id) if e.kind == "slack_posted"]
    clock.advance(minutes=16)
    sweep_now(slack)
    sweep_now(slack)
    [reminder] = slack.calls("chat.postMessage", "C01APPROVALS")[1:]
    assert reminder.body["thread_ts"] == posted.details["ts"]
    assert "Reminder: @bob or @carol" in slack.seen("chat.postMessage", "C01APPROVALS")
    assert approval.body["channel"] == reminder.body["channel"]


def test_warning_then_expiry_reach_the_requester(slack, clock) -> None:
    request_id = slack.create()
    slack.click("approve", request_id, as_="bob")
    slack.drain()
    clock.advance(minutes=51)
    sweep_now(slack)
    warning = slack.seen("chat.postMessage", "U01S3ACCESS")
    assert "ends at" in warning and "[Extend] [Revoke now (I'm done)]" in warning
    clock.advance(minutes=10)
    sweep_now(slack)
    assert bootstrap.broker().repo.get(request_id).state == State.EXPIRED
    assert "Access expired" in slack.seen("chat.postMessage", "U01S3ACCESS")
    assert "has ended" in slack.seen("chat.update", "D01S3ACCESS")
    assert "Access expired" in slack.seen("chat.update", "C01APPROVALS")


def test_a_timed_out_request_loses_its_buttons_and_the_requester_is_told(slack, clock) -> None:
    request_id = slack.create()
    clock.advance(hours=1, minutes=1)
    sweep_now(slack)
    assert bootstrap.broker().repo.get(request_id).state == State.TIMED_OUT
    message = slack.seen("chat.update", "C01APPROVALS")
    assert "Timed out" in message and "[Approve]" not in message
    assert "no approver decided in time" in slack.seen("chat.postMessage", "U01S3ACCESS")


def test_without_an_approval_channel_each_approver_gets_the_message(slack, catalog_file) -> None:
    catalog_file(lambda doc: doc["profiles"]["s3-prod"].pop("approval_channel"))
    request_id = slack.create()
    assert {c.body["channel"] for c in slack.calls("chat.postMessage")} == {"U01BOB", "U01CAROL"}
    slack.click("approve", request_id, as_="carol")
    slack.drain()
    updated = {c.body["channel"] for c in slack.calls("chat.update")}
    assert {"D01BOB", "D01CAROL"} <= updated
    assert "Approved by @carol" in slack.seen("chat.update", "D01BOB")
