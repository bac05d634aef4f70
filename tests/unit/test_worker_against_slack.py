"""What the worker does with each deferred job, as Slack and an operator see it: the Web API calls and response_url
replies it makes (to the local Slack stand-in, tools/slack_stub.py, through the real SlackWeb), what it keeps to send
again and when, and the lines it logs when it refuses, drops or gives up on a job. On the in-memory service
(tests/fakes.py); milliseconds each."""
from __future__ import annotations

import dataclasses
import json
import logging
from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.events import SYSTEM, EventKind
from chalicelib.domain.requests import Event
from chalicelib.slack import sealed
from chalicelib.slack.deferred import notify_job
from chalicelib.slack.jobs import MAX_ATTEMPTS
from chalicelib.slack.web import SlackWeb
from chalicelib.slack.worker import Worker
from tests import fakes
from tests.fakes import MemoryOutbox, MemorySpentEnvelopes, ask, granted
from tests.slack_stand_in import started, stub  # noqa: F401 (fixtures)
from tools.slack_stub import SlackStub

KEY = b"unit-worker-job-key-0123456789abcdef"
WORKER = "chalicelib.slack.worker"
NOT_SEALED = "not a sealed job: expected exactly the fields issued_at, job, signature"


@pytest.fixture
def wired() -> fakes.Fakes:
    return fakes.broker()


@dataclasses.dataclass
class Wiring:
    worker: Worker
    outbox: MemoryOutbox
    stub: SlackStub

    def posts(self, method: str = "chat.postMessage") -> list[dict[str, Any]]:
        return [c.body for c in self.stub.calls(method)]

    def replies(self) -> list[dict[str, Any]]:
        return [c.body for c in self.stub.calls("response_url")]


def wiring(wired: fakes.Fakes, stub: SlackStub, web: Any = None) -> Wiring:
    outbox = MemoryOutbox()
    worker = Worker(lambda: wired.broker, web or (lambda: SlackWeb("xoxb-unit", stub.api_url, sleep=lambda s: None)),
                    wired.store, outbox, lambda: KEY, (f"{stub.url}/response/",), MemorySpentEnvelopes())
    return Wiring(worker, outbox, stub)


@pytest.fixture
def w(wired: fakes.Fakes, stub: SlackStub) -> Wiring:
    return wiring(wired, stub)


def logged(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == WORKER and r.levelno == level]


# -- security alerts


def test_a_security_alert_goes_to_the_security_channel_as_plain_text_cut_to_slacks_limit(w: Wiring) -> None:
    w.worker.run({"kind": "alert", "text": "policy not a grant " + "x" * 3100})
    assert w.posts() == [{"channel": "C01SECURITY", "text": ("policy not a grant " + "x" * 3100)[:3000],
                          "unfurl_links": False}]


def test_a_security_alert_without_text_posts_an_empty_one(w: Wiring) -> None:
    w.worker.run({"kind": "alert"})
    assert w.posts() == [{"channel": "C01SECURITY", "text": "", "unfurl_links": False}]


def test_with_no_security_channel_an_alert_is_logged_and_nothing_is_posted(stub: SlackStub,
                                                                           caplog: pytest.LogCaptureFixture) -> None:
    wired = fakes.broker(dataclasses.replace(fakes.catalog(), security_channel=None))
    w = wiring(wired, stub)
    with caplog.at_level(logging.ERROR, WORKER):
        w.worker.run({"kind": "alert", "text": "session guard fell back to the whole-role cut"})
    assert stub.calls() == []
    assert logged(caplog, logging.ERROR) == [
        "security alert with no security_channel in the catalog: session guard fell back to the whole-role cut"]


# -- jobs dropped or failing: what the operator reads


def test_a_job_of_an_unknown_kind_is_dropped_and_logged(w: Wiring, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, WORKER):
        w.worker.run({"kind": "teleport"})
    assert w.stub.calls() == []
    assert logged(caplog, logging.ERROR) == ["unknown deferred job kind 'teleport'; dropped"]


def test_a_job_that_fails_outside_slack_is_logged_with_its_kind_and_traceback(stub: SlackStub, wired: fakes.Fakes,
                                                                            caplog: pytest.LogCaptureFixture) -> None:
    def no_broker() -> Any:
        raise RuntimeError("catalog unreadable")

    worker = Worker(no_broker, lambda: SlackWeb("xoxb-unit", stub.api_url), wired.store, MemoryOutbox(),
                    lambda: KEY, (), MemorySpentEnvelopes())
    with caplog.at_level(logging.ERROR, WORKER):
        worker.run({"kind": "act", "action": "approve", "request_id": "x", "user_id": "U01BOB"})
    (record,) = [r for r in caplog.records if r.name == WORKER]
    assert record.getMessage() == "deferred act failed" and record.exc_info is not None


@pytest.mark.parametrize("view, told", [
    ("request_access", ":hourglass: Slack gave up waiting for the form to open. Please try again, or type "
                       "`/request-access <profile> [duration] <reason>`."),
    ("deny", ":hourglass: Slack gave up waiting for the form to open. Please try again."),
])
def test_a_form_slack_no_longer_opens_is_answered_and_logged(w: Wiring, wired: fakes.Fakes, view: str, told: str,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    request = ask(wired)
    w.stub.fail("views.open", "expired_trigger_id")
    job = {"kind": "open_view", "view": view, "user_id": "U01BOB", "trigger_id": "13345224609.738474920.8088930838d",
           "response_url": w.stub.response_url("bob"), "request_id": request.id, "round": "request"}
    with caplog.at_level(logging.WARNING, WORKER):
        w.worker.run(job)
    assert w.replies() == [{"response_type": "ephemeral", "replace_original": False, "text": told}]
    assert logged(caplog, logging.WARNING) == [
        "deferred open_view: Slack answered expired_trigger_id to views.open"]


# -- sealed jobs refused


def test_each_refused_envelope_is_logged_with_the_kind_it_claimed(w: Wiring, wired: fakes.Fakes,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    job = {"kind": "act", "action": "approve", "request_id": ask(wired).id, "user_id": "U01BOB", "round": "request"}
    forged = sealed.seal(job, b"another-key-0123456789abcdef-0123", wired.clock())
    with caplog.at_level(logging.ERROR, WORKER):
        assert w.worker.run_sealed(forged) is False
        assert w.worker.run_sealed(job) is False  # a bare job, never sealed
        assert w.worker.run_sealed([job]) is False
        assert w.worker.run_sealed({"job": "x" * 60, "signature": "s"}) is False
    assert logged(caplog, logging.ERROR) == [
        "worker refused a job (kind 'act'): bad signature; nothing done",
        f"worker refused a job (kind 'act'): {NOT_SEALED}; nothing done",
        f"worker refused a job (kind None): {NOT_SEALED}; nothing done",
        f"worker refused a job (kind None): {NOT_SEALED}; nothing done"]
    assert w.stub.calls() == [] and wired.broker.as_shown(job["request_id"]).state == "pending"


def test_a_long_kind_is_cut_in_the_log(w: Wiring, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, WORKER):
        assert w.worker.run_sealed({"kind": "k" * 60}) is False
    assert logged(caplog, logging.ERROR) == [f"worker refused a job (kind {repr('k' * 60)[:40]}): {NOT_SEALED}; "
                                             f"nothing done"]


def test_an_envelope_sent_again_is_refused_in_the_log(w: Wiring, wired: fakes.Fakes,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    envelope = sealed.seal({"kind": "alert", "text": "drift"}, KEY, wired.clock())
    with caplog.at_level(logging.ERROR, WORKER):
        assert w.worker.run_sealed(envelope) is True
        assert w.worker.run_sealed(envelope) is False
    assert len(w.posts()) == 1
    assert logged(caplog, logging.ERROR) == [
        "worker refused a job (kind 'alert'): this sealed job already ran; nothing done"]


# -- buttons and commands (act)


def act(wiring_: Wiring, request_id: str, action: str = "approve", user_id: str = "U01BOB",
        **more: Any) -> list[dict[str, Any]]:
    before = len(wiring_.replies())
    wiring_.worker.run({"kind": "act", "action": action, "request_id": request_id, "user_id": user_id,
                        "response_url": wiring_.stub.response_url("clicker"), "round": "request", **more})
    return wiring_.replies()[before:]


def ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}


def test_approving_a_request_already_decided_says_so_and_changes_nothing(w: Wiring, wired: fakes.Fakes) -> None:
    request = granted(wired)
    assert act(w, request.id, user_id="U01CAROL") == [ephemeral(
        f"Request `{request.id}` was already approved by <@U01BOB>; nothing changed.")]


def test_a_refusal_while_the_request_still_waits_names_the_problem(stub: SlackStub) -> None:
    wired = fakes.broker(fakes.catalog(approvals_required=2))
    w = wiring(wired, stub)
    request = ask(wired)
    assert act(w, request.id) == []
    (told,) = act(w, request.id)
    assert told["text"].startswith(":warning: ") and "already" in told["text"], told


def test_a_click_slack_delivers_again_answers_nothing_and_is_logged(w: Wiring, wired: fakes.Fakes,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    request = granted(wired)
    with caplog.at_level(logging.INFO, WORKER):
        assert act(w, request.id, user_id="U01CAROL", redelivery=True) == []
    (line,) = logged(caplog, logging.INFO)
    assert line.startswith(f"redelivered approve of request {request.id} changed nothing: request {request.id} ")


def test_revoke_typed_as_a_command_confirms_and_a_button_does_not(w: Wiring, wired: fakes.Fakes) -> None:
    first, second = granted(wired), granted(wired)
    assert act(w, first.id, "revoke", confirm=True) == [
        ephemeral(f":octagonal_sign: Revoked `{first.id}`: the grant policy is gone.")]
    assert act(w, second.id, "revoke") == []
    assert [wired.broker.as_shown(r.id).state for r in (first, second)] == ["revoked", "revoked"]


def test_an_unknown_action_is_dropped_and_logged(w: Wiring, wired: fakes.Fakes,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    request = ask(wired)
    with caplog.at_level(logging.ERROR, WORKER):
        assert act(w, request.id, "frobnicate") == []
    assert logged(caplog, logging.ERROR) == ["unknown action 'frobnicate'; dropped"]
    assert wired.broker.as_shown(request.id).state == "pending"


UNKNOWN = ("I don't know who you are yet: your Slack user `U09NOBODY` is not in access-broker's catalog. Ask an admin "
           "to add `slack_user_id: U09NOBODY` to your entry under `people` in the catalog (the same entry that holds "
           "your `iam_user`).")
UNREADABLE = "I can't tell who you are just now: the IAM groups could not be read."


@pytest.mark.parametrize("kind", ["act", "open_view"])
@pytest.mark.parametrize("directory_unavailable, told", [(None, UNKNOWN),
                                                         ("the IAM groups could not be read", UNREADABLE)])
def test_someone_the_broker_cannot_place_is_told_why(stub: SlackStub, kind: str, directory_unavailable: str | None,
                                                     told: str) -> None:
    wired = fakes.broker(dataclasses.replace(fakes.catalog(), directory_unavailable=directory_unavailable))
    w = wiring(wired, stub)
    request = ask(wired)
    w.worker.run({"kind": kind, "action": "approve", "view": "deny", "request_id": request.id,
                  "user_id": "U09NOBODY", "trigger_id": "1.2.3", "response_url": stub.response_url("x"),
                  "round": "request"})
    assert w.replies() == [ephemeral(told)] and stub.calls("views.open") == []


# -- forms (open_view)


def opened(w: Wiring) -> list[tuple[str, dict[str, Any]]]:
    return [(v["callback_id"], json.loads(v["private_metadata"])) for v in
            (b["view"] for b in w.posts("views.open"))]


def test_the_request_form_keeps_the_response_url_to_answer_on(w: Wiring) -> None:
    w.worker.run({"kind": "open_view", "view": "request_access", "user_id": "U01S3ACCESS", "trigger_id": "1.2.3",
                  "response_url": w.stub.response_url("s3")})
    w.worker.run({"kind": "open_view", "view": "request_access", "user_id": "U01S3ACCESS", "trigger_id": "1.2.4"})
    assert opened(w) == [("request_access", {"response_url": w.stub.response_url("s3")}),
                         ("request_access", {"response_url": ""})]


def test_the_extend_form_opens_on_an_active_grant_only(w: Wiring, wired: fakes.Fakes) -> None:
    active, pending = granted(wired), ask(wired)
    for request in (active, pending):
        w.worker.run({"kind": "open_view", "view": "extend", "user_id": "U01S3ACCESS", "trigger_id": "1.2.3",
                      "response_url": w.stub.response_url("s3"), "request_id": request.id})
    assert opened(w) == [("extend", {"response_url": w.stub.response_url("s3"), "request_id": active.id})]
    (told,) = w.replies()
    assert told["text"].startswith(f":warning: Request `{pending.id}` ") and \
        told["text"].endswith(": only an active grant can be extended.")


# -- response URLs refused


@pytest.mark.parametrize("url, host", [
    ("https://evil.example/commands/T1/2/x", "'evil.example'"),
    ("https://" + "a" * 90 + ".example/x", repr("a" * 80)),
    ("/response/bob", "''"),
    ("https://[hooks.slack.com/x", "'(unreadable)'"),
    (12345, "'int'"),
])
def test_an_answer_to_anything_but_a_slack_response_url_is_refused_naming_its_host_only(
        w: Wiring, url: object, host: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, WORKER):
        w.worker.run({"kind": "respond", "response_url": url, "message": {"text": "approved"}})  # type: ignore[typeddict-item]
    assert w.stub.calls() == []
    assert logged(caplog, logging.ERROR) == [
        f"refused to post an answer to host {host}: not a Slack response URL; nothing posted"]


# -- notifications that fail: recorded, kept and sent again


def test_a_notification_slack_rate_limits_for_long_is_kept_until_slack_says(w: Wiring, wired: fakes.Fakes) -> None:
    request = ask(wired)
    (created,) = wired.store.events(request.id)
    w.stub.fail("chat.postMessage", "ratelimited", times=10, retry_after=600)
    w.worker.run(notify_job(request.id, created))
    (failed,) = [e for e in wired.store.events(request.id) if e.kind == "notify_failed"]
    assert (failed.actor, failed.channel, failed.details) == (SYSTEM, "system", {
        "event": "created", "method": "chat.postMessage", "error": "ratelimited", "attempt": 1,
        "retry_in_seconds": 600})
    audit = wired.store.audit_scoped(["s3-prod"], wired.clock() - timedelta(hours=1), wired.clock(), 50, None)
    assert failed in audit.items, "an auditor of the profile sees the failure"
    assert list(w.outbox.take_due(wired.clock() + timedelta(seconds=599))) == []
    (again,) = list(w.outbox.take_due(wired.clock() + timedelta(seconds=600)))
    assert again["attempts"] == 1


def test_the_last_attempt_is_recorded_and_not_kept(w: Wiring, wired: fakes.Fakes,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    request = ask(wired)
    (created,) = wired.store.events(request.id)
    w.stub.fail("chat.postMessage", "channel_not_found", times=10)
    with caplog.at_level(logging.ERROR, WORKER):
        w.worker.run(notify_job(request.id, created, attempts=MAX_ATTEMPTS - 1))
    (failed,) = [e for e in wired.store.events(request.id) if e.kind == "notify_failed"]
    assert failed.details == {"event": "created", "method": "chat.postMessage", "error": "channel_not_found",
                              "attempt": MAX_ATTEMPTS, "retry_in_seconds": None}
    assert list(w.outbox.take_due(wired.clock() + timedelta(days=1))) == []
    assert logged(caplog, logging.ERROR) == [
        f"gave up telling Slack about created of request {request.id} after {MAX_ATTEMPTS} attempts"]


def test_a_notification_that_fails_outside_slack_is_logged_with_its_event_and_request(
        wired: fakes.Fakes, stub: SlackStub, caplog: pytest.LogCaptureFixture) -> None:
    def unreadable_token() -> Any:
        raise RuntimeError("SLACK_BOT_TOKEN could not be read")

    w = wiring(wired, stub, unreadable_token)
    request = ask(wired)
    (created,) = wired.store.events(request.id)
    with caplog.at_level(logging.ERROR, WORKER):
        w.worker.run(notify_job(request.id, created))
    (record,) = [r for r in caplog.records if r.name == WORKER]
    assert record.getMessage() == f"telling Slack about created of request {request.id} failed" and record.exc_info


def test_an_expiry_warning_offers_extend_only_where_the_sweeper_said_it_may(w: Wiring, wired: fakes.Fakes) -> None:
    request = granted(wired)
    for extendable in (False, True):
        warning = Event(request.id, request.version + (2 if extendable else 1), EventKind.EXPIRY_WARNING,
                        wired.clock(), SYSTEM, "system", {"extendable": extendable})
        w.worker.run(notify_job(request.id, warning))
    buttons = [[e["action_id"] for block in body["blocks"] if block["type"] == "actions" for e in block["elements"]]
               for body in w.posts() if " ends at " in body["text"]]
    assert buttons == [["revoke"], ["extend", "revoke"]]
