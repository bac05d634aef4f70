"""Slack bodies into typed objects: what Slack documents parses, anything else is Malformed (a 400)."""
from __future__ import annotations

import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.slack.parse import (
    Ask,
    Click,
    Help,
    ListMine,
    Malformed,
    OpenForm,
    Origin,
    Revoke,
    Submission,
    parse_command,
    parse_interaction,
    subcommand,
)
from tools.slack_cli import click_payload, command_body, interaction_body, submission_payload

REQUEST_ID = "01jbx5v6d8k2m3n4p5q6r7s8t9"


@pytest.mark.parametrize("text, expected", [
    ("s3-prod 2h fixing the export", Ask("s3-prod", "2h", "fixing the export")),
    ("s3-prod PT2H fixing", Ask("s3-prod", "PT2H", "fixing")),
    ("s3-prod 90m", Ask("s3-prod", "90m", "")),
    ("s3-prod fixing the export", Ask("s3-prod", None, "fixing the export")),
    ("s3-prod 2hours oops", Ask("s3-prod", "2h", "oops")),
    ("s3-prod 2hourz oops", Ask("s3-prod", "2hourz", "oops")),  # looks like a duration: the service names the error
    ("", OpenForm()), ("  ", OpenForm()), ("help", Help()), ("HELP", Help()), ("list", ListMine()),
    (f"revoke {REQUEST_ID.upper()}", Revoke(REQUEST_ID)),
])
def test_subcommands(text: str, expected: object) -> None:
    assert subcommand(text) == expected


@pytest.mark.parametrize("text, duration, reason", [
    ("s3-prod 2 hours fixing the export", "2h", "fixing the export"),
    ("s3-prod 2 Hours fixing", "2h", "fixing"),
    ("s3-prod 90 mins fixing", "90m", "fixing"),
    ("s3-prod 1 hour 30 minutes fixing", "1h30m", "fixing"),
    ("s3-prod 1h 30m fixing", "1h30m", "fixing"),
    ("s3-prod 1 day", "1d", ""),
    ("s3-prod 2h 3 people are blocked", "2h", "3 people are blocked"),  # a number in the reason stays there
])
def test_durations_as_people_say_them(text: str, duration: str, reason: str) -> None:
    assert subcommand(text) == Ask("s3-prod", duration, reason)


@pytest.mark.parametrize("text, typed", [
    ("s3-prod 2 hourz fixing", "2 hourz"),  # a number alone is no duration: its next word is the unit they meant
    ("s3-prod 2 fixing the export", "2 fixing"),
    ("s3-prod 1.5 hours fixing", "1.5 hours"),
    ("s3-prod 30 minutes 1 hour fixing", "30 minutes 1 hour"),  # out of order: as typed, for the error to quote
    ("s3-prod 2", "2"),
])
def test_a_duration_that_is_not_understood_is_passed_on_as_typed(text: str, typed: str) -> None:
    assert subcommand(text).duration == typed


def test_a_slash_command_form() -> None:
    command = parse_command(command_body("U01BOB", "s3-prod 1h test", "https://hooks.slack.com/commands/T/1/x"))
    assert (command.user_id, command.text, command.response_url) == (
        "U01BOB", "s3-prod 1h test", "https://hooks.slack.com/commands/T/1/x")
    assert command.trigger_id


def test_block_actions_and_view_submission() -> None:
    click = parse_interaction(interaction_body(click_payload("U01BOB", "approve", REQUEST_ID, "https://r")))
    ours = Origin(team_id="T01LOCAL", api_app_id="A01BROKER")  # the workspace and app the payload names
    assert click == Click("U01BOB", "approve", REQUEST_ID, click.trigger_id, "https://r", origin=ours)
    form = parse_interaction(interaction_body(submission_payload(
        "U01ALICE", "request_access", {"profile": "s3-prod", "duration": "", "reason": "why"}, {"response_url": "u"})))
    assert form == Submission("U01ALICE", "request_access", {"profile": "s3-prod", "duration": "", "reason": "why"},
                              {"response_url": "u"}, origin=ours)


@pytest.mark.parametrize("body", [b"", b"\xff\xfe", b"user_id=&text=x", b"user_id=bob", b"text=s3-prod"])
def test_odd_command_forms_are_malformed(body: bytes) -> None:
    with pytest.raises(Malformed):
        parse_command(body)


@pytest.mark.parametrize("body", [
    b"", b"\xff\xfe", b"payload=", b"payload=%7Bnot+json", interaction_body("[1, 2]"),
    interaction_body({"type": "block_actions", "user": "U01BOB"}),
    interaction_body({"type": "block_actions", "user": {"id": "U01BOB"}}),
    interaction_body({"type": "block_actions", "user": {"id": "U01BOB"},
                      "actions": [{"action_id": "delete_all", "value": REQUEST_ID}]}),
    interaction_body({"type": "block_actions", "user": {"id": "U01BOB"},
                      "actions": [{"action_id": "approve", "value": "../../etc"}]}),
    interaction_body({"type": "view_submission", "user": {"id": "U01BOB"}, "view": {"callback_id": "other"}}),
    interaction_body({"type": "view_submission", "user": {"id": "U01BOB"},
                      "view": {"callback_id": "deny", "state": {"values": []}}}),
    interaction_body({"type": "view_submission", "user": {"id": "U01BOB"},
                      "view": {"callback_id": "deny", "state": {"values": {}}, "private_metadata": "not json"}}),
    interaction_body({"type": "shortcut", "user": {"id": "U01BOB"}}),
])
def test_odd_interactions_are_malformed_never_a_crash(body: bytes) -> None:
    with pytest.raises(Malformed):
        parse_interaction(body)


def test_malformed_messages_name_the_problem() -> None:
    with pytest.raises(Malformed, match="unknown action_id 'delete_all'"):
        parse_interaction(interaction_body({"type": "block_actions", "user": {"id": "U01BOB"},
                                            "actions": [{"action_id": "delete_all", "value": REQUEST_ID}]}))
    with pytest.raises(Malformed, match="not valid JSON"):
        parse_interaction(b"payload=%7B%22a%22%3A")


@pytest.mark.parametrize("text", ["revoke " + "a" * 3000, "revoke not-an-id", "revoke ٠١jbx5v6d8k2m3n4p5q6r7s8t9"])
def test_revoking_something_that_is_not_a_request_id_says_so_at_once(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        subcommand(text)
    assert "is not a request id" in caught.value.detail and len(caught.value.detail) < 400


@pytest.mark.parametrize("value, round_", [(REQUEST_ID, "request"), (f"{REQUEST_ID}:ext1764331200000000",
                                                                     "ext1764331200000000")])
def test_a_button_names_its_request_and_round(value: str, round_: str) -> None:
    click = parse_interaction(interaction_body(click_payload("U01BOB", "approve", value, "https://r")))
    assert (click.request_id, click.round) == (REQUEST_ID, round_)


@pytest.mark.parametrize("value", [f"{REQUEST_ID}:", f"{REQUEST_ID}:ext", f"{REQUEST_ID}:request:1",
                                   f"{REQUEST_ID}:ext12x", f"x:{REQUEST_ID}", "request"])
def test_a_button_value_naming_no_round_we_make_is_malformed(value: str) -> None:
    with pytest.raises(Malformed, match="the button's value is not a request id"):
        parse_interaction(interaction_body(click_payload("U01BOB", "approve", value, "https://r")))


def test_a_command_and_an_org_wide_click_name_their_workspace_and_app() -> None:
    command = parse_command(command_body("U01BOB", "list", "https://hooks.slack.com/commands/T/1/x"))
    assert command.origin == Origin("T01LOCAL", "A01BROKER")
    payload = click_payload("U01BOB", "approve", REQUEST_ID, "https://r")
    payload["team"] = None  # an org-wide install: the user's team is the workspace
    assert parse_interaction(interaction_body(payload)).origin == Origin("T01LOCAL", "A01BROKER")
