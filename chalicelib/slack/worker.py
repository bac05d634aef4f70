"""The deferred Slack work, run once Slack has its answer: notifications, modals, button actions and
response_url replies. A job is a small JSON object (see chalicelib/slack/deferred.py).

The worker function runs only jobs sealed by the broker's own functions (`Worker.run_sealed`), and answers only to
Slack's own response URLs (settings.response_url_prefixes). bootstrap builds the Worker with everything it uses."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Callable, cast
from urllib.parse import urlsplit

from chalicelib.access_rules import Caller
from chalicelib.aws.secrets import SecretUnavailable
from chalicelib.domain import rounds
from chalicelib.domain.errors import Conflict, DomainError
from chalicelib.domain.events import SYSTEM, EventKind
from chalicelib.domain.requests import AccessRequest, Event, State
from chalicelib.ports import Outbox, RequestLog, SlackApi, SpentEnvelopes
from chalicelib.service.broker import Broker
from chalicelib.slack import blocks, sealed, texts
from chalicelib.slack.jobs import (
    MAX_ATTEMPTS,
    ActJob,
    AlertJob,
    Job,
    NotifyJob,
    OnCallJob,
    OpenViewJob,
    RespondJob,
    retry_wait,
)
from chalicelib.slack.notifier import SlackNotifier
from chalicelib.slack.web import SlackFailure

log = logging.getLogger(__name__)
_TRIGGER_GONE = ("expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id")


class Worker:
    """Runs jobs against one wiring. `broker` and `web` are read on each job: a test that rebuilds the broker (or a
    missing bot token, which must fail the job and not the worker) is seen by the next job."""

    def __init__(self, broker: Callable[[], Broker], web: Callable[[], SlackApi], requests: RequestLog,
                 outbox: Outbox, job_key: Callable[[], bytes], response_url_prefixes: tuple[str, ...],
                 spent: SpentEnvelopes) -> None:
        self._broker, self._web, self.requests, self.outbox = broker, web, requests, outbox
        self._job_key, self.response_url_prefixes, self.spent = job_key, response_url_prefixes, spent

    def run_sealed(self, envelope: Any) -> bool:
        """What the worker function runs: a job sealed by the broker's own functions within the window, once, or
        nothing. A refusal is logged (why, never the key or the job) and nothing of the job is done. If the record of
        envelopes run cannot be written, the invocation fails before the job runs (Lambda tries it again)."""
        try:
            job = cast(Job, sealed.open_sealed(envelope, self._job_key(), self._broker().clock()))
        except (sealed.Refused, SecretUnavailable) as exc:
            refused = envelope.get("job", envelope) if isinstance(envelope, dict) else None  # sealed, or a bare job
            log.error("worker refused a job (kind %.40r): %s; nothing done",
                      refused.get("kind") if isinstance(refused, dict) else None, exc)
            return False
        if not self.spent.spend(sealed.envelope_id(envelope), sealed.accepted_until(envelope)):
            log.error("worker refused a job (kind %.40r): this sealed job already ran; nothing done", job.get("kind"))
            return False
        self.run(job)
        return True

    def run(self, job: Job) -> None:
        handler = _HANDLERS.get(str(job.get("kind")))
        if handler is None:
            log.error("unknown deferred job kind %r; dropped", job.get("kind"))
            return
        try:
            handler(self, self._broker(), job)
        except SlackFailure as exc:  # views.open and response_url replies are short-lived: nothing to retry later
            log.warning("deferred %s: Slack answered %s to %s", job["kind"], exc.error, exc.method)
        except Exception:
            log.exception("deferred %s failed", job["kind"])

    def notify(self, broker: Broker, job: NotifyJob) -> None:
        """Tells Slack about one event. A failure is recorded on the request and retried later (the outbox)."""
        request = broker.as_shown(job["request_id"])
        raw = job["event"]
        event = Event(request.id, raw["version"], raw["kind"], datetime.fromisoformat(raw["at"]), raw["actor"],
                      raw["channel"], raw.get("details") or {})
        try:
            SlackNotifier(self._web(), self.requests, broker.catalog, broker.clock).notify(request, event)
        except SlackFailure as exc:
            self._failed(broker, job, request, event, exc.method, exc.error, exc.retry_after)
        except Exception as exc:  # e.g. the bot token unreadable: still recorded and retried, never silent
            log.exception("telling Slack about %s of request %s failed", event.kind, request.id)
            self._failed(broker, job, request, event, "notify", type(exc).__name__, None)

    def _failed(self, broker: Broker, job: NotifyJob, request: AccessRequest, event: Event, method: str, error: str,
                retry_after: float | None) -> None:
        """Records the failure on the request and puts the job in the outbox for the sweeper, with backoff."""
        attempt = int(job.get("attempts", 0)) + 1
        retry = attempt < MAX_ATTEMPTS
        wait = retry_wait(attempt, retry_after).total_seconds()
        self.requests.note(Event(
            request.id, request.version, EventKind.NOTIFY_FAILED, broker.clock(), SYSTEM, "system", {
                "event": event.kind, "method": method, "error": error, "attempt": attempt,
                "retry_in_seconds": wait if retry else None}), request.profile)
        if retry:
            self.outbox.add(request.id, {**job, "attempts": attempt}, broker.clock() + timedelta(seconds=wait))
        else:
            log.error("gave up telling Slack about %s of request %s after %d attempts", event.kind, request.id,
                      attempt)

    def open_view(self, broker: Broker, job: OpenViewJob) -> None:
        who = broker.caller_from_slack(job["user_id"])
        if who.person is None:
            return self._reply(job, texts.unmapped(job["user_id"], who.unmapped_why))
        metadata = {"response_url": job.get("response_url", "")}
        if job["view"] == "request_access":
            view = blocks.request_form(broker.profiles_for(who), metadata)
        else:
            try:
                request = broker.get(who, job["request_id"])
            except DomainError as exc:
                return self._reply(job, texts.problem(exc.detail))
            if job["view"] == "deny" and not request.awaiting_decision:
                return self._reply(job, texts.already_decided(broker.catalog, request))
            if job["view"] == "deny":
                try:  # a Deny clicked on a round that has closed opens no form for the round open now
                    rounds.require_round(request, job.get("round", rounds.REQUEST))
                except Conflict as exc:
                    return self._reply(job, texts.problem(exc.detail))
                metadata["round"] = job.get("round", rounds.REQUEST)
            if job["view"] == "extend" and request.state != State.ACTIVE:
                return self._reply(job, f":warning: Request `{request.id}` {texts.became(broker.catalog, request)}: "
                                        f"only an active grant can be extended.")
            metadata["request_id"] = request.id
            form = blocks.deny_form if job["view"] == "deny" else blocks.extend_form
            view = form(broker.catalog, request, metadata)
        try:
            self._web().call("views.open", trigger_id=job["trigger_id"], view=view.to_dict())
        except SlackFailure as exc:
            if exc.error in _TRIGGER_GONE:  # a form must open within 3 s of the click; say so rather than nothing
                self._reply(job, ":hourglass: Slack gave up waiting for the form to open. Please try again"
                                 + (f", or type `{texts.COMMAND} <profile> [duration] <reason>`."
                                    if job["view"] == "request_access" else "."))
            raise

    def act(self, broker: Broker, job: ActJob) -> None:
        """A button or `revoke <id>`: the same service call the HTTP API makes; refusals answered ephemerally."""
        who: Caller = broker.caller_from_slack(job["user_id"])
        if who.person is None:
            return self._reply(job, texts.unmapped(job["user_id"], who.unmapped_why))
        request_id, action = job["request_id"], job["action"]
        try:
            if action == "approve":  # the round the clicked message showed, or nothing changes
                broker.approve(who, request_id, round=job.get("round", rounds.REQUEST))
            elif action == "revoke":
                broker.revoke(who, request_id)
                if job.get("confirm"):
                    self._reply(job, f":octagonal_sign: Revoked `{request_id}`: the grant policy is gone.")
            else:
                log.error("unknown action %r; dropped", action)
        except Conflict as exc:
            if job.get("redelivery"):  # Slack sent the click again; the first delivery did (or refused) it
                log.info("redelivered %s of request %s changed nothing: %s", action, request_id, exc.detail)
                return
            current = broker.as_shown(request_id)
            self._reply(job, texts.problem(exc.detail) if current.awaiting_decision
                        else texts.already_decided(broker.catalog, current))
        except DomainError as exc:
            self._reply(job, texts.problem(exc.detail))

    def on_call(self, broker: Broker, job: OnCallJob) -> None:
        """On-call auto-approval of a request asked in Slack; its outcome reaches people as its events do."""
        broker.consider_on_call(job["request_id"])

    def respond(self, broker: Broker, job: RespondJob) -> None:
        self._answer(job["response_url"], job["message"])

    def alert(self, broker: Broker, job: AlertJob) -> None:
        """Posts a security alert to the catalog's security channel (drift repair found a policy that is not a
        grant, or a session guard fell back to the whole-role cut). Logged as an error too, so nothing depends on
        Slack."""
        channel = broker.catalog.security_channel
        if not channel:
            log.error("security alert with no security_channel in the catalog: %s", job.get("text"))
            return
        self._web().call("chat.postMessage", channel=channel, text=str(job.get("text", ""))[:3000],
                         unfurl_links=False)

    def _reply(self, job: OpenViewJob | ActJob, text: str) -> None:
        if job.get("response_url"):
            self._answer(job["response_url"], {"response_type": "ephemeral", "replace_original": False, "text": text})

    def _answer(self, response_url: str, message: dict[str, Any]) -> None:
        """Posts to a response_url only if it is Slack's own; anything else is logged (its origin only: a response
        URL is a credential) and nothing is posted."""
        if not is_slack_response_url(response_url, self.response_url_prefixes):
            log.error("refused to post an answer to host %r: not a Slack response URL; nothing posted",
                      _host(response_url))
            return
        self._web().respond(response_url, message)


def _host(url: Any) -> str:
    try:
        return (urlsplit(url).hostname or "")[:80] if isinstance(url, str) else type(url).__name__
    except ValueError:
        return "(unreadable)"


def is_slack_response_url(url: Any, prefixes: tuple[str, ...]) -> bool:
    """True if `url` lies under one of `prefixes`: same scheme and host (no user info), path below the prefix's,
    and nothing a URL parser could read two ways (backslashes, whitespace, control characters, `..`)."""
    if not isinstance(url, str) or any(c == "\\" or c.isspace() or not c.isprintable() for c in url):
        return False
    try:
        target = urlsplit(url)
    except ValueError:
        return False
    if ".." in target.path.split("/"):
        return False
    for prefix in prefixes:
        allowed = urlsplit(prefix)
        if (target.scheme, target.netloc) == (allowed.scheme, allowed.netloc) and \
                target.path.startswith(allowed.path) and len(target.path) > len(allowed.path):
            return True
    return False


# Each handler takes its own kind of job: the kind in the job picks the handler.
_HANDLERS: dict[str, Callable[[Worker, Broker, Any], None]] = {
    "notify": Worker.notify, "open_view": Worker.open_view, "act": Worker.act, "on_call": Worker.on_call,
    "respond": Worker.respond, "alert": Worker.alert}
