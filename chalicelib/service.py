"""Use cases: request, approve, deny, cancel, grant, revoke, expire. Entrypoints call these and nothing else.

Every state change goes through `_transition`: read, let the domain decide, write on condition that
nobody changed the request meanwhile, retry on a lost race. IAM changes happen around it in the order
that keeps drift repairable: attach before recording `active`, record `revoked` before detaching."""
from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from chalicelib import access_rules as rules
from chalicelib.access_rules import Caller
from chalicelib.aws.links import switch_role_url
from chalicelib.domain import schedule
from chalicelib.domain.catalog import Catalog, Profile
from chalicelib.domain.durations import parse_duration
from chalicelib.domain.errors import (
    Conflict,
    Forbidden,
    Gone,
    NotFound,
    Unavailable,
    Unprocessable,
    quote,
)
from chalicelib.domain.events import SYSTEM, EventKind, Transition
from chalicelib.domain.ids import new_request_id
from chalicelib.domain.requests import AccessRequest, Event, State
from chalicelib.domain.session_guard import Guard
from chalicelib.domain.times import rfc3339
from chalicelib.ports import (
    Change,
    Exclusive,
    GrantError,
    Grants,
    GuardPending,
    IdempotencyClaim,
    IdempotentReplay,
    Notifier,
    Page,
    RequestStore,
    SessionGuard,
    StaleWrite,
    Tokens,
)

log = logging.getLogger(__name__)
_RETRIES = 8
_PAGE = 50  # requests per query where the service pages through a person's requests


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


SYSTEM_CALLER = Caller(SYSTEM, None, "system")
AUDITORS = "auditors"  # the catalog group that may read every profile's audit trail
GUARD_STILL_PENDING = EventKind.SESSION_GUARD_PENDING  # what a sweep did when the target account still refused it
Decide = Callable[[AccessRequest], Transition]


class SilentNotifier:
    def notify(self, request: AccessRequest, event: Event) -> None:
        return None

    def alert(self, text: str) -> None:
        return None


class Broker:
    def __init__(self, catalog: Catalog, repository: RequestStore, grants: Grants, tokens: Tokens, public_url: str,
                 notifier: Notifier | None = None, clock: Callable[[], datetime] = utcnow,
                 new_id: Callable[[datetime], str] = new_request_id, sessions: SessionGuard | None = None) -> None:
        self.catalog, self.repo, self.grants, self.tokens = catalog, repository, grants, tokens
        self.sessions = sessions  # None: no target account is guarded (open sessions last until they expire)
        self.notifier = notifier or SilentNotifier()
        self.clock, self.new_id, self.public_url = clock, new_id, public_url

    # -- identity

    def caller_from_arn(self, arn: str, channel: str = "api") -> Caller:
        """Maps `arn:aws:iam::<source account>:user/<name>` to the person with that IAM user."""
        account, _, resource = arn.removeprefix(f"arn:{self.catalog.partition}:iam::").partition(":")
        person = None
        if account == self.catalog.source_account and resource.startswith("user/"):
            person = self.catalog.person_by_iam_user(resource.rsplit("/", 1)[-1])
        return Caller(principal=arn, person=person, channel=channel)

    def caller_from_slack(self, slack_user_id: str) -> Caller:
        return Caller(principal=f"slack:{slack_user_id}", person=self.catalog.person_by_slack_id(slack_user_id),
                      channel="slack")

    # -- queries

    def profiles_for(self, caller: Caller) -> list[Profile]:
        return self.catalog.requestable_by(caller.person.id) if caller.person else []

    def get(self, caller: Caller, request_id: str) -> AccessRequest:
        request = self.repo.get(request_id)
        if not rules.may_see(self.catalog, caller, request):
            raise NotFound(f"no request with id {quote(request_id)}")
        return request

    def events(self, caller: Caller, request_id: str) -> list[Event]:
        self.get(caller, request_id)
        return self.repo.events(request_id)

    def list(self, caller: Caller, state: State | None = None, mine: bool = False, awaiting_me: bool = False,
             limit: int = 50, cursor: str | None = None) -> Page[AccessRequest]:
        person = rules.person_of(caller)
        if awaiting_me:
            page = self.repo.by_state(State.PENDING, limit, cursor)
            keep = [r for r in page.items if person.id in self._profile(r.profile).approvers
                    and r.requester != person.id and not r.approved_by(person.id)]
        elif mine or state is None:
            page = self.repo.by_requester(person.id, limit, cursor)
            keep = [r for r in page.items if state is None or r.state == state]
        else:
            page = self.repo.by_state(state, limit, cursor)
            keep = [r for r in page.items if rules.may_see(self.catalog, caller, r)]
        return Page(keep, page.next)

    def audit(self, caller: Caller, since: datetime, until: datetime, limit: int,
              cursor: str | None) -> Page[Event]:
        """Events in the window: everything for trusted tools and the catalog's `auditors` group; for an approver,
        the events of requests for the profiles they approve (and nothing about the others, reasons included)."""
        auditors = self.catalog.groups.get(AUDITORS, frozenset())
        everything = caller.principal in self.catalog.trusted_tools or bool(caller.person and
                                                                           caller.person.id in auditors)
        scope = set() if everything or not caller.person else {
            p.name for p in self.catalog.approvable_by(caller.person.id)}
        if not everything and not scope:
            raise Forbidden(f"the audit log is for approvers and trusted tools (and the catalog's `{AUDITORS}` "
                            f"group)")
        page = self.repo.audit(since, until, limit, cursor)
        if everything:
            return page
        profiles: dict[str, str | None] = {}
        for event in page.items:
            if event.request_id not in profiles:
                try:
                    profiles[event.request_id] = self.repo.get(event.request_id).profile
                except NotFound:  # a repair of a policy with no request: not any one profile's
                    profiles[event.request_id] = None  # pragma: no mutate (no profile is named "")
        return Page([e for e in page.items if profiles[e.request_id] in scope], page.next)

    def console_redirect(self, token: str) -> str:
        """The switch-role URL behind a signed console link, while its grant is active."""
        now = self.clock()
        request = self.repo.get(self.tokens.verify(token, now))
        if request.state != State.ACTIVE or not request.grant or now >= request.grant.expires_at:
            raise Gone(f"the grant of request {request.id} has ended ({request.state.value}); request access again")
        return request.grant.switch_role_url

    # -- use cases

    def request_access(self, caller: Caller, profile: object, duration: object, reason: object,
                       requester: object = None, idempotency: IdempotencyClaim | None = None,
                       break_glass: bool = False) -> AccessRequest:
        """A new pending request; with `break_glass` on a break-glass profile, active at once without approval
        (its one event, `break_glass_activated`, is flagged for review and announced to the approval and security
        channels by the notifier)."""
        person = rules.requester_of(self.catalog, caller, requester)
        chosen = rules.requestable(self.catalog, person, profile)
        seconds = rules.duration_for(chosen, duration)
        reason = rules.reason_of(reason)
        if break_glass:
            rules.allow_break_glass(chosen, reason)
            if requester is not None:
                raise Forbidden("break-glass is for the person in trouble to ask themselves: a trusted tool may not "
                                "use it on someone's behalf; request normal access for them instead")
        now = self.clock()
        assert person.iam_user, "requester_of refuses a person without an IAM user"  # pragma: no mutate (its message)
        request = AccessRequest(
            id=self.new_id(now), profile=chosen.name, requester=person.id, requester_iam_user=person.iam_user,
            account=chosen.account, role_arn=chosen.role_arn, reason=reason, duration_seconds=seconds,
            approvals_required=chosen.approvals_required, created_at=now, updated_at=now,
            requested_by_tool=caller.principal if requester is not None else None, break_glass=break_glass)
        kind = EventKind.CREATED
        if break_glass:
            request, kind = request.break_glass_approve(now)
        request = dataclasses.replace(request, due_at=self._due(request))
        details = {"profile": chosen.name, "duration_seconds": seconds, "reason": reason,
                   **({"requested_by_tool": caller.principal} if requester is not None else {})}
        if break_glass:
            details.update(review=True, approval_channel=chosen.approval_channel,
                           security_channel=self.catalog.security_channel)
        event = Event(request.id, 1, kind, now, caller.actor, caller.channel, details)
        # One live break-glass grant per person and profile: a condition of the write, not a read before it.
        exclusive = (_break_glass_name(request), request.grant.expires_at) if break_glass and request.grant else None
        try:
            stored = self.repo.create(request, event, idempotency, exclusive=exclusive)
        except IdempotentReplay:  # the key was claimed first (a retry, or a twin racing us): that request is the answer
            assert idempotency is not None, "only a claim is replayed"
            first = self.repo.claimed(idempotency)
            assert first is not None, "a replayed claim names its request"
            return first
        except Exclusive as taken:
            holder = self.repo.holder(taken.name)
            raise Conflict(f"{person.id} already has a live break-glass grant of profile {chosen.name}"
                           f"{f' (request {holder})' if holder else ''}; use it, or revoke it first") from None
        self._notify(stored, event)
        return self.apply_grant(stored) if stored.state == State.APPROVED else stored

    def approve(self, caller: Caller, request_id: str, comment: str = "") -> AccessRequest:
        person = rules.person_of(caller)
        current = self._acted_on(caller, request_id)  # read once: it picks the round and starts the transition
        self._refuse_if_timed_out(current)
        if _extension_open(current):  # an active grant asking to last longer: its own approval round
            return self.decide_extension(caller, request_id, True, comment, current=current)

        def decide(request: AccessRequest) -> Transition:
            rules.require_approver(self.catalog, person, request)
            return request.approve(person.id, self.clock(), comment)

        request = self._transition(request_id, decide, caller, {"comment": comment}, current=current)
        return self.apply_grant(request) if request.state == State.APPROVED else request

    def deny(self, caller: Caller, request_id: str, comment: str = "") -> AccessRequest:
        person = rules.person_of(caller)
        current = self._acted_on(caller, request_id)
        self._refuse_if_timed_out(current)
        if _extension_open(current):
            return self.decide_extension(caller, request_id, False, comment, current=current)

        def decide(request: AccessRequest) -> Transition:
            rules.require_approver(self.catalog, person, request)
            return request.deny(person.id, self.clock(), comment)

        return self._transition(request_id, decide, caller, {"comment": comment}, current=current)

    def _acted_on(self, caller: Caller, request_id: str) -> AccessRequest:
        """The request a decision or an action is about. Over the API, one the caller may not see is a 404, exactly
        as GET answers: a refusal must not name its profile and approvers. In Slack the request is in the message
        the person clicked, so the refusal may say who decides."""
        return self.repo.get(request_id) if caller.channel == "slack" else self.get(caller, request_id)

    def _refuse_if_timed_out(self, request: AccessRequest) -> None:
        """A decision after `approval_timeout` is refused at once (and the request recorded timed out), not accepted
        until the next sweep happens to time it out."""
        if request.state != State.PENDING or self.clock() < self._timeout_at(request):
            return
        try:
            self.time_out(request)
        except Conflict:
            pass  # someone else recorded it (or decided) first
        raise Conflict(f"request {request.id} timed out at {rfc3339(self._timeout_at(request))} waiting for approval; "
                       f"ask for access again", state=State.TIMED_OUT.value)

    def cancel(self, caller: Caller, request_id: str) -> AccessRequest:
        person = rules.person_of(caller)
        current = self._acted_on(caller, request_id)
        return self._transition(request_id, lambda r: r.cancel(person.id, self.clock()), caller, current=current)

    def revoke(self, caller: Caller, request_id: str) -> AccessRequest:
        person = rules.person_of(caller)

        def decide(request: AccessRequest) -> Transition:
            # From what the request recorded when its profile has left the catalog: its approvers still may.
            profile = self.catalog.profiles.get(request.profile)
            approvers = profile.approvers if profile else {a.by for a in request.approvals}
            if person.id != request.requester and person.id not in approvers:
                raise Forbidden("only the requester or an approver of the profile can revoke a grant")
            return request.end(State.REVOKED, person.id, self.clock())

        return self._end(request_id, decide, caller, current=self._acted_on(caller, request_id))

    def expire(self, request: AccessRequest) -> AccessRequest:
        def decide(current: AccessRequest) -> Transition:
            now = self.clock()
            if current.grant and now < current.grant.expires_at:  # extended since the sweeper read it
                raise Conflict(f"the grant of request {current.id} now ends at {rfc3339(current.grant.expires_at)}")
            return current.end(State.EXPIRED, SYSTEM, now)

        return self._end(request.id, decide, SYSTEM_CALLER, current=request)

    def time_out(self, request: AccessRequest) -> AccessRequest:
        return self._transition(request.id, lambda r: r.time_out(self.clock()), SYSTEM_CALLER, current=request)

    def sweep_due(self, request: AccessRequest) -> str:
        """Does what is due for one request read from the due index; returns what that was. Each step
        re-checks on the stored request (version condition), so a stale index entry changes nothing."""
        now = self.clock()
        if request.guard_pending:
            request = self.retry_guard(request)
            if request.ended or request.guard_pending or (request.due_at and now < request.due_at):
                return GUARD_STILL_PENDING if request.guard_pending else "session_guard_written"
        if request.ended:  # its cut can no longer match a session: drift repair stops checking it
            self._transition(request.id, lambda r: r.lapse_cut(self.clock()), SYSTEM_CALLER, current=request)
            return EventKind.SESSION_CUT_LAPSED
        if request.state == State.PENDING:
            if now >= self._timeout_at(request):
                return self.time_out(request).state.value
            return self._nudge(request, lambda r: r.remind(now), {
                "approvers": sorted(self._profile(request.profile).approvers),
                "timeout_at": rfc3339(self._timeout_at(request))})
        if request.grant and now >= request.grant.expires_at:  # active, or approved but never applied
            return self.expire(request).state.value
        if request.state == State.APPROVED:
            return self.apply_grant(request).state.value
        profile = self.catalog.profiles.get(request.profile)
        assert request.grant is not None, "only an active grant is due for its warning"
        return self._nudge(request, lambda r: r.warn(now), {
            "expires_at": rfc3339(request.grant.expires_at),
            "extendable": bool(profile and profile.extension_allowed)})

    def _nudge(self, request: AccessRequest, decide: Decide, details: dict[str, Any]) -> str:
        """A once-only message (reminder, warning): the flag and its event are written together, and only
        when the stored request still says it is due."""
        done: list[EventKind] = []

        def due_now(current: AccessRequest) -> Transition:
            if current.due_at is None or self.clock() < current.due_at:
                raise Conflict(f"nothing is due for request {current.id} yet")
            changed = decide(current)
            done.append(changed.kind)
            return changed

        self._transition(request.id, due_now, SYSTEM_CALLER, details, current=request)
        return done[-1]

    def apply_grant(self, request: AccessRequest) -> AccessRequest:
        """Approved -> active: attach the grant policy, then record it. Safe to re-run; a failure in IAM
        ends the request `failed` with nothing left attached."""
        planned = request.grant
        assert planned is not None, "an approved request carries its planned grant"
        if request.profile not in self.catalog.profiles:  # removed while the grant waited to be applied
            reason = f"profile {request.profile} was removed from the catalog before the grant was applied"
            return self._end(request.id, lambda r: r.fail(reason, self.clock()), SYSTEM_CALLER,
                             current=request, details={"reason": reason})
        console_url = self._console_url(request.id, planned.expires_at)  # before IAM: an unreadable key changes nothing
        # The expiry cut is written before the grant policy is attached: no session exists without its cut.
        guarded = self._guard(request, "grant", lambda g, now: g.granted(
            request.requester_iam_user, planned.expires_at, now))
        try:
            arn = self.grants.apply(request.id, request.requester_iam_user, request.role_arn, planned.expires_at)
        except GrantError as exc:
            reason = str(exc)
            self._cleanup(request)
            failed = self._transition(request.id, lambda r: r.fail(reason, self.clock()), SYSTEM_CALLER,
                                      {"reason": reason}, current=request)
            if failed.break_glass:
                self.repo.release(_break_glass_name(failed), failed.id)
            return failed
        profile = self._profile(request.profile)
        grant = dataclasses.replace(
            planned, policy_arn=arn, switch_role_url=switch_role_url(self.catalog, profile),
            console_url=console_url)

        def activate(r: AccessRequest) -> Transition:
            active, kind = r.activate(grant, self.clock())
            return Transition(dataclasses.replace(active, guard_pending=not guarded), kind)

        try:
            return self._transition(request.id, activate, SYSTEM_CALLER,
                                    {"policy_arn": arn, "expires_at": rfc3339(grant.expires_at),
                                     "session_guard": "written" if guarded else "pending"}, current=request)
        except Conflict:
            current = self.repo.get(request.id)
            if current.state == State.ACTIVE:  # a twin run (the sweeper's retry) activated this same policy
                return current
            self._cleanup(request)  # revoked or failed while IAM was busy: take the policy away again
            return current

    def extend(self, caller: Caller, request_id: str, duration: object) -> AccessRequest:
        """Asks for an active grant to last `duration` longer: a new approval round, or at once where the
        profile's extension.auto_approve says so; never beyond the profile's max_duration in total."""
        person = rules.person_of(caller)
        if duration is None:
            raise Unprocessable("duration is required: how much longer, like `30m` or `1h`")
        seconds = parse_duration(duration)
        current = self._acted_on(caller, request_id)

        def decide(request: AccessRequest) -> Transition:
            profile = self._profile(request.profile)
            if not profile.extension_allowed:
                raise Forbidden(f"profile {profile.name} does not allow extensions; request access again once "
                                f"this grant ends")
            return request.request_extension(person.id, seconds, profile.max_duration, self.clock(),
                                             profile.extension_auto_approve)

        return self._extension_step(request_id, decide, caller, {"duration_seconds": seconds}, current=current)

    def decide_extension(self, caller: Caller, request_id: str, approve: bool, comment: str = "",
                         current: AccessRequest | None = None) -> AccessRequest:
        person = rules.person_of(caller)

        def decide(request: AccessRequest) -> Transition:
            rules.require_approver(self.catalog, person, request)
            if not approve:
                return request.deny_extension(person.id, self.clock())
            return request.approve_extension(person.id, self.clock(), self._profile(request.profile).max_duration)

        return self._extension_step(request_id, decide, caller, {"comment": comment}, current=current)

    def _extension_step(self, request_id: str, decide: Decide, caller: Caller, details: dict[str, Any],
                        current: AccessRequest | None = None) -> AccessRequest:
        """IAM moves first, then the record: if the record fails, the stored expiry is the earlier one and
        the sweeper ends the grant then, taking the whole policy away."""
        def decide_and_apply(before: AccessRequest) -> Transition:
            after, kind = decide(before)
            if before.grant and after.grant and after.grant.expires_at != before.grant.expires_at:
                old, end = before.grant, after.grant.expires_at  # the new expiry cut first: the old would cut sessions
                written = self._guard(after, "extension", lambda g, now: g.ending(after.requester_iam_user, end, now))
                details["session_guard"] = "written" if written else "pending"
                if not written:
                    after = dataclasses.replace(after, guard_pending=True)
                try:
                    self.grants.set_expiry(after.id, after.role_arn, end)
                except GrantError as exc:
                    raise Unavailable(f"{exc}; the grant still ends at {rfc3339(old.expires_at)}, "
                                      f"try again") from None
                grant = after.grant
                assert grant is not None
                after = dataclasses.replace(after, grant=dataclasses.replace(
                    grant, console_url=self._console_url(after.id, end)))
                details["expires_at"] = rfc3339(end)
            return Transition(after, kind)

        return self._transition(request_id, decide_and_apply, caller, details, current=current)

    def _console_url(self, request_id: str, expires_at: datetime) -> str:
        return f"{self.public_url}/v1/console/{self.tokens.sign(request_id, expires_at)}"

    def restore_grant(self, request: AccessRequest) -> str | None:
        """Drift: an active grant whose policy is gone is re-applied; if IAM refuses, it ends `failed`."""
        current = self.repo.get(request.id)  # the index may lag: act only on what is stored now
        if current.state != State.ACTIVE or not current.grant or self.clock() >= current.grant.expires_at:
            return None
        try:
            self.grants.apply(current.id, current.requester_iam_user, current.role_arn, current.grant.expires_at)
        except GrantError as exc:
            reason = str(exc)
            self._end(current.id, lambda r: r.fail(reason, self.clock()), SYSTEM_CALLER, current=current,
                      details={"reason": reason, "drift": "grant policy missing"})
            return "marked failed"
        if self.repo.get(current.id).state != State.ACTIVE:  # ended while we re-applied: take it away again
            self._cleanup(current)
            return None
        self.record_repair(current, current.id, "grant_policy_restored",
                           {"policy_arn": self.grants.policy_arn(current.id)})
        return "re-applied"

    def alert(self, text: str) -> None:
        """Tells the security channel (notifiers that can; the log always)."""
        log.error("security alert: %s", text)
        send = getattr(self.notifier, "alert", None)
        if send:
            try:
                send(text)
            except Exception as exc:  # an alert never undoes a repair
                log.warning("security alert not sent: %s", type(exc).__name__)

    def record_repair(self, request: AccessRequest | None, request_id: str, action: str,
                      details: dict[str, Any]) -> None:
        event = Event(request_id, request.version if request else 0, EventKind.DRIFT_REPAIRED, self.clock(), SYSTEM,
                      "system", {"action": action, **details})
        self.repo.note(event)
        if request:
            self._notify(request, event)

    # -- open sessions (sessions.py; the cuts themselves: domain/session_guard.py)

    def restore_cut(self, request: AccessRequest) -> bool:
        """Drift: a cut missing from the session guard (someone deleted it, or a write was lost) is written again."""
        current = self.repo.get(request.id)
        if current.guard_pending:  # the sweeper's retry owns it
            return False
        if current.version != request.version:  # changed since the caller found the cut missing: check it again
            return False
        change = self._owed_change(current)
        if change is None or not self._guard(current, "drift", change):
            return False
        self.record_repair(current, current.id, "session_guard_restored", {"role_arn": current.role_arn})
        return True

    def _owes_cut(self, ended: AccessRequest) -> bool:
        """A revoke or a failure cuts open sessions at once; an expiry's cut was written with the grant (unless the
        target account did not take it then)."""
        if not ended.sessions_may_exist or ended.ended_at is None:
            return False
        return ended.state != State.EXPIRED or ended.guard_pending

    def retry_guard(self, request: AccessRequest) -> AccessRequest:
        """The sweeper's retry of a guard write the target account did not take: what is owed follows the state."""
        current = self.repo.get(request.id)
        if not current.guard_pending:
            return current
        change = self._owed_change(current)
        if change is None:
            return self._set_guard_pending(current, False)
        return self._set_guard_pending(current, not self._guard(current, "retry", change))

    def _owed_change(self, request: AccessRequest) -> Change | None:
        """What the guard must say for this request now: its end's cut, or its live grant's expiry."""
        if request.ended:
            return self._end_change(request) if request.sessions_may_exist and request.ended_at else None
        if request.grant:
            user, end = request.requester_iam_user, request.grant.expires_at
            return lambda g, now: g.ending(user, end, now)
        return None

    def _end_change(self, ended: AccessRequest) -> Change:
        user, at = ended.requester_iam_user, ended.ended_at
        assert at is not None
        if ended.state == State.EXPIRED and ended.grant:
            end = ended.grant.expires_at
            return lambda g, now: g.ending(user, end, now)
        still_until = self._other_live_end(ended)
        return lambda g, now: g.revoked(user, at, still_until)

    def _other_live_end(self, ended: AccessRequest) -> datetime | None:
        """The latest end of the same person's other live grants on the same role: their sessions keep an expiry cut.
        Reads the person's requests newest first, back to the oldest that could still hold a live grant."""
        oldest = self.clock() - timedelta(seconds=max(
            (p.approval_timeout + p.max_duration for p in self.catalog.profiles.values()), default=0))
        ends: list[datetime] = []
        cursor: str | None = None
        while True:
            page = self.repo.by_requester(ended.requester, _PAGE, cursor)
            ends += [r.grant.expires_at for r in page.items if r.id != ended.id and r.state == State.ACTIVE
                     and r.role_arn == ended.role_arn and r.grant]
            if page.next is None or not page.items or page.items[-1].created_at < oldest:
                return max(ends, default=None)
            cursor = page.next

    def _guard(self, request: AccessRequest, cut: str, change: Change) -> bool:
        """Writes `change` into the guard of the request's role; True when it stands. The caller's event says that it
        was written; a failure is an event of its own, and so is a fall back to the whole-role cut, which is announced
        to the security channel too."""
        if self.sessions is None:
            return False
        try:
            written = self.sessions.change(request.account, request.role_arn, change)
        except GuardPending as exc:
            log.warning("session guard of request %s pending: %s", request.id, exc)
            self.repo.note(Event(request.id, request.version, EventKind.SESSION_GUARD_FAILED, self.clock(), SYSTEM,
                                 "system", {"cut": cut, "role_arn": request.role_arn, "reason": str(exc)}))
            return False
        if written.whole_role:
            event = Event(request.id, request.version, EventKind.SESSION_GUARD_WHOLE_ROLE, self.clock(), SYSTEM,
                          "system", {"cut": cut, "role_arn": request.role_arn, "statements": _statements(written.guard),
                           "security_channel": self.catalog.security_channel})
            self.repo.note(event)
            self._notify(request, event)
            self.alert(f"access-broker: the session guard of {request.role_arn} fell back to the whole-role cut "
                       f"(too many people to name within IAM's inline policy budget): everyone's sessions of the role "
                       f"issued before the cut are denied; people with a live grant switch in again")
        return True

    def _set_guard_pending(self, request: AccessRequest, pending: bool) -> AccessRequest:
        if request.guard_pending == pending:
            return request
        try:
            return self._transition(request.id, lambda r: r.guarded(pending, self.clock()), SYSTEM_CALLER,
                                    {"role_arn": request.role_arn}, current=request)
        except Conflict:
            return self.repo.get(request.id)

    # -- internals

    def _end(self, request_id: str, decide: Decide, caller: Caller, current: AccessRequest | None = None,
             details: dict[str, Any] | None = None) -> AccessRequest:
        """Records the end first, then removes the policy: if removal fails, the sweeper's drift repair
        finds a policy with no active grant and removes it; the opposite order could leave a grant
        recorded active with no policy."""
        details = dict(details or {})

        def decide_and_cut(before: AccessRequest) -> Transition:
            """The end reaches open sessions before it is recorded, so a revoke answers with its cut in place."""
            ended, kind = decide(before)
            if not self._owes_cut(ended):
                return Transition(ended, kind)
            written = self._guard(ended, ended.state.value, self._end_change(ended))
            details["session_guard"] = "written" if written else "pending"
            return Transition(dataclasses.replace(ended, guard_pending=not written), kind)

        ended = self._transition(request_id, decide_and_cut, caller, details, current=current)
        self._cleanup(ended)
        if ended.break_glass:
            self.repo.release(_break_glass_name(ended), ended.id)
        return ended

    def _cleanup(self, request: AccessRequest) -> None:
        try:
            self.grants.remove(self.grants.policy_arn(request.id), request.requester_iam_user)
        except GrantError as exc:
            log.warning("grant policy of request %s not removed yet (the sweeper retries): %s", request.id, exc)
            self.repo.note(Event(request.id, request.version, EventKind.CLEANUP_PENDING, self.clock(), SYSTEM,
                                 "system", {"reason": str(exc)}))

    def _transition(self, request_id: str, decide: Decide, caller: Caller, details: dict[str, Any] | None = None,
                    current: AccessRequest | None = None) -> AccessRequest:
        """The one write funnel: read (or take `current`), let the domain decide, write on condition that nobody
        changed the request meanwhile, with the event the domain named; re-read and decide again on a lost race."""
        for _ in range(_RETRIES):
            before = current or self.repo.get(request_id)
            current = None  # after a lost race, always re-read
            after, kind = decide(before)
            after = dataclasses.replace(after, due_at=self._due(after))
            event = Event(request_id, before.version + 1, kind, after.updated_at or self.clock(),
                          caller.actor, caller.channel, details or {})
            try:
                stored = self.repo.transition(before, after, event)
            except StaleWrite:
                continue
            self._notify(stored, event)
            return stored
        raise Conflict(f"request {request_id} is changing too quickly; try again")

    def _notify(self, request: AccessRequest, event: Event) -> None:
        try:
            self.notifier.notify(request, event)
        except Exception as exc:  # a notification never undoes or blocks a state change
            log.warning("notification for request %s (%s) failed: %s", request.id, event.kind, type(exc).__name__)
            self.repo.note(Event(request.id, request.version, EventKind.NOTIFY_FAILED, self.clock(), SYSTEM,
                                 "system", {"event": event.kind, "error": type(exc).__name__}))

    def _due(self, request: AccessRequest) -> datetime | None:
        """Works from what the request recorded when its profile has left the catalog: a pending one times out at
        once, a grant still ends at its recorded end."""
        profile = self.catalog.profiles.get(request.profile)
        if profile is None:
            return schedule.next_due(request, 0, 0)
        return schedule.next_due(request, profile.approval_timeout, profile.reminder_after)

    def _timeout_at(self, request: AccessRequest) -> datetime:
        profile = self.catalog.profiles.get(request.profile)
        return schedule.timeout_at(request, profile.approval_timeout if profile else 0)

    def _profile(self, name: str) -> Profile:
        return rules.profile_of(self.catalog, name)


def _break_glass_name(request: AccessRequest) -> str:
    return f"break-glass#{request.requester}#{request.profile}"


def _statements(guard: Guard) -> int:
    policy = guard.policy()
    return len(policy["Statement"]) if policy else 0


def _extension_open(request: AccessRequest) -> bool:
    """An active grant asking to last longer: approve and deny answer its round, not the original one."""
    return request.state == State.ACTIVE and request.extension is not None
