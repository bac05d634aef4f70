"""Where each Slack message goes, and when (chalicelib/slack/notifier.py), pinned against
tests/slack/expected/notifier/ (tests/expected.py: UPDATE_EXPECTED=1 rewrites the files, for review as a diff): a
request's life on the service (tests/fakes.py) told to a SlackNotifier over a recording Slack, as the worker tells it
(the request as it is shown now, each event in turn). Each call is kept as the method, the channel, the message's ts or
thread, its notification text and its buttons' action_ids; what the blocks say is pinned by test_slack_messages.py.

Beside the route: the approval message is posted once and then updated in place, the requester's grant DM too; a
notification told twice posts nothing twice; a channel Slack refuses keeps no one else from hearing."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chalicelib.catalog import parse_catalog
from chalicelib.domain.events import SYSTEM, EventKind
from chalicelib.domain.requests import Event
from chalicelib.slack.notifier import SlackNotifier
from chalicelib.slack.web import SlackFailure
from tests import fakes
from tests.expected import matches
from tests.fakes import as_, ask, granted
from tests.slack_scenes import channel_catalog
from tests.unit.test_service_auto_approving import ON_CALL_NOW, on_call

pytestmark = pytest.mark.unit

EXPECTED = Path(__file__).resolve().parents[1] / "slack" / "expected" / "notifier"
FIRST = f"01{1:024d}"  # the id tests/fakes.py gives the first request


class Slack:
    """The Web API as the notifier uses it: every call recorded; a post answers with its channel and a ts of its own;
    `refuse` names channels whose calls fail as Slack's `channel_not_found` would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.refuse: set[str] = set()

    def call(self, method: str, **arguments: Any) -> dict[str, Any]:
        self.calls.append((method, arguments))
        channel = arguments["channel"]
        if channel in self.refuse:
            raise SlackFailure(method, "channel_not_found")
        if channel.startswith("U"):  # a post to a person lands in the DM with them, which has an id of its own
            channel = "D" + channel[1:]
        return {"ok": True, "channel": channel, "ts": f"1795867200.{len(self.calls):06d}"}

    def respond(self, response_url: str, message: dict[str, Any]) -> None:
        raise AssertionError("the notifier never answers a response_url")

    def seen(self) -> list[dict[str, Any]]:
        """Each call as the file keeps it: what, where, the text a notification shows, and its buttons."""
        return [{"call": method, "channel": a["channel"], "text": a["text"],
                 **{k: a[k] for k in ("ts", "thread_ts") if k in a},
                 "buttons": [e["action_id"] for block in a["blocks"] if block["type"] == "actions"
                             for e in block["elements"]]}
                for method, a in self.calls]


class Told:
    """Tells Slack what the service told its notifier since the last time, as the worker does."""

    def __init__(self, wired: fakes.Fakes, slack: Slack) -> None:
        self.wired, self.slack, self.done = wired, slack, 0

    def __call__(self) -> list[dict[str, Any]]:
        before, failures = len(self.slack.calls), []
        for request, event in self.wired.notes.told[self.done:]:  # each event a job of its own
            try:
                self.notifier().notify(self.wired.broker.as_shown(request.id), event)
            except SlackFailure as failure:
                failures.append(failure)
        self.done = len(self.wired.notes.told)
        if failures:
            raise failures[0]
        return self.slack.seen()[before:]

    def notifier(self) -> SlackNotifier:
        return SlackNotifier(self.slack, self.wired.store, self.wired.broker.catalog, self.wired.clock)


def life(wired: fakes.Fakes, steps: list[tuple[str, Callable[[], object]]],
         slack: Slack | None = None) -> dict[str, list[dict[str, Any]]]:
    """Each step of a request's life and the Slack calls it made, in order."""
    told = Told(wired, slack or Slack())
    return {name: (step(), told())[1] for name, step in steps}


def kept(calls: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """As the file keeps them: the steps in their order (the file's keys are sorted)."""
    return [{"step": name, "calls": made} for name, made in calls.items()]


def in_channel(**profile: object) -> fakes.Fakes:
    return fakes.broker(channel_catalog(**profile))


def test_a_request_approved_warned_and_expired() -> None:
    w, slack = in_channel(), Slack()
    calls = life(w, [
        ("asked", lambda: ask(w)),
        ("approved", lambda: w.broker.approve(as_(w, "bob"), FIRST)),
        ("warned", lambda: (w.clock.advance(minutes=51), w.broker.sweep())),
        ("expired", lambda: (w.clock.advance(minutes=10), w.broker.sweep())),
    ], slack)
    matches(EXPECTED / "approved_warned_expired.json", kept(calls))
    [posted] = [c for c in calls["asked"] if c["call"] == "chat.postMessage"]
    assert {c.get("ts") for c in calls["approved"] + calls["expired"] if c["channel"] == "C01APPROVALS"} == \
        {"1795867200.000001"}, "the approval message is updated in place, never posted again"
    assert posted["channel"] == "C01APPROVALS"
    assert all(a["unfurl_links"] is False for method, a in slack.calls if method == "chat.postMessage"), \
        "a DM's console link is never unfurled"
    recorded = [(e.actor, e.channel, e.details) for e in w.store.events(FIRST) if e.kind == "slack_posted"]
    assert recorded == [
        (SYSTEM, "system", {"purpose": "approval", "channel": "C01APPROVALS", "ts": "1795867200.000001"}),
        (SYSTEM, "system", {"purpose": "grant", "channel": "D01S3ACCESS", "ts": "1795867200.000004"}),
        (SYSTEM, "system", {"purpose": "expiry_warning:4", "channel": "D01S3ACCESS", "ts": "1795867200.000007"}),
        (SYSTEM, "system", {"purpose": "ended", "channel": "D01S3ACCESS", "ts": "1795867200.000010"}),
    ], "where each message went, as Slack answered, for the updates and the retries after it"


def test_approvers_without_a_channel_are_asked_each_in_a_dm_and_each_dm_kept_true() -> None:
    w = fakes.broker(fakes.catalog(display_name="S3 prod"))
    calls = life(w, [
        ("asked", lambda: ask(w)),
        ("denied", lambda: w.broker.deny(as_(w, "carol"), FIRST, "not today")),
    ])
    matches(EXPECTED / "approvers_in_dms_denied.json", kept(calls))


def test_a_reminder_and_a_timeout() -> None:
    w = in_channel(reminder_after="15m")
    calls = life(w, [
        ("asked", lambda: ask(w)),
        ("reminded", lambda: (w.clock.advance(minutes=16), w.broker.sweep())),
        ("timed_out", lambda: (w.clock.advance(minutes=45), w.broker.sweep())),
    ])
    matches(EXPECTED / "reminded_timed_out.json", kept(calls))


def test_an_extension_asked_approved_then_one_denied_then_a_revoke() -> None:
    w = in_channel()
    calls = life(w, [
        ("asked", lambda: ask(w)),
        ("approved", lambda: w.broker.approve(as_(w, "bob"), FIRST)),
        ("extension_asked", lambda: (w.clock.advance(minutes=20), w.broker.extend(as_(w, "s3-access"), FIRST, "30m"))),
        ("extension_approved", lambda: w.broker.approve(as_(w, "carol"), FIRST)),
        ("again_asked", lambda: w.broker.extend(as_(w, "s3-access"), FIRST, "30m")),
        ("again_denied", lambda: w.broker.deny(as_(w, "bob"), FIRST, "enough")),
        ("revoked", lambda: (w.clock.advance(minutes=5), w.broker.revoke(as_(w, "s3-access"), FIRST))),
    ])
    matches(EXPECTED / "extensions_and_revoke.json", kept(calls))
    nudges = [c for c in calls["extension_asked"] + calls["again_asked"] if "thread_ts" in c]
    assert [n["thread_ts"] for n in nudges] == ["1795867200.000001"] * 2, "each round nudged once, in the thread"


def test_break_glass_is_told_to_the_security_channel_too() -> None:
    w = in_channel(break_glass=True)
    calls = life(w, [
        ("activated", lambda: break_glass(w)),
        ("revoked", lambda: (w.clock.advance(minutes=5), w.broker.revoke(as_(w, "bob"), FIRST))),
    ])
    matches(EXPECTED / "break_glass.json", kept(calls))
    assert {c["channel"] for c in calls["activated"] if c["call"] == "chat.postMessage"} >= {"C01APPROVALS",
                                                                                             "C01SECURITY"}


@pytest.mark.parametrize("end", ["revoked", "expired"])
def test_the_break_glass_message_in_the_security_channel_is_kept_true_to_the_end(end: str) -> None:
    """Updated in place as the approval message is (the ts its post recorded), so it never says "active" after
    the grant ended; and, told rather than asked, it offers no buttons, even while an extension is decided."""
    w = in_channel(break_glass=True)
    finish: dict[str, Callable[[], object]] = {
        "revoked": lambda: w.broker.revoke(as_(w, "bob"), FIRST),
        "expired": lambda: (w.clock.advance(minutes=31), w.broker.sweep())}
    calls = life(w, [
        ("activated", lambda: break_glass(w)),
        ("extension", lambda: (w.clock.advance(minutes=5), w.broker.extend(as_(w, "s3-access"), FIRST, "10m"))),
        ("ended", finish[end]),
    ])
    [posted] = [c for c in calls["activated"] if c["call"] == "chat.postMessage" and c["channel"] == "C01SECURITY"]
    security = [c for step in calls.values() for c in step if c["channel"] == "C01SECURITY"]
    assert [c for c in security if c["call"] == "chat.postMessage"] == [posted], "posted once"
    [ts] = {c["ts"] for c in security if c["call"] == "chat.update"}
    assert all(c["buttons"] == [] for c in security), "the security channel is told, not asked"
    assert ["approve", "deny"] in [c["buttons"] for c in calls["extension"] if c["channel"] == "C01APPROVALS"]
    [last] = [c for c in calls["ended"] if c["channel"] == "C01SECURITY"]
    assert last["call"] == "chat.update" and f"({end}" in last["text"] and last["ts"] == ts


def test_an_expiry_warning_offers_no_extend_where_the_profile_allows_none() -> None:
    w = in_channel(extension={"allowed": False})
    calls = life(w, [
        ("granted", lambda: granted(w)),
        ("warned", lambda: (w.clock.advance(minutes=51), w.broker.sweep())),
    ])
    [warning] = [c for c in calls["warned"] if c["call"] == "chat.postMessage"]
    assert warning["text"] == "Your access to S3 prod ends at 2026-11-28 13:00 UTC" and warning["buttons"] == ["revoke"]


def test_an_expiry_warning_recorded_without_saying_whether_it_is_extendable_offers_extend() -> None:
    """A warning event recorded before the sweeper said `extendable` (or by another path) keeps Extend."""
    w, slack = in_channel(), Slack()
    request = granted(w)
    Told(w, slack)()
    warning = Event(request.id, request.version, EventKind.EXPIRY_WARNING, w.clock(), SYSTEM, "system", {})
    Told(w, slack).notifier().notify(request, warning)
    assert slack.seen()[-1]["buttons"] == ["extend", "revoke"]


def test_the_on_call_approval_is_announced_in_the_approval_and_security_channels() -> None:
    w = on_call_wired()
    calls = life(w, [("asked", lambda: ask(w))])
    matches(EXPECTED / "on_call.json", kept(calls))


def on_call_wired() -> fakes.Fakes:
    wired, _ = on_call(ON_CALL_NOW)
    return wired


def break_glass(w: fakes.Fakes) -> object:
    return w.broker.request_access(as_(w, "s3-access"), "s3-prod", "30m", "prod is down and nobody can approve now",
                                   break_glass=True)


def expired(w: fakes.Fakes) -> object:
    granted(w)
    w.clock.advance(minutes=51)
    w.broker.sweep()  # the expiry warning
    w.clock.advance(minutes=10)
    return w.broker.sweep()


@pytest.mark.parametrize("case", ["expired", "break_glass", "on_call"])
def test_telling_each_event_again_posts_nothing_twice(case: str) -> None:
    w = {"expired": in_channel, "break_glass": lambda: in_channel(break_glass=True), "on_call": on_call_wired}[case]()
    slack = Slack()
    told = Told(w, slack)
    {"expired": expired, "break_glass": break_glass, "on_call": ask}[case](w)
    told()
    posts = [c for c in slack.seen() if c["call"] == "chat.postMessage"]
    for request, event in w.notes.told:
        told.notifier().notify(w.broker.as_shown(request.id), event)
    assert [c for c in slack.seen() if c["call"] == "chat.postMessage"] == posts, "updates only"


def test_a_channel_slack_refuses_keeps_no_one_else_from_hearing() -> None:
    w = in_channel()
    slack = Slack()
    slack.refuse = {"C01APPROVALS"}
    ask(w)
    told = Told(w, slack)
    with pytest.raises(SlackFailure, match="channel_not_found"):
        told()
    w.broker.approve(as_(w, "bob"), FIRST)
    told()  # nothing was posted there to update: the failed post is the outbox's to send again
    assert ("chat.postMessage", "U01S3ACCESS") in [(c["call"], c["channel"]) for c in slack.seen()], \
        "the requester's grant DM went out although the approval channel failed"


def test_a_requester_without_slack_gets_no_dm() -> None:
    people = {**fakes.DEMO_PEOPLE, "s3-access": {"iam_user": "s3-access"}}
    w = fakes.broker(parse_catalog({
        "source_account": "111111111111", "people": people, "groups": {"s3-approvers": ["bob", "carol"]},
        "profiles": {"s3-prod": {"account": "222222222222", "role": "switch-role-for-S3", "approvers": ["s3-approvers"],
                                 "approval_channel": "C01APPROVALS", "max_duration": "4h"}}}))
    calls = life(w, [("granted", lambda: granted(w))])
    assert calls["granted"] and {c["channel"] for c in calls["granted"]} == {"C01APPROVALS"}
