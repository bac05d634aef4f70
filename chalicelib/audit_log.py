"""JSON lines on standard output: one per audit event, one per sweep pass.

In Lambda, standard output lands line by line in the function's CloudWatch log group, where the broker's role may
only append: the copy of the audit trail that the broker itself cannot change. The packaged template's alarms match
these lines with metric filters (tools/package_ops.py), so the field names below are an interface:

    {"type": "audit", "request_id", "version", "kind", "actor", "channel", "profile", "state", "at"}
    {"type": "sweep", "done": {what: count}, "repaired", "errors", "at"}

A note (an event that changes no state) has "profile" and "state" null. An event's details (reasons, comments, links)
never go here: only ids, names, kinds and times, so that no secret or console link can reach the logs. `make run`
prints the same lines, so the local world shows what CloudWatch will hold."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from chalicelib.domain.times import rfc3339

if TYPE_CHECKING:
    from chalicelib.domain.requests import Event

log = logging.getLogger(__name__)
AUDIT = "audit"  # the "type" of an audit event's line
SWEEP = "sweep"  # the "type" of a sweep pass's line


def audit_event(event: Event, profile: str | None = None, state: str | None = None) -> None:
    """The line for an event just written to the table (chalicelib/store/repository.py calls it after the write)."""
    _write({"type": AUDIT, "request_id": event.request_id, "version": event.version, "kind": event.kind,
            "actor": event.actor, "channel": event.channel, "profile": profile, "state": state,
            "at": rfc3339(event.at)})


def sweep_pass(done: Mapping[str, int], repaired: int, errors: int, at: datetime) -> None:
    """The line for one finished sweep pass: what it did (how many of each), drift repairs and errors."""
    _write({"type": SWEEP, "done": {str(what): int(count) for what, count in sorted(done.items())},
            "repaired": repaired, "errors": errors, "at": rfc3339(at)})


def _write(line: dict[str, Any]) -> None:
    """One write per line (threads of `make run` share standard output); the stream as it is now, so that a
    caller's redirection holds. A failed write is logged, never raised: the table already holds the event."""
    try:
        sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
        sys.stdout.flush()
    except (OSError, ValueError) as exc:
        log.error("audit line not written (%s): %s %s", exc, line.get("type"), line.get("request_id", ""))
