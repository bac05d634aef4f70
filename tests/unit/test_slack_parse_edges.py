"""The edges of reading Slack's bodies (chalicelib/slack/parse.py), beside tests/unit/test_slack_parse.py: what each
malformed body is told (the 400's detail names the field), Slack's certificate check told apart from a command, the
words of a command read as a person means them, and the fields a command or a click carries when Slack leaves some
out."""
from __future__ import annotations

from urllib.parse import urlencode

import pytest

from chalicelib.domain.errors import InvalidInput
from chalicelib.slack.parse import (
    Ask,
    Help,
    ListMine,
    Malformed,
    Origin,
    is_ssl_check,
    parse_command,
    parse_interaction,
    subcommand,
)
from tools.slack_cli import click_payload, interaction_body, submission_payload

pytestmark = pytest.mark.unit

REQUEST_ID = "01jbx5v6d8k2m3n4p5q6r7s8t9"
BOB = {"id": "U01BOB"}


def click(**changed: object) -> bytes:
    return interaction_body({"type": "block_actions", "user": BOB, **changed})


def submission(view: dict[str, object]) -> bytes:
    return interaction_body({"type": "view_submission", "user": BOB, "view": view})


@pytest.mark.parametrize("body, detail", [
    (b"\xff\xfe", "the body is not a UTF-8 form (application/x-www-form-urlencoded)"),
    (b"text=x", "an interaction body carries a `payload` form field"),
    (b"payload=%7Bnot+json", "the `payload` field is not valid JSON"),
    (interaction_body("[1, 2]"), "payload must be a JSON object"),
    (interaction_body({"type": "block_actions", "user": "U01BOB"}), "payload.user must be a JSON object"),
    (interaction_body({"type": "block_actions", "user": {"id": "bob"}}), "the Slack user id is missing or malformed"),
    (click(), "payload.actions must hold exactly one action"),
    (click(actions=[{"action_id": "approve"}, {"action_id": "deny"}]), "payload.actions must hold exactly one action"),
    (click(actions=["approve"]), "payload.actions[0] must be a JSON object"),
    (click(actions=[{"action_id": "x" * 60}]),
     f"unknown action_id {'x' * 40!r}; known: approve, deny, revoke, extend"),
    (click(actions=[{"action_id": "approve", "value": 7}]),
     "the button's value is not a request id (and approval round)"),
    (interaction_body({"type": "view_submission", "user": BOB, "view": "deny"}), "payload.view must be a JSON object"),
    (submission({"callback_id": "y" * 60}), f"unknown callback_id {'y' * 40!r}; known: request_access, deny, extend"),
    (submission({"callback_id": "deny", "state": []}), "payload.view.state must be a JSON object"),
    (submission({"callback_id": "deny", "state": {"values": []}}), "payload.view.state.values must be a JSON object"),
    (submission({"callback_id": "deny", "state": {"values": {}}, "private_metadata": {"request_id": REQUEST_ID}}),
     "payload.view.private_metadata is not the JSON object access-broker put there"),
    (interaction_body({"type": "z" * 60, "user": BOB}),
     f"unsupported interaction type {'z' * 40!r}; expected block_actions or view_submission"),
])
def test_each_malformed_interaction_is_told_what_is_wrong(body: bytes, detail: str) -> None:
    with pytest.raises(Malformed) as refused:
        parse_interaction(body)
    assert refused.value.detail == detail


def test_a_malformed_command_is_told_what_is_wrong() -> None:
    with pytest.raises(Malformed) as refused:
        parse_command(b"text=s3-prod")
    assert refused.value.detail == "the Slack user id is missing or malformed"


CHECK = b"token=deprecated-verification-token&ssl_check=1"
PADDED = b"ssl_check=1&token="


@pytest.mark.parametrize("body, check", [
    (CHECK, True), (b"ssl_check=1", True), (b"token=&ssl_check=1", True),
    (PADDED + b"t" * (1024 - len(PADDED)), True),  # 1024 bytes: the longest a check may be
    (PADDED + b"t" * (1025 - len(PADDED)), False),
    (b"ssl_check=0", False), (b"ssl_check=", False), (b"token=t", False), (b"ssl_check=1&ssl_check=1", False),
    (b"token=t&token=u&ssl_check=1", False), (b"ssl_check=1&user_id=U01BOB", False),
    (b"ssl_check=1&text=a&token=t", False), ("ssl_check=1&token=é".encode(), False), (b"ssl_check=1&token", False),
    (b"", False),
])
def test_slack_s_certificate_check_is_told_apart_from_a_command(body: bytes, check: bool) -> None:
    assert is_ssl_check(body) is check


@pytest.mark.parametrize("text, expected", [
    ("-h", Help()), ("--help", Help()), ("?", Help()), ("--HELP", Help()),
    ("s3-prod", Ask("s3-prod", None, "")), ("list mine", Ask("list", None, "mine")),
    ("s3-prod 1h 30 minutes the export", Ask("s3-prod", "1h30m", "the export")),
    ("s3-prod 1h 30", Ask("s3-prod", "1h", "30")), ("list", ListMine()),
])
def test_the_words_of_a_command(text: str, expected: object) -> None:
    assert subcommand(text) == expected


def test_revoking_what_is_not_a_request_id_quotes_it() -> None:
    with pytest.raises(InvalidInput) as refused:
        subcommand("revoke mine")
    assert refused.value.detail == "'mine' is not a request id; `/request-access list` shows yours"


def test_a_command_with_only_a_user_reads_the_rest_as_empty() -> None:
    command = parse_command(b"user_id=U01BOB")
    assert (command.text, command.trigger_id, command.response_url, command.channel_id, command.origin) == \
        ("", "", "", "", Origin("", ""))


def test_a_command_names_its_channel_and_tolerates_a_stray_field() -> None:
    command = parse_command(b"user_id=U01BOB&channel_id=C01GENERAL&text=list&stray")
    assert (command.channel_id, command.text) == ("C01GENERAL", "list")


@pytest.mark.parametrize("fields, readable", [(64, True), (65, False)])
def test_a_form_of_more_than_64_fields_is_malformed(fields: int, readable: bool) -> None:
    body = urlencode({"user_id": "U01BOB", **{f"f{n}": "x" for n in range(fields - 1)}}).encode()
    if readable:
        assert parse_command(body).user_id == "U01BOB"
    else:
        with pytest.raises(Malformed):
            parse_command(body)


def test_a_click_carries_its_trigger_and_response_url_and_the_user_s_team_without_a_team() -> None:
    payload = click_payload("U01BOB", "extend", REQUEST_ID, "https://hooks.slack.com/actions/T/1/x")
    read = parse_interaction(interaction_body(payload))
    assert (read.trigger_id, read.response_url) == (payload["trigger_id"], "https://hooks.slack.com/actions/T/1/x")
    del payload["trigger_id"], payload["response_url"]
    payload["team"] = None
    payload["user"]["team_id"] = "T02OTHER"
    read = parse_interaction(interaction_body(payload))
    assert (read.trigger_id, read.response_url, read.origin.team_id) == ("", "", "T02OTHER")
    payload["team"] = {"id": "T01LOCAL"}  # the payload's own team, where it names one
    assert parse_interaction(interaction_body(payload)).origin == Origin("T01LOCAL", "A01BROKER")


def test_a_form_s_empty_and_chosen_values_and_what_access_broker_put_in_it() -> None:
    read = parse_interaction(interaction_body(submission_payload(
        "U01BOB", "deny", {"reason": ""}, {"request_id": REQUEST_ID, "round": "request"})))
    assert (read.values, read.metadata) == ({"reason": ""}, {"request_id": REQUEST_ID, "round": "request"})
