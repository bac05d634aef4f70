"""Slack notifications: posts the approval message and the requester's DMs, and keeps them true.

Where a message was posted (channel and ts) is recorded as a `slack_posted` event on the request, so any
worker can update it later and a retried notification never posts twice."""
from __future__ import annotations

import functools
import logging
from datetime import datetime
from typing import Callable

from chalicelib.domain.catalog import Catalog
from chalicelib.domain.events import ENDINGS, SYSTEM, EventKind
from chalicelib.domain.requests import AccessRequest, Event
from chalicelib.ports import RequestLog, SlackApi
from chalicelib.slack.blocks import (
    Message,
    approval_message,
    as_dicts,
    ended_message,
    expiry_warning,
    extension_asked,
    extension_outcome,
    grant_message,
    on_call_announcement,
    reminder_message,
    security_copy,
)
from chalicelib.slack.web import SlackFailure

log = logging.getLogger(__name__)
Posted = dict[str, tuple[str, str]]  # purpose ("approval", "grant", "ended", ...) -> (channel, ts)
Step = Callable[[], None]


class SlackNotifier:
    def __init__(self, web: SlackApi, repo: RequestLog, catalog: Catalog, clock: Callable[[], datetime]) -> None:
        self.web, self.repo, self.catalog, self.clock = web, repo, catalog, clock

    def notify(self, request: AccessRequest, event: Event) -> None:
        """Renders `request` as it is now. Each message is tried on its own (a channel Slack refuses must not
        keep the requester's DM from going out); then the first failure, if any, is raised as SlackFailure.
        Running it again is safe: posts already made are recorded and skipped, updates are idempotent."""
        posted = self._posted(request.id)
        failures = []
        for step in self._approver_steps(request, event, posted) + self._requester_steps(request, event, posted):
            try:
                step()
            except SlackFailure as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    def _approver_steps(self, request: AccessRequest, event: Event, posted: Posted) -> list[Step]:
        """Where approvers decide (the approval channel, or else a DM to each approver), kept true; a nudge in
        its thread for a reminder or an extension round; break-glass also told to the security channel."""
        steps: list[Step] = []
        approvals = {purpose: where for purpose, where in posted.items() if purpose.split(":")[0] == "approval"}
        for where in approvals.values():
            steps.append(functools.partial(self._keep_true, request, where, approval_message))
        if not approvals and event.kind in (EventKind.CREATED, EventKind.BREAK_GLASS_ACTIVATED):
            for purpose, channel in self._approval_places(request):
                steps.append(functools.partial(self._post, request, purpose, channel,
                                               approval_message(self.catalog, request)))
        nudges: dict[str, Callable[[Catalog, AccessRequest], Message]] = {
            EventKind.REMINDER_SENT: reminder_message, EventKind.EXTENSION_REQUESTED: extension_asked}
        nudge = nudges.get(event.kind)
        for purpose, (channel, ts) in approvals.items() if nudge else ():
            once = f"{event.kind}:{event.version}{purpose.removeprefix('approval')}"
            if nudge and once not in posted:
                steps.append(functools.partial(self._post, request, once, channel, nudge(self.catalog, request),
                                               thread_ts=ts))
        steps += self._break_glass_steps(request, event, posted)
        security = self.catalog.security_channel
        if event.kind == EventKind.AUTO_APPROVED:  # loud: a new message in both channels, not only an update
            places = [(f"on-call:{purpose}", channel) for purpose, channel in self._approval_places(request)]
            places += [("on-call:security", security)] if security else []
            for purpose, channel in places:
                if purpose not in posted:
                    steps.append(functools.partial(self._post, request, purpose, channel,
                                                   on_call_announcement(self.catalog, request)))
        return steps

    def _break_glass_steps(self, request: AccessRequest, event: Event, posted: Posted) -> list[Step]:
        """Break-glass use, told to the security channel once, and that message then kept true (updated in place
        where its post recorded it, as the approval message is), so it never says "active" after the grant ended."""
        security = self.catalog.security_channel
        if "security" in posted:
            return [functools.partial(self._keep_true, request, posted["security"], security_copy)]
        if event.kind == EventKind.BREAK_GLASS_ACTIVATED and security:
            return [functools.partial(self._post, request, "security", security, security_copy(self.catalog, request))]
        return []

    def _requester_steps(self, request: AccessRequest, event: Event, posted: Posted) -> list[Step]:
        """The requester's DMs: the grant (kept true), its end, warnings and extension outcomes."""
        requester = self.catalog.people.get(request.requester)
        dm = requester.slack_user_id if requester else None
        if not dm:
            return []
        steps: list[Step] = []
        if "grant" in posted:
            steps.append(lambda: self._keep_true(request, posted["grant"], grant_message))
        elif event.kind == EventKind.ACTIVATED and request.grant:
            steps.append(lambda: self._post(request, "grant", dm, grant_message(self.catalog, request)))
        if event.kind in ENDINGS and "ended" not in posted:
            steps.append(lambda: self._post(request, "ended", dm, ended_message(self.catalog, request)))
        once = f"{event.kind}:{event.version}"  # these may happen more than once in a grant's life
        if once in posted:
            return steps
        if event.kind == EventKind.EXPIRY_WARNING and request.grant:
            extendable = bool(event.details.get("extendable", True))
            steps.append(lambda: self._post(request, once, dm, expiry_warning(self.catalog, request, extendable)))
        if event.kind in (EventKind.EXTENDED, EventKind.EXTENSION_DENIED):
            outcome = extension_outcome(self.catalog, request, event.kind == EventKind.EXTENDED, event.actor)
            steps.append(lambda: self._post(request, once, dm, outcome))
        return steps

    def _approval_places(self, request: AccessRequest) -> list[tuple[str, str]]:
        profile = self.catalog.profiles.get(request.profile)
        if profile is None:
            return []
        if profile.approval_channel:
            return [("approval", profile.approval_channel)]
        people = [self.catalog.people[p] for p in sorted(profile.approvers - {request.requester})]
        return [(f"approval:{p.id}", p.slack_user_id) for p in people if p.slack_user_id]

    def _post(self, request: AccessRequest, purpose: str, channel: str, message: Message, **options: str) -> None:
        text, blocks = message
        answer = self.web.call("chat.postMessage", channel=channel, text=text, blocks=as_dicts(blocks),
                               unfurl_links=False, **options)
        self.repo.note(Event(request.id, request.version, EventKind.SLACK_POSTED, self.clock(), SYSTEM, "system",
                             {"purpose": purpose, "channel": answer.get("channel", channel), "ts": answer.get("ts")}),
                       request.profile)

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

    def _posted(self, request_id: str) -> Posted:
        return {e.details["purpose"]: (e.details["channel"], e.details["ts"])
                for e in self.repo.events(request_id) if e.kind == EventKind.SLACK_POSTED and e.details.get("ts")}
