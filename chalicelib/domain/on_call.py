"""On-call auto-approval, decided: given a profile's `auto_approve`, the requested duration and what PagerDuty said
(or failed to say), either approve by no human or fall back to people with the reason. Pure: the lookup itself is
chalicelib/pagerduty.py, the wiring chalicelib/on_call.py."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Union

from chalicelib.domain.catalog import AutoApprove
from chalicelib.domain.durations import format_duration
from chalicelib.domain.requests import ON_CALL
from chalicelib.domain.times import rfc3339

# -- what PagerDuty said: one of three outcomes of a lookup

@dataclass(frozen=True)
class OnCallNow:
    """The requester is on call now in `schedule`, as PagerDuty user `pagerduty_user` (id) with `email`."""
    schedule: str
    pagerduty_user: str
    email: str


@dataclass(frozen=True)
class NotOnCall:
    """PagerDuty answered, and the requester is on call in none of the schedules. `without_email`: on-call users
    PagerDuty gave without an email, who therefore could not be compared."""
    without_email: int = 0


@dataclass(frozen=True)
class LookupFailed:
    """PagerDuty could not say (no answer in time, non-2xx, not JSON, no token): `reason`, short and readable."""
    reason: str


Lookup = Union[OnCallNow, NotOnCall, LookupFailed]


# -- the decision

class SkipReason(enum.StrEnum):
    NO_EMAIL = "requester_has_no_email"
    OVER_MAX_DURATION = "over_max_duration"
    ALREADY_LIVE = "auto_approved_grant_live"
    NOT_ON_CALL = "not_on_call"
    PAGERDUTY_FAILED = "pagerduty_failed"
    ON_BEHALF = "requested_on_behalf"  # a trusted tool asked for someone: auto-approval is for asking oneself


@dataclass(frozen=True)
class AutoApproved:
    """Approved by no human: `approval()` is the one entry of the request's `approvals` (event `auto_approved`)."""
    on_call: OnCallNow
    at: datetime

    def approval(self) -> dict[str, Any]:
        return {"by": ON_CALL, "schedule": self.on_call.schedule, "pagerduty_user": self.on_call.pagerduty_user,
                "pagerduty_email": self.on_call.email, "at": rfc3339(self.at)}


@dataclass(frozen=True)
class AutoApproveSkipped:
    """Normal approval follows; `details()` is what the event `auto_approve_skipped` records."""
    reason: SkipReason
    detail: str

    def details(self) -> dict[str, Any]:
        return {"reason": str(self.reason), "detail": self.detail}


Decision = Union[AutoApproved, AutoApproveSkipped]


def before_lookup(rules: AutoApprove, duration_seconds: int, requester_email: str | None,
                  live_auto_approved: str | None = None) -> AutoApproveSkipped | None:
    """Why PagerDuty need not even be asked, or None. `live_auto_approved`: the id of the requester's live
    auto-approved grant of this profile, if any (at most one per person and profile)."""
    if live_auto_approved:
        return AutoApproveSkipped(SkipReason.ALREADY_LIVE, f"request {live_auto_approved} is already a live "
                                                           f"auto-approved grant of this profile")
    if duration_seconds > rules.max_duration:
        return AutoApproveSkipped(SkipReason.OVER_MAX_DURATION, f"{format_duration(duration_seconds)} is over the "
                                  f"{format_duration(rules.max_duration)} auto-approval allows")
    if not requester_email:
        return AutoApproveSkipped(SkipReason.NO_EMAIL, "the catalog has no email for the requester to match "
                                                       "PagerDuty's on-call users by")
    return None


def decide(rules: AutoApprove, duration_seconds: int, requester_email: str | None, lookup: Lookup,
           at: datetime, live_auto_approved: str | None = None) -> Decision:
    """The outcome for a request of `duration_seconds` by `requester_email`, given PagerDuty's `lookup`."""
    skipped = before_lookup(rules, duration_seconds, requester_email, live_auto_approved)
    if skipped:
        return skipped
    if isinstance(lookup, LookupFailed):
        return AutoApproveSkipped(SkipReason.PAGERDUTY_FAILED, lookup.reason)
    if isinstance(lookup, NotOnCall) or lookup.schedule not in rules.schedules \
            or lookup.email.casefold() != (requester_email or "").casefold():
        unknown = getattr(lookup, "without_email", 0)
        return AutoApproveSkipped(SkipReason.NOT_ON_CALL, f"not on call now in {', '.join(rules.schedules)}" + (
            f" ({unknown} on-call user{'s' if unknown != 1 else ''} had no email in PagerDuty)" if unknown else ""))
    return AutoApproved(lookup, at)
