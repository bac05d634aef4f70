"""The jobs the deferred runner carries to the worker (chalicelib/slack/deferred.py, worker.py): small JSON objects,
one shape per kind. A job from outside the process is still checked by the worker before it acts (sealed.py)."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal, NotRequired, TypedDict

MAX_ATTEMPTS = 8  # about two hours of retries with the backoff below (1 min doubling, at most 1 h)


def retry_wait(attempt: int, retry_after: float | None = None) -> timedelta:
    """How long a notification that failed its `attempt`-th time waits in the outbox: 1 min doubling, at most 1 h,
    and never less than Slack asked for (Retry-After)."""
    return timedelta(seconds=max(retry_after or 0, min(60 * 2 ** (attempt - 1), 3600)))


class EventRecord(TypedDict):
    """An event as a notify job carries it (times as ISO 8601)."""
    kind: str
    version: int
    at: str
    actor: str
    channel: str
    details: dict[str, Any]


class NotifyJob(TypedDict):
    """Tell Slack about one event of a request; `attempts` counts earlier failures (the outbox retries)."""
    kind: Literal["notify"]
    request_id: str
    attempts: int
    event: EventRecord


class OpenViewJob(TypedDict):
    """Open a modal: the request form, or a deny or extend form for one request."""
    kind: Literal["open_view"]
    view: Literal["request_access", "deny", "extend"]
    user_id: str
    trigger_id: str
    response_url: NotRequired[str]
    request_id: NotRequired[str]
    round: NotRequired[str]  # deny: the approval round the clicked message showed (domain/rounds.py)


class ActJob(TypedDict):
    """A button or `revoke <id>`: approve or revoke one request as the Slack user."""
    kind: Literal["act"]
    action: str
    request_id: str
    user_id: str
    round: NotRequired[str]  # approve: the round the clicked message showed; without it, the request's own
    response_url: NotRequired[str]
    confirm: NotRequired[bool]  # say so in the channel once done (`revoke <id>`)
    redelivery: NotRequired[bool]  # Slack sent the click again (X-Slack-Retry-Num)


class OnCallJob(TypedDict):
    """Consider on-call auto-approval of a request asked in Slack (PagerDuty is never asked on the answer path)."""
    kind: Literal["on_call"]
    request_id: str


class RespondJob(TypedDict):
    """Post a message through an interaction's response_url."""
    kind: Literal["respond"]
    response_url: str
    message: dict[str, Any]


class AlertJob(TypedDict):
    """Tell the security channel something that belongs to no one request; `attempts` as for NotifyJob."""
    kind: Literal["alert"]
    text: str
    attempts: NotRequired[int]


Job = NotifyJob | OpenViewJob | ActJob | OnCallJob | RespondJob | AlertJob
