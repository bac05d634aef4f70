"""Times as the broker shows them: RFC 3339, UTC, to the second (API, events, IAM conditions, tags)."""
from __future__ import annotations

from datetime import datetime, timezone


def rfc3339(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
