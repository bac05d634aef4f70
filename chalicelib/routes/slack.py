"""Slack's front door: POST /slack/commands and /slack/interactions.

Each request is verified before anything is parsed (a bare 401 otherwise), parsed into a typed object
(400 if Slack would never send it), handed to one service function, and answered at once; work that may
be slow (IAM, the Slack Web API) is deferred until after the answer."""
from __future__ import annotations

import functools
import hashlib
import json
import logging
from typing import Any, Callable, Literal

from chalice import Blueprint, Response

from chalicelib import bootstrap
from chalicelib.access_rules import Caller, comment_of
from chalicelib.aws.secrets import SecretUnavailable
from chalicelib.domain.catalog import Catalog
from chalicelib.domain.errors import Conflict, DomainError, Forbidden, quote
from chalicelib.domain.requests import AccessRequest, State
from chalicelib.domain.rounds import REQUEST, is_round
from chalicelib.ports import IdempotencyClaim
from chalicelib.routes.http import raw_body
from chalicelib.slack import parse, texts
from chalicelib.slack.jobs import ActJob, Job, OnCallJob, OpenViewJob, RespondJob
from chalicelib.slack.verify import is_authentic

log = logging.getLogger(__name__)
slack = Blueprint(__name__)
# Slack sends forms; any type is accepted so that anything unsigned gets its 401, never chalice's 415
# (tests/security/test_slack_abuse.py sends random Content-Types).
CONTENT_TYPES = ["*/*"]
# The buttons that open a modal to ask for more first (a reason, a duration): the modal each opens.
_MODALS: dict[str, Literal["deny", "extend"]] = {"deny": "deny", "extend": "extend"}


def slack_route(path: str) -> Callable[[Callable[[bytes], Response]], Callable[[], Response]]:
    def register(view: Callable[[bytes], Response]) -> Callable[[], Response]:
        @functools.wraps(view)
        def guarded() -> Response:
            request = slack.current_request
            body = raw_body(request)
            if parse.is_ssl_check(body):  # unsigned by design; carries nothing to act on
                return Response(body="", status_code=200)
            if not _authentic(request.headers, body):
                return Response(body="", status_code=401)
            try:
                return view(body)
            except parse.Malformed as exc:
                return Response(body=exc.detail, status_code=400, headers={"Content-Type": "text/plain"})
            except DomainError as exc:
                return ephemeral(texts.problem(exc.detail))
            except Exception:
                log.exception("unhandled error in POST %s", path)
                return ephemeral(":warning: Something went wrong on our side; it has been logged. Try again.")
        registered: Callable[[], Response] = slack.route(path, methods=["POST"], content_types=CONTENT_TYPES)(guarded)
        return registered  # Chalice types its decorators as Any
    return register


@slack_route("/slack/commands")
def commands(body: bytes) -> Response:
    command = parse.parse_command(body)
    _require_our_workspace(command.origin)
    asked = parse.subcommand(command.text)
    if isinstance(asked, parse.Help):
        return ephemeral(texts.HELP)
    broker = bootstrap.broker()
    who = broker.caller_from_slack(command.user_id)
    if who.person is None:
        return ephemeral(texts.unmapped(command.user_id, who.unmapped_why))
    if isinstance(asked, parse.ListMine):
        waiting = (broker.list(who, awaiting_me=True, limit=15).items
                   if broker.catalog.approvable_by(who.person.id) else [])
        return ephemeral(texts.listing(broker.catalog, broker.list(who, mine=True, limit=15).items, waiting))
    if isinstance(asked, parse.OpenForm):
        defer(OpenViewJob(kind="open_view", view="request_access", user_id=command.user_id,
                          trigger_id=command.trigger_id, response_url=command.response_url))
        return Response(body="", status_code=200)
    if isinstance(asked, parse.Revoke):
        defer(ActJob(kind="act", action="revoke", request_id=asked.request_id, user_id=command.user_id,
                     response_url=command.response_url, confirm=True))
        return ephemeral(f"Revoking `{texts.escape(asked.request_id)}`…")
    request = broker.request_access(who, asked.profile, asked.duration, asked.reason, idempotency=_claim(who, body))
    _consider_on_call(broker.catalog, request)
    return ephemeral(texts.created(broker.catalog, request))


@slack_route("/slack/interactions")
def interactions(body: bytes) -> Response:
    event = parse.parse_interaction(body)
    _require_our_workspace(event.origin)
    if isinstance(event, parse.Click):
        modal = _MODALS.get(event.action)
        if modal is not None:  # deny and extend ask for more (a reason, a duration) in a modal first
            defer(OpenViewJob(kind="open_view", view=modal, user_id=event.user_id, trigger_id=event.trigger_id,
                              request_id=event.request_id, response_url=event.response_url, round=event.round))
        else:  # a redelivery (X-Slack-Retry-Num) changes nothing either way; it just should not say so twice
            defer(ActJob(kind="act", action=event.action, request_id=event.request_id, user_id=event.user_id,
                         response_url=event.response_url, round=event.round,
                         redelivery="x-slack-retry-num" in slack.current_request.headers))
        return Response(body="", status_code=200)
    return _submitted(event, body)


def _submitted(form: parse.Submission, body: bytes) -> Response:
    """A modal's submission: quick service calls, answered in the modal itself (errors under the field)."""
    broker = bootstrap.broker()
    who = broker.caller_from_slack(form.user_id)
    values, request_id = form.values, form.metadata.get("request_id", "")
    if who.person is None:
        return _field_error(broker.catalog, form, next(iter(form.values), "reason"),
                            texts.unmapped(form.user_id, who.unmapped_why))
    try:
        if form.callback_id == "request_access":
            request = broker.request_access(who, values.get("profile") or None, values.get("duration") or None,
                                            values.get("reason"), idempotency=_claim(who, body))
            _consider_on_call(broker.catalog, request)
            _respond(form, texts.created(broker.catalog, request))
        elif form.callback_id == "deny":
            broker.deny(who, request_id, comment_of(values.get("reason")), round=_round(form))
        else:
            _respond(form, texts.extension_asked(broker.catalog, broker.extend(who, request_id,
                                                                              values.get("duration") or None)))
    except Conflict as exc:
        current = broker.as_shown(request_id) if form.callback_id == "deny" else None
        if current is not None and not current.awaiting_decision:
            return _field_error(broker.catalog, form, "reason", texts.already_decided(broker.catalog, current))
        return _field_error(broker.catalog, form, _field(form, exc), exc.detail)
    except DomainError as exc:
        return _field_error(broker.catalog, form, _field(form, exc), exc.detail)
    return Response(body="", status_code=200)  # an empty 200 closes the modal


def _round(form: parse.Submission) -> str:
    """The approval round the Deny form was opened for (its metadata; the request's own when it names none)."""
    round_ = form.metadata.get("round") or REQUEST
    if not is_round(round_):
        raise parse.Malformed("payload.view.private_metadata names no approval round access-broker put there")
    return round_


def _field(form: parse.Submission, exc: DomainError) -> str:
    """The input block an error is about (the field it names), so Slack shows it in the right place."""
    if exc.field and exc.field in form.values:
        return exc.field
    return "reason" if "reason" in form.values else next(iter(form.values), "reason")


def _field_error(catalog: Catalog, form: parse.Submission, block: str, detail: str) -> Response:
    """Slack shows these under the field as plain text: no mentions or other markup."""
    body = {"response_action": "errors", "errors": {block: texts.plain(catalog, detail)[:150]}}
    return Response(body=json.dumps(body), status_code=200, headers={"Content-Type": "application/json"})


def _respond(form: parse.Submission, text: str) -> None:
    if form.metadata.get("response_url"):
        defer(RespondJob(kind="respond", response_url=form.metadata["response_url"],
                         message={"response_type": "ephemeral", "text": text}))


def _consider_on_call(catalog: Catalog, request: AccessRequest) -> None:
    """A pending request of a profile that auto-approves the on-call: PagerDuty is asked after the answer."""
    profile = catalog.profiles.get(request.profile)
    if request.state == State.PENDING and profile is not None and profile.auto_approve is not None:
        defer(OnCallJob(kind="on_call", request_id=request.id))


def _require_our_workspace(origin: parse.Origin) -> None:
    """When the catalog names the Slack workspace (slack.team_id) or app (slack.api_app_id), only they are served:
    a signing secret shared by an app installed elsewhere, or by another app, does not reach the broker."""
    expected = bootstrap.broker().catalog.slack
    for name, wanted, sent in (("workspace", expected.team_id, origin.team_id),
                               ("app", expected.api_app_id, origin.api_app_id)):
        if wanted and sent != wanted:
            log.warning("refused a signed Slack request from %s %s", name, sent[:40] or "(none)")
            shown = quote(sent) if sent else "(none given)"
            raise Forbidden(f"this access-broker does not serve the Slack {name} {shown}; it answers only the one "
                            f"its catalog names (slack.team_id, slack.api_app_id)")


def defer(job: Job) -> None:
    """Hands a job (one of the shapes in chalicelib/slack/jobs.py) to the deferred runner."""
    bootstrap.deferred().submit(job)


def ephemeral(text: str) -> Response:
    return Response(body=json.dumps({"response_type": "ephemeral", "text": text}), status_code=200,
                    headers={"Content-Type": "application/json"})


def _claim(who: Caller, body: bytes) -> IdempotencyClaim:
    """Slack re-delivers the same body (X-Slack-Retry-Num) when our answer was late: it must not create twice."""
    digest = hashlib.sha256(body).hexdigest()
    return IdempotencyClaim(caller=who.principal, key=f"slack-{digest[:32]}", fingerprint=digest)


def _authentic(headers: Any, body: bytes) -> bool:
    try:
        secret = bootstrap.secret("SLACK_SIGNING_SECRET")
    except SecretUnavailable as exc:
        log.error("every Slack request is refused until the signing secret can be read: %s", exc)
        return False
    return is_authentic(secret, headers, body, bootstrap.broker().clock().timestamp())
