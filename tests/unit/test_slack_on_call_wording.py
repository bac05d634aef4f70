"""How an approval by the on-call rota reads in Slack: it names the rota's PagerDuty schedule only when one was
recorded, and lists two when there are two."""
from __future__ import annotations

import dataclasses

from chalicelib.domain.requests import ON_CALL, Approval
from chalicelib.slack import blocks, texts
from tests import slack_scenes


def with_schedules(*schedules: str):
    catalog, request = slack_scenes.on_call()
    approvals = tuple(Approval(ON_CALL, request.created_at, "", s, "PS3ACCESS") for s in schedules)
    return catalog, dataclasses.replace(request, approvals=approvals)


def announced(catalog, request) -> str:
    return str(blocks.on_call_announcement(catalog, request)[1][0].text.text)


def test_the_announcement_names_the_schedule_only_when_there_is_one() -> None:
    one, none, two = with_schedules("P0SCHED1"), with_schedules(""), with_schedules("P0SCHED2", "P0SCHED1")
    assert " is on call in PagerDuty schedule P0SCHED1, so their request " in announced(*one)
    assert " is on call, so their request " in announced(*none)
    assert " is on call in PagerDuty schedule P0SCHED1, P0SCHED2, so their request " in announced(*two)


def test_the_approver_is_the_rota_and_its_schedule_when_known() -> None:
    catalog, request = with_schedules("")
    assert texts.approver(catalog, request.approvals[0]) == "the on-call rota"
    catalog, request = with_schedules("P0SCHED1")
    assert texts.approver(catalog, request.approvals[0]) == "the on-call rota in PagerDuty schedule P0SCHED1"

