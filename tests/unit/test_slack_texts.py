"""The words access-broker answers with in Slack, privately (ephemeral replies to a command, a click or a form) or
inside its messages (mentions, times), pinned whole against tests/slack/expected/texts/ (tests/expected.py:
UPDATE_EXPECTED=1 rewrites the files after a deliberate change, for review as a diff). Built from the requests the
service makes on tests/fakes.py, at the unit tier's fixed clock."""
from __future__ import annotations

import dataclasses
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chalicelib.domain.events import SYSTEM
from chalicelib.domain.requests import State
from chalicelib.slack import texts
from tests import fakes
from tests.expected import matches
from tests.fakes import as_, ask, granted
from tests.slack_scenes import (
    channel_catalog,
    denied,
    expired,
    extension_waiting,
    pending,
    profile_gone,
    timed_out,
    wired,
)

pytestmark = pytest.mark.unit

EXPECTED = Path(__file__).resolve().parents[1] / "slack" / "expected" / "texts"
ENDED_SCENES = {"denied": denied, "timed_out": timed_out, "expired": expired}


def said(name: str, text: str) -> None:
    matches(EXPECTED / f"{name}.json", {"text": text})


def test_help() -> None:
    said("help", texts.HELP)


@pytest.mark.parametrize("case", ["channel", "direct_messages", "two_approvals"])
def test_the_answer_to_a_new_request(case: str) -> None:
    """Where approvers will see it: the profile's approval channel, or (without one) their DMs."""
    w = {"channel": wired(), "two_approvals": wired(approvals_required=2),
         "direct_messages": fakes.broker(fakes.catalog(display_name="S3 <prod> & more"))}[case]
    request = ask(w)
    said(f"created_{case}", texts.created(w.broker.catalog, request))


def test_the_answer_to_an_extension_waiting_for_approvers() -> None:
    said("extension_waiting", texts.extension_asked(*extension_waiting()))


def test_the_answer_to_an_extension_granted_at_once() -> None:
    w = wired(extension={"auto_approve": True})
    request = w.broker.extend(as_(w, "s3-access"), granted(w).id, "30m")
    assert request.extension is None and request.grant is not None
    said("extension_granted_at_once", texts.extension_asked(w.broker.catalog, request))


def test_list_with_nothing_to_list() -> None:
    said("list_empty", texts.listing(channel_catalog(), []))


def test_list_of_one_s_own_requests_in_each_state() -> None:
    mine = [granted(wired()), pending()[1], denied()[1], timed_out()[1], expired()[1]]
    said("list_mine", texts.listing(channel_catalog(), mine))


def test_list_for_an_approver_with_requests_waiting_for_them() -> None:
    w = wired()
    waiting = [ask(w, reason="needs *bold* and\na second line"), ask(w, "2h", who="alice", reason="the export")]
    said("list_waiting", texts.listing(w.broker.catalog, [], waiting))


@pytest.mark.parametrize("case", ENDED_SCENES)
def test_a_click_on_a_request_already_decided(case: str) -> None:
    catalog, request = ENDED_SCENES[case]()
    said(f"already_{case}", texts.already_decided(catalog, request))


@pytest.mark.parametrize("state", list(State))
def test_every_state_has_words_a_person_would_use(state: State) -> None:
    """One table says every state for people (texts.status, texts.became): no raw value ("timed_out"), what became
    of a request is a verb phrase ("was revoked", "expired"), never "is <state>", and who did it is a mention, never
    the broker itself ("by access-broker")."""
    catalog, request = pending()
    for decided_by in (None, "bob", SYSTEM):
        at = dataclasses.replace(request, state=state, decided_by=decided_by)
        for words in (texts.status(catalog, at), texts.became(catalog, at), texts.became(catalog, at, already=True)):
            assert "_" not in words and SYSTEM not in words, words
            assert not words.startswith(f"is {state.value}")
        assert "already" in texts.became(catalog, at, already=True) or state == State.PENDING


@pytest.mark.parametrize("case", ENDED_SCENES)
def test_the_list_and_a_late_click_say_a_state_in_the_same_words(case: str) -> None:
    catalog, request = ENDED_SCENES[case]()
    assert texts.summary(catalog, request).endswith(f": {texts.status(catalog, request)}")
    late = texts.became(catalog, request, already=True)
    assert texts.already_decided(catalog, request) == f"Request `{request.id}` {late}; nothing changed."
    for raw in ("timed_out", "by access-broker", " is already "):
        assert raw not in texts.summary(catalog, request) + texts.already_decided(catalog, request)


BOB, CAROL, DAVE = "<@U01BOB>", "<@U01CAROL>", "<@U01DAVE>"


@pytest.mark.parametrize("required, approved_by, waiting", [
    (1, [], f"approval from {BOB}, {CAROL} or {DAVE}"),
    (2, [], f"2 approvals from any of {BOB}, {CAROL} and {DAVE}"),
    (2, ["bob"], f"1 more approval from {CAROL} or {DAVE}"),
    (3, [], f"3 approvals from {BOB}, {CAROL} and {DAVE}"),
    (3, ["carol"], f"2 more approvals from {BOB} and {DAVE}"),
    (3, ["carol", "bob"], f"1 more approval from {DAVE}"),
])
@pytest.mark.parametrize("round_", ["request", "extension"])
def test_only_approvers_who_can_still_act_are_named_as_awaited(required: int, approved_by: list[str], waiting: str,
                                                                round_: str) -> None:
    """Someone who approved this round already is not waited for; "or" while any one will do, "and" when each
    one is needed, "any of" when some of them are."""
    w = wired(approvers=["s3-approvers", "dave"], approvals_required=required)
    request = ask(w)
    if round_ == "extension":  # granted by all three, then a round of its own
        for person in ["bob", "carol", "dave"][:required]:
            request = w.broker.approve(as_(w, person), request.id)
        request = w.broker.extend(as_(w, "s3-access"), request.id, "30m")
        assert request.extension is not None
    for person in approved_by:
        request = w.broker.approve(as_(w, person), request.id)
    assert texts.awaited(w.broker.catalog, request) == waiting
    for person in approved_by:
        assert texts.mention(w.broker.catalog, person) not in texts.approvers(w.broker.catalog, request)


def test_an_unmapped_slack_user() -> None:
    said("unmapped", texts.unmapped("U09NOBODY"))


def test_a_person_the_directory_cannot_tell_just_now() -> None:
    said("unmapped_for_now", texts.unmapped("U09NOBODY", "Slack's users.lookupByEmail <failed> & timed out"))


def test_a_refusal() -> None:
    said("problem", texts.problem("duration '5h' is longer than s3-prod's max_duration <4h> & more"))


def test_approvers_when_the_profile_is_gone() -> None:
    said("approvers_profile_gone", texts.approvers(*profile_gone()))


def test_mentions_times_and_escapes() -> None:
    catalog = channel_catalog()
    at = datetime(2026, 11, 28, 13, 5, 59, tzinfo=timezone.utc)
    assert texts.mention(catalog, "bob") == "<@U01BOB>"
    assert texts.mention(catalog, "eve<x>") == "eve&lt;x&gt;", "nobody the catalog knows: the id, escaped"
    assert texts.mention(catalog, None) == "someone"
    assert texts.utc(at.astimezone(timezone.utc)) == "2026-11-28 13:05 UTC"
    assert texts.local_time(at) == "<!date^1795871159^{date_short_pretty} {time}|2026-11-28 13:05 UTC>"
    assert texts.escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert texts.said("x" * 300) == "`" + "x" * 300 + "`", "300 characters are shown whole"


def test_times_are_utc_whatever_the_machine_s_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    at = datetime(2026, 11, 28, 23, 30, tzinfo=timezone.utc)
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert texts.utc(at) == "2026-11-28 23:30 UTC"
        assert texts.local_time(at).endswith("|2026-11-28 23:30 UTC>")
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_summary_names_who_decided_an_ended_request_and_the_end_of_an_active_one() -> None:
    catalog, request = denied()
    assert texts.summary(catalog, request).endswith(": denied by <@U01BOB>")
    active = granted(wired())
    assert active.state == State.ACTIVE and active.grant is not None
    assert texts.summary(catalog, active).endswith(f": active until {texts.local_time(active.grant.expires_at)}")


@pytest.mark.parametrize("text, plain", [
    ("Ask <@U01BOB> in <#C01APPROVALS>", "Ask @bob in #C01APPROVALS"),
    ("<@U09NOBODY> said so", "@U09NOBODY said so"),
    ("until <!date^1795871159^{date_short_pretty} {time}|2026-11-28 13:05 UTC>", "until 2026-11-28 13:05 UTC"),
    ("see <https://example.com/x|the page> or <https://example.com/y>", "see the page or https://example.com/y"),
    ("a &lt;b&gt; &amp;amp; c", "a <b> &amp; c"),
    ("no markup at all", "no markup at all"),
])
def test_plain_text_for_the_places_slack_shows_no_markup(text: str, plain: str) -> None:
    assert texts.plain(channel_catalog(), text) == plain
