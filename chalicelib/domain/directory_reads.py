"""What the directory's two sources answer, as the adapters hand it over (aws/directory.py for IAM groups and user
tags, slack/directory.py for Slack's users and user groups), and the one error for a source that could not be read.

Values only, no I/O: the refresh use case turns these into people and groups (CONTRACT.md "People and groups from the
directory")."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class IamGroups:
    """The source account's IAM groups as read at one refresh."""

    members: Mapping[str, tuple[str, ...]]  # group name -> its users' names (sorted), for every group that exists
    tags: Mapping[str, Mapping[str, str]]  # user name -> that user's tags, for every user in `members`
    unknown: tuple[str, ...] = field(default=())  # the groups asked for that IAM does not know (NoSuchEntity)


class DirectoryUnavailable(Exception):
    """A directory source could not be read now: throttled, refused, down, or unreachable. Never an empty answer:
    whoever catches it keeps what it knew (CONTRACT.md: an error never widens who may do what).

    `source` is "IAM" or "Slack"; `operation` the call (GetGroup, users.lookupByEmail...); `error` its code
    (Throttling, AccessDenied, ratelimited, missing_scope...); `retry_after` Slack's Retry-After in seconds, when it
    said one."""

    def __init__(self, source: str, operation: str, error: str, detail: str = "",
                 retry_after: float | None = None) -> None:
        said = f": {detail}" if detail else ""
        wait = f" (retry after {retry_after:g} s)" if retry_after is not None else ""
        super().__init__(f"{source} {operation} failed: {error}{said}{wait}")
        self.source, self.operation, self.error, self.retry_after = source, operation, error, retry_after
