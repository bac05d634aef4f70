"""Every message access-broker posts in Slack, pinned whole against tests/slack/expected/messages/ (tests/expected.py:
UPDATE_EXPECTED=1 rewrites the files after a deliberate change, for review as a diff): the approval message in each
state of a request, the requester's DMs (the grant, its end, the expiry warning, an extension's outcome), the nudges
in the approval thread, the on-call announcement and the modals. Built from the requests the service makes on
tests/fakes.py, at the unit tier's fixed clock (tests/slack_scenes.py), so each file is what that moment shows.

Beside the text, what a click depends on: the buttons carry the request's id (and the round they decide), a request
with nothing left to decide has none, and the grant's end is shown as a time."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from chalicelib.domain.requests import State
from chalicelib.domain.rounds import extension_round
from chalicelib.slack import blocks as b
from chalicelib.slack import texts
from chalicelib.slack.parse import ACTIONS, VIEWS, button_value
from chalicelib.slack.texts import utc
from tests.expected import matches
from tests.slack_scenes import (
    Scene,
    active,
    active_guard_pending,
    active_no_extensions,
    active_two_approvals,
    active_usable_later,
    approved_granting,
    break_glass,
    cancelled,
    channel_catalog,
    denied,
    denied_without_comment,
    expired,
    extended,
    extension_denied,
    extension_one_of_two,
    extension_waiting,
    failed,
    on_call,
    pending,
    pending_one_of_two,
    profile_gone,
    revoked,
    revoked_guard_pending,
    timed_out,
)

pytestmark = pytest.mark.unit

EXPECTED = Path(__file__).resolve().parents[1] / "slack" / "expected" / "messages"


def shown(message: b.Message) -> dict[str, Any]:
    text, blocks = message
    return {"text": text, "blocks": b.as_dicts(blocks)}


def buttons(blocks: list[Block]) -> list[tuple[str, str]]:
    """(action_id, value) of every button of a message, in order."""
    return [(e["action_id"], e["value"]) for block in b.as_dicts(blocks) if block["type"] == "actions"
            for e in block["elements"]]


APPROVAL_STATES: dict[str, Callable[[], Scene]] = {
    "pending": pending, "pending_one_of_two": pending_one_of_two, "approved_granting": approved_granting,
    "active": active, "active_two_approvals": active_two_approvals, "extension_waiting": extension_waiting,
    "extension_one_of_two": extension_one_of_two, "extended": extended, "extension_denied": extension_denied,
    "denied": denied, "denied_without_comment": denied_without_comment, "cancelled": cancelled,
    "timed_out": timed_out, "expired": expired, "revoked": revoked, "failed": failed, "break_glass": break_glass,
    "on_call": on_call, "profile_gone": profile_gone,
}


@pytest.mark.parametrize("state", APPROVAL_STATES)
def test_the_approval_message(state: str) -> None:
    catalog, request = APPROVAL_STATES[state]()
    matches(EXPECTED / "approval" / f"{state}.json", shown(b.approval_message(catalog, request)))


@pytest.mark.parametrize("state", APPROVAL_STATES)
def test_approve_and_deny_while_there_is_something_to_decide_and_never_after(state: str) -> None:
    catalog, request = APPROVAL_STATES[state]()
    found = buttons(b.approval_message(catalog, request)[1])
    assert {action for action, _ in found} <= set(ACTIONS), "every button is one the interaction route reads"
    if request.state == State.PENDING:
        assert found == [("approve", request.id), ("deny", request.id)]
    elif request.state == State.ACTIVE and request.extension:
        value = f"{request.id}:{extension_round(request.extension)}"  # they decide this extension, never a later one
        assert found == [("approve", value), ("deny", value)]
        assert button_value(value) == (request.id, extension_round(request.extension)), "as a click is read back"
    else:
        assert found == [], f"a request {request.state.value} with nothing to decide shows no buttons"


GRANTS: dict[str, Callable[[], Scene]] = {
    "active": active, "active_two_approvals": active_two_approvals, "guard_pending": active_guard_pending,
    "usable_later": active_usable_later, "no_extensions": active_no_extensions,
    "extension_waiting": extension_waiting, "extended": extended,
    "break_glass": break_glass, "on_call": on_call, "expired": expired, "revoked": revoked,
    "revoked_guard_pending": revoked_guard_pending,
}


@pytest.mark.parametrize("case", GRANTS)
def test_the_requester_s_grant_message(case: str) -> None:
    catalog, request = GRANTS[case]()
    message = b.grant_message(catalog, request)
    matches(EXPECTED / "grant" / f"{case}.json", shown(message))
    assert request.grant is not None
    if request.state == State.ACTIVE:
        extend = [("extend", request.id)] * (case != "no_extensions")
        assert buttons(message[1]) == [("revoke", request.id)] + extend, "Extend where the profile allows it"
        assert utc(request.grant.expires_at) in message[0], "the end, in the notification itself"
        [expiry] = [x for x in b.as_dicts(message[1]) if x.get("block_id") == "expiry"]
        assert expiry["text"]["text"].startswith(f"*Expires:* {utc(request.grant.expires_at)} (<!date^"
                                                 f"{int(request.grant.expires_at.timestamp())}^")
        assert request.grant.console_url in str(message[1][1].to_dict())
    else:
        assert buttons(message[1]) == [], "an ended grant offers nothing to click"
        assert request.grant.console_url not in str(b.as_dicts(message[1])), "nor a link that no longer works"


ENDINGS: dict[str, Callable[[], Scene]] = {
    "denied": denied, "denied_without_comment": denied_without_comment, "cancelled": cancelled,
    "timed_out": timed_out, "expired": expired, "revoked": revoked, "failed": failed,
}


@pytest.mark.parametrize("case", ENDINGS)
def test_the_requester_s_message_when_a_request_ends(case: str) -> None:
    catalog, request = ENDINGS[case]()
    message = b.ended_message(catalog, request)
    matches(EXPECTED / "ended" / f"{case}.json", shown(message))
    assert request.id in message[1][0].to_dict()["text"]["text"] and buttons(message[1]) == []


@pytest.mark.parametrize("case", ENDINGS)
def test_the_end_of_a_request_is_said_as_a_person_would_say_it(case: str) -> None:
    """The notification reads as a sentence: "was denied", "timed out before anyone decided", "expired"; never a
    state's name after "is" ("is timed out", "is failed"), nor a state's raw value."""
    catalog, request = ENDINGS[case]()
    text = b.ended_message(catalog, request)[0]
    assert text == f"Your request for S3 prod {texts.became(catalog, request)}"
    assert f" is {request.state.value.replace('_', ' ')}" not in text and "_" not in text


def test_the_thread_nudge_when_an_extension_is_asked() -> None:
    matches(EXPECTED / "thread" / "extension_asked.json", shown(b.extension_asked(*extension_waiting())))


def test_the_thread_reminder_while_nobody_decides() -> None:
    matches(EXPECTED / "thread" / "reminder.json", shown(b.reminder_message(*pending())))


@pytest.mark.parametrize("case", ["extended", "extension_denied"])
def test_the_requester_s_message_when_an_extension_is_decided(case: str) -> None:
    catalog, request = {"extended": extended, "extension_denied": extension_denied}[case]()
    message = b.extension_outcome(catalog, request, case == "extended", "carol")
    matches(EXPECTED / "extension_outcome" / f"{case}.json", shown(message))
    assert request.grant is not None and utc(request.grant.expires_at) in message[1][0].to_dict()["text"]["text"]


@pytest.mark.parametrize("extendable", [True, False], ids=["extendable", "not_extendable"])
def test_the_expiry_warning(extendable: bool) -> None:
    catalog, request = active()
    message = b.expiry_warning(catalog, request, extendable)
    matches(EXPECTED / "expiry_warning" / f"{'extendable' if extendable else 'not_extendable'}.json", shown(message))
    assert request.grant is not None and utc(request.grant.expires_at) in message[0]
    assert buttons(message[1]) == [("extend", request.id)] * extendable + [("revoke", request.id)]


@pytest.mark.parametrize("allowed", [True, False], ids=["extensions_allowed", "no_extensions"])
def test_the_grant_message_and_the_expiry_warning_offer_extend_by_the_same_rule(allowed: bool) -> None:
    """Both ask Catalog.extendable (the sweeper records it on the warning's event): a profile with
    `extension: {allowed: false}` is offered Extend in neither; one gone from the catalog neither."""
    catalog, request = active() if allowed else active_no_extensions()
    assert catalog.extendable(request.profile) is allowed
    granted_ = {action for action, _ in buttons(b.grant_message(catalog, request)[1])}
    warning = {action for action, _ in buttons(b.expiry_warning(catalog, request,
                                                                 catalog.extendable(request.profile))[1])}
    assert ("extend" in granted_) is allowed and ("extend" in warning) is allowed
    assert not profile_gone()[0].extendable(request.profile)


def test_the_on_call_announcement() -> None:
    matches(EXPECTED / "on_call_announcement.json", shown(b.on_call_announcement(*on_call())))


def test_the_on_call_announcement_cuts_a_long_reason_at_300_characters() -> None:
    catalog, request = on_call()
    long = dataclasses.replace(request, reason="x" * 400)
    (said,) = [e["text"] for block in b.as_dicts(b.on_call_announcement(catalog, long)[1])
               if block.get("block_id") == "reason" for e in block["elements"]]
    assert said == "Reason: " + "x" * 292


def test_an_approval_by_no_human_is_named_as_the_rest_of_the_message_names_things() -> None:
    """The on-call rota and its schedule (texts.approver), the requester's mention and the profile's display name:
    never the raw ids ("on-call", "s3-access", "s3-prod")."""
    catalog, request = on_call()
    rota = "the on-call rota in PagerDuty schedule P0SCHED1"
    status = [e["text"] for block in b.as_dicts(b.approval_message(catalog, request)[1])
              if block.get("block_id") == "status" for e in block["elements"]]
    assert status[0].startswith(f":white_check_mark: Approved by {rota} <!date^")
    text, blocks = b.on_call_announcement(catalog, request)
    assert text == "Auto-approved (on call): <@U01S3ACCESS> for S3 prod"
    said = text + str(b.as_dicts(blocks)) + "".join(status)
    assert "by on-call" not in said and "s3-access for" not in said and "for s3-prod" not in said
    assert texts.already_decided(catalog, request) == (f"Request `{request.id}` was already approved by {rota}; "
                                                       f"nothing changed.")


def test_the_request_form() -> None:
    catalog = channel_catalog()
    view = b.request_form(list(catalog.profiles.values()), {"channel": "C01REQUESTS"})
    matches(EXPECTED / "forms" / "request_access.json", view.to_dict())
    assert view.callback_id in VIEWS


def test_the_request_form_cuts_a_long_profile_name_to_slack_s_75_characters() -> None:
    catalog = channel_catalog(display_name="S" * 64)
    [option] = b.request_form(list(catalog.profiles.values()), {}).to_dict()["blocks"][0]["element"]["options"]
    assert option == {"text": {"type": "plain_text", "text": ("S" * 64 + " (s3-prod)")[:75], "emoji": True},
                      "value": "s3-prod"}


@pytest.mark.parametrize("case", ["pending", "extension_waiting"])
def test_the_deny_form(case: str) -> None:
    catalog, request = {"pending": pending, "extension_waiting": extension_waiting}[case]()
    view = b.deny_form(catalog, request, {"request_id": request.id})
    matches(EXPECTED / "forms" / f"deny_{case}.json", view.to_dict())
    assert view.callback_id in VIEWS
    assert view.to_dict()["title"]["text"] == {"pending": "Deny request", "extension_waiting": "Deny extension"}[case]


@pytest.mark.parametrize("case", ["active", "profile_gone"])
def test_the_extend_form(case: str) -> None:
    catalog, request = active()
    if case == "profile_gone":
        catalog = profile_gone()[0]
    view = b.extend_form(catalog, request, {"request_id": request.id})
    matches(EXPECTED / "forms" / f"extend_{case}.json", view.to_dict())
    assert view.callback_id in VIEWS
