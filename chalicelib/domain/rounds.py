"""Approval rounds: a pending request is decided in its own round, and each extension of its grant in a round of its
own. A decision that names its round (Slack's buttons and jobs do) lands only on that round: one made for a round
that has closed is refused, never taken for a later round its approver did not see."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from chalicelib.domain.durations import format_duration
from chalicelib.domain.errors import Conflict
from chalicelib.domain.requests import AccessRequest, Extension, State

REQUEST = "request"  # the request's own approval round
_EXTENSION = re.compile(r"ext[0-9]{1,20}")  # an extension's round, named by the microsecond it was asked for
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def open_round(request: AccessRequest) -> str | None:
    """The round approvers decide now: the request's own while pending, its grant's extension while one is asked
    for, None when nothing waits for a decision."""
    if request.state == State.PENDING:
        return REQUEST
    if request.state == State.ACTIVE and request.extension is not None:
        return extension_round(request.extension)
    return None


def extension_round(extension: Extension) -> str:
    """One extension's round: two rounds of a grant are never asked for at the same microsecond (each is its own
    conditional write of the request)."""
    return f"ext{(extension.requested_at - _EPOCH) // _MICROSECOND}"


def is_round(text: str) -> bool:
    return text == REQUEST or _EXTENSION.fullmatch(text) is not None


def require_round(request: AccessRequest, asked: str | None) -> None:
    """Refuses a decision made for another round than the open one (409). `asked` None: whatever round is open (the
    HTTP API, whose caller reads the request as it is). With no round open, the transition's own refusal says why."""
    current = open_round(request)
    if asked is None or current is None or asked == current:
        return
    extension = request.extension
    now = (f"its extension by {format_duration(extension.seconds)} is being decided now" if extension
           else "it is waiting for its own approval")
    raise Conflict(f"request {request.id} has moved on to another approval round since that message ({now}); "
                   f"nothing changed: look at the latest message about it", state=request.state.value)

