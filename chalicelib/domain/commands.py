"""What people ask the broker to do, typed: the HTTP routes and Slack parse their input into these before any use
case runs. Each holds what was said, not yet judged: the use case checks it against the catalog, and an error names
the field it is about (DomainError.field). Immutable tuples: cheap to define on a cold start."""
from __future__ import annotations

from typing import NamedTuple


class Ask(NamedTuple):
    """A request for access: a profile, for how long (the profile's default when None), and why. A trusted tool
    names the person it asks for in `requester`; `break_glass` asks for access at once, reviewed afterwards."""
    profile: str | None
    duration: str | None
    reason: str | None
    requester: str | None = None
    break_glass: bool = False


class Decision(NamedTuple):
    """An approver's answer to the open round of a request: the request itself, or its grant's extension. `round`
    names the round it answers (domain/rounds.py; Slack's buttons carry it), and a decision for a round that has
    closed is refused; None answers whatever round is open (the HTTP API: its caller reads the request as it is)."""
    request_id: str
    approve: bool
    comment: str = ""
    round: str | None = None


class ExtensionAsk(NamedTuple):
    """The requester asks for an active grant to last `duration` longer."""
    request_id: str
    duration: str | None
