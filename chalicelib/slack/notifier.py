"""Slack notifications: posts the approval message and the requester's DMs, and keeps them true.

Where a message was posted (channel and ts) is recorded as a `slack_posted` event on the request, so any
worker can update it later and a retried notification never posts twice."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from chalicelib.catalog import Catalog
from chalicelib.domain.requests import AccessRequest, Event
from chalicelib.slack.blocks import (Message, approval_message, as_dicts, ended_message, expiry_warning,
                                     extension_asked, extension_outcome, grant_message, reminder_message)
from chalicelib.slack.web import SlackFailure, SlackWeb
from chalicelib.store.repository import Repository

log = logging.getLogger(__name__)
POSTED = "slack_posted"
SYSTEM = "access-broker"
BREAK_GLASS = "break_glass_activated"
ENDINGS = {"denied", "timed_out", "expired", "revoked", "failed"}  # the requester hears about each of these


class SlackNotifier:
    def __init__(self, web: SlackWeb, repo: Repository, catalog: Catalog, clock: Callable[[], datetime]) -> None:
        self.web, self.repo, self.catalog, self.clock = web, repo, catalog, clock

    def notify(self, request: AccessRequest, event: Event) -> None:
        """Renders `request` as it is now. Each message is tried on its own (a channel Slack refuses must not
        keep the requester's DM from going out); then the first failure, if any, is raised as SlackFailure.
        Running it again is safe: posts already made are recorded and skipped, updates are idempotent."""
        posted = self._posted(request.id)
        profile = self.catalog.profiles.get(request.profile)
        requester = self.catalog.people.get(request.requester)
        dm = requester.slack_user_id if requester else None
        steps: list[Callable[[], None]] = []
        if "approval" in posted:
            steps.append(lambda: self._keep_true(request, posted["approval"], approval_message))
        elif event.kind in ("created", BREAK_GLASS) and profile and profile.approval_channel:
            steps.append(lambda: self._post(request, "approval", profile.approval_channel,
                                            approval_message(self.catalog, request)))
        security = self.catalog.security_channel
        if event.kind == BREAK_GLASS and security and "security" not in posted:  # loud: security hears too
            steps.append(lambda: self._post(request, "security", security, approval_message(self.catalog, request)))
        if "grant" in posted:
            steps.append(lambda: self._keep_true(request, posted["grant"], grant_message))
        elif event.kind == "activated" and dm and request.grant:
            steps.append(lambda: self._post(request, "grant", dm, grant_message(self.catalog, request)))
        if event.kind in ENDINGS and dm and "ended" not in posted:
            steps.append(lambda: self._post(request, "ended", dm, ended_message(self.catalog, request)))
        if event.kind == "reminder_sent" and "approval" in posted and "reminder" not in posted:
            steps.append(lambda: self._post(request, "reminder", posted["approval"][0],
                                            reminder_message(self.catalog, request), thread_ts=posted["approval"][1]))
        once = f"{event.kind}:{event.version}"  # these may happen again later in the grant's life
        if event.kind == "expiry_warning" and dm and request.grant and once not in posted:
            extendable = bool(event.details.get("extendable", True))
            steps.append(lambda: self._post(request, once, dm, expiry_warning(self.catalog, request, extendable)))
        if event.kind == "extension_requested" and "approval" in posted and once not in posted:
            channel, ts = posted["approval"]
            steps.append(lambda: self._post(request, once, channel, extension_asked(self.catalog, request),
                                            thread_ts=ts))
        if event.kind in ("extended", "extension_denied") and dm and once not in posted:
            outcome = extension_outcome(self.catalog, request, event.kind == "extended", event.actor)
            steps.append(lambda: self._post(request, once, dm, outcome))
        failures = []
        for step in steps:
            try:
                step()
            except SlackFailure as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    def _post(self, request: AccessRequest, purpose: str, channel: str, message: Message, **options: str) -> None:
        text, blocks = message
        answer = self.web.call("chat.postMessage", channel=channel, text=text, blocks=as_dicts(blocks),
                               unfurl_links=False, **options)
        self.repo.note(Event(request.id, request.version, POSTED, self.clock(), SYSTEM, "system",
                             {"purpose": purpose, "channel": answer.get("channel", channel), "ts": answer.get("ts")}))

    def _keep_true(self, request: AccessRequest, where: tuple[str, str],
                   render: Callable[[Catalog, AccessRequest], Message]) -> None:
        """Updates the message to the request's state; if the request moved on meanwhile (another worker's
        update may have landed first), renders again, so the last update shows the latest state."""
        for _ in range(3):
            text, blocks = render(self.catalog, request)
            self.web.call("chat.update", channel=where[0], ts=where[1], text=text, blocks=as_dicts(blocks))
            latest = self.repo.get(request.id)
            if latest.version == request.version:
                return
            request = latest

    def _posted(self, request_id: str) -> dict[str, tuple[str, str]]:
        return {e.details["purpose"]: (e.details["channel"], e.details["ts"])
                for e in self.repo.events(request_id) if e.kind == POSTED and e.details.get("ts")}
