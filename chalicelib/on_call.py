"""On-call auto-approval, wired: the PagerDuty client with its token and URL from the settings and the catalog, and
the one call a use case makes (OnCallApproval.consider). The decision itself is chalicelib/domain/on_call.py."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Protocol, Sequence

from chalicelib.domain.catalog import Catalog, Person, Profile
from chalicelib.domain.on_call import Decision, Lookup, before_lookup, decide
from chalicelib.pagerduty import PagerDuty, TokenUnavailable
from chalicelib.settings import Settings

TOKEN = "PAGERDUTY_TOKEN"  # settings.CATALOG_SECRET_NAMES


class OnCallLookups(Protocol):
    """Who is on call now: chalicelib/pagerduty.py's PagerDuty, or a unit test's fake."""

    def on_call(self, email: str, schedules: Sequence[str]) -> Lookup: ...


@dataclass
class OnCallApproval:
    lookups: OnCallLookups
    clock: Callable[[], datetime]

    def consider(self, profile: Profile, requester: Person, duration_seconds: int,
                 live_auto_approved: str | None = None) -> Decision | None:
        """None when `profile` has no auto_approve. Otherwise AutoApproved (approve with `.approval()`, event
        auto_approved) or AutoApproveSkipped (event auto_approve_skipped with `.details()`, normal approval).
        PagerDuty is asked only when the duration and the requester allow it, within its 2 s budget; this never
        raises for anything PagerDuty does. `live_auto_approved`: the id of the requester's live auto-approved grant
        of this profile, if any."""
        rules = profile.auto_approve
        if rules is None:
            return None
        skipped = before_lookup(rules, duration_seconds, requester.email, live_auto_approved)
        if skipped is not None or not requester.email:
            return skipped
        lookup = self.lookups.on_call(requester.email, rules.schedules)
        return decide(rules, duration_seconds, requester.email, lookup, self.clock(), live_auto_approved)


def on_call_approval(settings: Settings, catalog: Catalog, clock: Callable[[], datetime],
                     parameters: Any = None) -> OnCallApproval | None:
    """What bootstrap builds once: None when the catalog has no `on_call` (no profile can auto-approve then).
    `parameters`: a chalicelib.aws.secrets.ParameterStore (built on first use when not given)."""
    if catalog.on_call is None:
        return None
    token = token_source(settings, catalog.on_call.token_parameter(settings.stage), parameters)
    return OnCallApproval(PagerDuty(token=token, clock=clock, api_url=settings.pagerduty_api_url), clock)


def token_source(settings: Settings, parameter: str, parameters: Any = None) -> Callable[[], str]:
    """PAGERDUTY_TOKEN from the environment when set (make run, tests); otherwise the catalog's SSM parameter, read
    on first use and then kept for the life of the container, like every other secret. A read that fails is tried
    again on the next lookup (that lookup fails; the request goes to people)."""
    local = settings.secrets.get(TOKEN)
    if local:
        return lambda: local
    lock, read = threading.Lock(), {}

    def from_parameter() -> str:
        from chalicelib.aws.secrets import ParameterStore, SecretUnavailable

        with lock:
            if "value" not in read:
                try:
                    read["value"] = (parameters or ParameterStore()).get(parameter)
                except SecretUnavailable as exc:
                    raise TokenUnavailable(str(exc)) from None
            return read["value"]

    return from_parameter
