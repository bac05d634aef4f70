"""The ports: what the service and the Slack worker need from the outside, as Protocols, and the values they share.

Adapters satisfy these (store/ for the table, aws/ for IAM, slack/web for Slack); bootstrap wires them, and tests
hand in fakes. Nothing here does I/O or imports an adapter."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.requests import AccessRequest, Event


class Notifier(Protocol):
    """Tells people about an event (Slack, when configured). Never raises into a state change: the service logs
    and records a failure instead."""

    def notify(self, request: AccessRequest, event: Event) -> None: ...


class RequestLog(Protocol):
    """The part of the request store a notifier needs: read a request and its trail, append an event."""

    def get(self, request_id: str) -> AccessRequest: ...

    def note(self, event: Event) -> None: ...

    def events(self, request_id: str) -> list[Event]: ...


class Outbox(Protocol):
    """Notifications that failed, kept until their retry is due; taking one removes it (whoever takes it sends it)."""

    def add(self, request_id: str, job: Any, due: datetime) -> None: ...

    def take_due(self, now: datetime, limit: int = 25) -> Any: ...


class SlackApi(Protocol):
    """The Slack Web API and response_url replies (chalicelib/slack/web.py)."""

    def call(self, method: str, **arguments: Any) -> dict[str, Any]: ...

    def respond(self, response_url: str, message: dict[str, Any]) -> None: ...
