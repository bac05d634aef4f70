"""One sweep pass: do what is due, then repair drift. Reads only due items (a key condition on the `due` index)."""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

from chalicelib import audit_log
from chalicelib.domain.errors import Conflict
from chalicelib.domain.requests import State
from chalicelib.drift import repair_drift
from chalicelib.ports import CUT_STANDS, GUARD_DUE
from chalicelib.service import GUARD_STILL_PENDING, Broker

log = logging.getLogger(__name__)
# Approved first: a grant left half-applied by a crash is finished (or ended) before anything else; then ended
# grants whose session guard is still owed (the target account did not take it yet).
_DUE_STATES: tuple[State | str, ...] = (State.APPROVED, GUARD_DUE, State.ACTIVE, State.PENDING, CUT_STANDS)


@dataclass
class SweepReport:
    done: Counter[str] = field(default_factory=Counter)  # what was done -> how many: expired, reminder_sent, ...
    repaired: list[str] = field(default_factory=list)  # drift repairs, as recorded in `drift_repaired` events
    errors: int = 0

    def __bool__(self) -> bool:
        return bool(self.done or self.repaired or self.errors)

    def __str__(self) -> str:
        parts = [f"{count} {what}" for what, count in sorted(self.done.items())]
        parts += [f"{len(self.repaired)} drift repaired"] if self.repaired else []
        parts += [f"{self.errors} errors (retried next pass)"] if self.errors else []
        return ", ".join(parts) or "nothing due"


def sweep(broker: Broker, repair: bool = True) -> SweepReport:
    now = broker.clock()
    report = SweepReport()
    for state in _DUE_STATES:
        for request in broker.repo.due(state, now):
            try:
                done = broker.sweep_due(request)
                report.done[done] += 1
                if done == GUARD_STILL_PENDING:  # open sessions are not cut yet: an error until the write lands
                    log.error("sweep: session guard of request %s still pending; retrying next pass", request.id)
                    report.errors += 1
            except Conflict:  # someone else changed it first (a revoke, an approval): theirs, not an error
                continue
            except Exception:  # one bad item must not stop the pass; it stays due and is retried next pass
                log.exception("sweep: request %s (%s) not handled; retrying next pass", request.id, request.state.value)
                report.errors += 1
    if repair:
        try:
            report.repaired = repair_drift(broker)
        except Exception:  # IAM unreachable past its retries: the due work above is done; repair next pass
            log.exception("sweep: drift repair failed; trying again next pass")
            report.errors += 1
    resend = getattr(broker.notifier, "resend_due", None)  # notifiers with an outbox of failed notifications
    resent = resend(now) if resend else []
    if resent:
        report.done["notification_resent"] += len(resent)
    audit_log.sweep_pass(report.done, len(report.repaired), report.errors, now)
    return report
