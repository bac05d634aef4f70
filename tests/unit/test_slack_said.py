"""A person's reason or comment cannot pass for a line of the message it is shown in (issue 24, point 13): it is
shown as one line of code, at most 300 characters, so that no emphasis, emoji, mention or line break of its own
reads like the approval message's "Approved by" lines. An ordinary reason is still shown whole."""
from __future__ import annotations

import dataclasses

from chalicelib.slack.blocks import approval_message, as_dicts, ended_message
from tests import fakes
from tests.fakes import as_

MIMIC = "need it\n\n:white_check_mark: *Approved by* <@U01BOB> `now` <!here>"


def section(blocks: list, block_id: str) -> str:
    [found] = [b for b in as_dicts(blocks) if b.get("block_id") == block_id]
    return str(found["text"]["text"])


def test_a_reason_mimicking_the_messages_own_lines_shows_as_one_line_of_code() -> None:
    wired = fakes.broker()
    request = fakes.ask(wired, reason=MIMIC)
    shown = section(approval_message(wired.broker.catalog, request)[1], "reason")
    assert shown == ("*Reason*\n`need it :white_check_mark: *Approved by* &lt;@U01BOB&gt; 'now' &lt;!here&gt;`")


def test_a_long_reason_is_cut_at_300_characters() -> None:
    wired = fakes.broker()
    request = fakes.ask(wired, reason="x" * 1000)
    shown = section(approval_message(wired.broker.catalog, request)[1], "reason")
    assert shown == "*Reason*\n`" + "x" * 299 + "…`"


def test_an_ordinary_reason_is_shown_whole() -> None:
    wired = fakes.broker()
    request = fakes.ask(wired, reason="fixing the export job (ticket OPS-1234), " + "y" * 250)
    assert section(approval_message(wired.broker.catalog, request)[1], "reason") == \
        "*Reason*\n`fixing the export job (ticket OPS-1234), " + "y" * 250 + "`"


def test_a_denial_comment_shows_as_one_line_of_code_too() -> None:
    wired = fakes.broker()
    request = fakes.ask(wired)
    denied = wired.broker.deny(as_(wired, "bob"), request.id, "no\n:white_check_mark: Approved by <@U01CAROL>")
    status = [e["text"] for b in as_dicts(approval_message(wired.broker.catalog, denied)[1])
              if b.get("block_id") == "status" for e in b["elements"]]
    assert status[-1].endswith(": `no :white_check_mark: Approved by &lt;@U01CAROL&gt;`")
    dm = as_dicts(ended_message(wired.broker.catalog, dataclasses.replace(denied))[1])[0]["text"]["text"]
    assert dm.endswith(": `no :white_check_mark: Approved by &lt;@U01CAROL&gt;`\nYou can ask again with "
                       "`/request-access`.")
