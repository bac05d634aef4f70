"""On-call auto-approval through Slack (issue 22, point 5): the slash command answers first, waiting for approvers,
with no PagerDuty call on its path; the worker asks PagerDuty after the answer, and the outcome follows: the grant
active, the requester's DM saying they were approved because they are on call, and an "Auto-approved" message in the
approval channel and the security channel naming the person, the schedule, the profile and the reason."""
from __future__ import annotations

from typing import Iterator

import pytest

from chalicelib import bootstrap
from chalicelib.domain.requests import State
from tools.pagerduty_stub import STUB_TOKEN, PagerDutyStub


@pytest.fixture
def pagerduty(slack, catalog_file, monkeypatch) -> Iterator[PagerDutyStub]:
    stub = PagerDutyStub().start()
    monkeypatch.setenv("PAGERDUTY_API_URL", stub.url)
    monkeypatch.setenv("PAGERDUTY_TOKEN", STUB_TOKEN)
    catalog_file(lambda doc: None, on_call=True)  # the demo as shipped: s3-prod auto-approves P0SCHED1's on-call
    try:
        yield stub
    finally:
        stub.stop()


def test_the_person_on_call_is_told_at_once_and_granted_after_the_answer(slack, pagerduty) -> None:
    pagerduty.set_on_call("P0SCHED1", {"email": "s3-access@example.com", "id": "PS3ACCESS"})
    answer = slack.command("s3-prod 1h paged: export job down")
    assert answer.status_code == 200 and "Waiting for approval" in answer.json["text"], "the answer comes first"
    request_id = answer.json["text"].split("`")[1]
    slack.drain()

    request = bootstrap.broker().repo.get(request_id)
    assert request.state == State.ACTIVE and request.auto_approved
    assert len(pagerduty.requests) == 1, "asked once, by the worker"
    dm = slack.seen("chat.postMessage", "U01S3ACCESS")
    assert "approved because you are on call in PagerDuty schedule P0SCHED1" in dm
    for channel in ("C01APPROVALS", "C01SECURITY"):
        said = slack.seen("chat.postMessage", channel)
        assert "Auto-approved" in said and "P0SCHED1" in said and "S3 prod" in said and "paged: export job down" in said
    message = slack.seen("chat.update", "C01APPROVALS")
    assert "Approved by the on-call rota in PagerDuty schedule P0SCHED1" in message and "by on-call" not in message


def test_anyone_not_on_call_waits_for_people_and_nothing_is_announced(slack, pagerduty) -> None:
    pagerduty.set_on_call("P0SCHED1", {"email": "alice@example.com", "id": "PALICE1"})
    request_id = slack.create("s3-prod 1h fixing the export job")
    request = bootstrap.broker().repo.get(request_id)
    assert request.state == State.PENDING and len(pagerduty.requests) == 1
    kinds = [e.kind for e in bootstrap.broker().repo.events(request_id)]
    assert "auto_approve_skipped" in kinds and "auto_approved" not in kinds
    assert not [c for c in slack.calls("chat.postMessage", "C01SECURITY")], "nothing to announce"
