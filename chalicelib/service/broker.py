"""The facade over the use cases: what the routes, the Slack worker, the sweeper's function and the tests call. Each
method hands its typed input to one use-case module; the Broker holds nothing but the dependencies they share.
Sweeping, drift and the directory's join are imported where first used: a cold request path does without them."""
from __future__ import annotations

import builtins
from datetime import datetime
from typing import TYPE_CHECKING, Callable

from chalicelib.access_rules import Caller
from chalicelib.domain.catalog import Catalog, Profile
from chalicelib.domain.commands import Ask, Decision, ExtensionAsk
from chalicelib.domain.requests import AccessRequest, Event, Grant, State
from chalicelib.ports import IdempotencyClaim, Page
from chalicelib.service import asking, cuts, deciding, extending, granting, queries
from chalicelib.service.deps import Deps

if TYPE_CHECKING:
    from chalicelib.service.directory import Joined
    from chalicelib.service.sweeping import SweepReport


class Broker:
    def __init__(self, deps: Deps) -> None:
        """`deps` with the catalog as written; with a directory, the Broker keeps it joined with the membership."""
        self.written = deps
        self._joined: Joined | None = None

    @property
    def deps(self) -> Deps:
        """What the use cases are given: the catalog with the directory's people and groups joined in."""
        if self.written.catalog.directory is None:
            return self.written
        if self._joined is None:
            from chalicelib.service.directory import Joined  # imported where used: off a catalog without one

            self._joined = Joined()
        return self._joined.deps(self.written)

    # -- what it is wired to, read only: the catalog and the clock for the routes; the ports for tests to read what
    #    was stored (nothing in chalicelib/ reaches through them: tests/unit/test_architecture.py)

    @property
    def catalog(self) -> Catalog:
        return self.deps.catalog

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.deps.clock

    repo = property(lambda self: self.deps.store)
    grants = property(lambda self: self.deps.grants)
    tokens = property(lambda self: self.deps.tokens)
    sessions = property(lambda self: self.deps.sessions)
    notifier = property(lambda self: self.deps.notifier)

    # -- who is asking, and what they may read (queries.py)

    def caller_from_arn(self, arn: str, channel: str = "api") -> Caller:
        return queries.caller_from_arn(self.deps, arn, channel)

    def caller_from_slack(self, slack_user_id: str) -> Caller:
        return queries.caller_from_slack(self.deps, slack_user_id)

    def profiles_for(self, caller: Caller) -> builtins.list[Profile]:
        return queries.profiles_for(self.deps, caller)

    def get(self, caller: Caller, request_id: str) -> AccessRequest:
        return queries.get(self.deps, caller, request_id)

    def as_shown(self, request_id: str) -> AccessRequest:
        return queries.as_shown(self.deps, request_id)

    def events(self, caller: Caller, request_id: str) -> builtins.list[Event]:
        return queries.events(self.deps, caller, request_id)

    def list(self, caller: Caller, state: State | None = None, mine: bool = False, awaiting_me: bool = False,
             limit: int = 50, cursor: str | None = None) -> Page[AccessRequest]:
        return queries.listed(self.deps, caller, state, mine, awaiting_me, limit, cursor)

    def audit(self, caller: Caller, since: datetime, until: datetime, limit: int, cursor: str | None) -> Page[Event]:
        return queries.audit(self.deps, caller, since, until, limit, cursor)

    def console_link(self, token: str) -> Grant:
        return queries.console_link(self.deps, token)

    def console_redirect(self, token: str) -> str:
        return queries.console_link(self.deps, token).switch_role_url

    def console_link_ended(self, token: str) -> tuple[AccessRequest, str] | None:
        return queries.console_link_ended(self.deps, token)

    # -- asking and deciding (asking.py, deciding.py, extending.py)

    def request_access(self, caller: Caller, profile: str | None, duration: str | None, reason: str | None,
                       requester: str | None = None, idempotency: IdempotencyClaim | None = None,
                       break_glass: bool = False) -> AccessRequest:
        return asking.ask(self.deps, caller, Ask(profile, duration, reason, requester, break_glass), idempotency)

    def consider_on_call(self, request_id: str) -> AccessRequest:
        """On-call auto-approval of a request asked in Slack (the worker runs it once Slack has its answer)."""
        from chalicelib.service import auto_approving  # the worker's, off the answer path

        return auto_approving.consider(self.deps, queries.as_shown(self.deps, request_id))

    def approve(self, caller: Caller, request_id: str, comment: str = "", round: str | None = None) -> AccessRequest:
        return deciding.decide(self.deps, caller, Decision(request_id, True, comment, round))

    def deny(self, caller: Caller, request_id: str, comment: str = "", round: str | None = None) -> AccessRequest:
        return deciding.decide(self.deps, caller, Decision(request_id, False, comment, round))

    def cancel(self, caller: Caller, request_id: str) -> AccessRequest:
        return deciding.cancel(self.deps, caller, request_id)

    def extend(self, caller: Caller, request_id: str, duration: str | None) -> AccessRequest:
        return extending.ask(self.deps, caller, ExtensionAsk(request_id, duration))

    def decide_extension(self, caller: Caller, request_id: str, approve: bool, comment: str = "") -> AccessRequest:
        return extending.decide(self.deps, caller, Decision(request_id, approve, comment))

    # -- a grant's life (granting.py), its session guard (cuts.py), the sweeper and drift repair

    def apply_grant(self, request: AccessRequest) -> AccessRequest:
        return granting.apply(self.deps, request)

    def revoke(self, caller: Caller, request_id: str) -> AccessRequest:
        return granting.revoke(self.deps, caller, request_id)

    def expire(self, request: AccessRequest) -> AccessRequest:
        return granting.expire(self.deps, request)

    def restore_grant(self, request: AccessRequest) -> str | None:
        return granting.restore(self.deps, request)

    def retry_guard(self, request: AccessRequest) -> AccessRequest:
        return cuts.retry(self.deps, request)

    def restore_cut(self, request: AccessRequest) -> bool:
        return cuts.restore(self.deps, request)

    def sweep(self, repair: bool = True) -> SweepReport:
        from chalicelib.service import directory, sweeping  # the scheduled function's, off the request path

        refreshed = directory.refresh(self.written) if directory.due(self.written, self.written.clock()) else None
        return sweeping.sweep(self.deps, repair, refreshed)

    def sweep_due(self, request: AccessRequest) -> str:
        from chalicelib.service import sweeping

        return sweeping.sweep_due(self.deps, request)

    def repair_drift(self) -> builtins.list[str]:
        from chalicelib.service.drift import repair_drift

        return repair_drift(self.deps)
