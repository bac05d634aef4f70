"""One sweep pass: end what is due. Reads only due items (a key condition on the `due` index)."""
from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.domain.errors import Conflict
from chalicelib.domain.requests import State
from chalicelib.service import Broker


@dataclass
class SweepReport:
    expired: list[str] = field(default_factory=list)
    timed_out: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)


def sweep(broker: Broker) -> SweepReport:
    now = broker.clock()
    report = SweepReport()
    for request in broker.repo.due(State.ACTIVE, now):
        if _settled(lambda: broker.expire(request)):
            report.expired.append(request.id)
    for request in broker.repo.due(State.PENDING, now):
        if _settled(lambda: broker.time_out(request)):
            report.timed_out.append(request.id)
    for request in broker.repo.due(State.APPROVED, now):  # a grant left half-applied by a crash
        if _settled(lambda: broker.apply_grant(request)):
            report.applied.append(request.id)
    return report


def _settled(action) -> bool:  # type: ignore[no-untyped-def]
    """Runs one item's change; a request someone else just changed is theirs (Conflict), not an error."""
    try:
        action()
        return True
    except Conflict:
        return False
