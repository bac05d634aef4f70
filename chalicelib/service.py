"""Use cases: request, approve, deny, cancel, grant, revoke, expire. Entrypoints call these and nothing else.

Every state change goes through `_transition`: read, let the domain decide, write on condition that
nobody changed the request meanwhile, retry on a lost race. IAM changes happen around it in the order
that keeps drift repairable: attach before recording `active`, record `revoked` before detaching."""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Protocol

from chalicelib.aws.iam_grants import GrantError, IamGrants
from chalicelib.aws.links import ConsoleTokens, switch_role_url
from chalicelib.catalog import Catalog, Person, Profile
from chalicelib.domain.durations import format_duration, parse_duration
from chalicelib.domain.errors import Conflict, Forbidden, Gone, NotFound, StaleWrite, Unavailable, Unprocessable
from chalicelib.domain.ids import new_request_id
from chalicelib.domain.requests import AccessRequest, Event, Grant, State
from chalicelib.store.repository import IdempotencyClaim, IdempotentReplay, Page, Repository

log = logging.getLogger(__name__)
MAX_REASON = 1000
BREAK_GLASS_MIN_REASON = 20
SYSTEM = "access-broker"
_RETRIES = 8
APPLY_RETRY_AFTER = timedelta(minutes=2)
WARN_BEFORE = timedelta(minutes=10)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Caller:
    """Who is asking: an IAM principal (API) or a Slack user, and the person the catalog maps them to."""
    principal: str
    person: Person | None
    channel: str  # api | slack

    @property
    def actor(self) -> str:
        return self.person.id if self.person else self.principal


SYSTEM_CALLER = Caller(SYSTEM, None, "system")


class Notifier(Protocol):
    def notify(self, request: AccessRequest, event: Event) -> None: ...


class SilentNotifier:
    def notify(self, request: AccessRequest, event: Event) -> None:
        return None


class Broker:
    def __init__(self, catalog: Catalog, repository: Repository, grants: IamGrants, tokens: ConsoleTokens,
                 notifier: Notifier | None = None, clock: Callable[[], datetime] = utcnow,
                 new_id: Callable[[datetime], str] = new_request_id, public_url: str = "") -> None:
        self.catalog, self.repo, self.grants, self.tokens = catalog, repository, grants, tokens
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
        if not self._may_see(caller, request):
            raise NotFound(f"no request with id {request_id!r}")
        return request

    def events(self, caller: Caller, request_id: str) -> list[Event]:
        self.get(caller, request_id)
        return self.repo.events(request_id)

    def list(self, caller: Caller, state: State | None = None, mine: bool = False, awaiting_me: bool = False,
             limit: int = 50, cursor: str | None = None) -> Page:
        person = self._person(caller)
        if awaiting_me:
            page = self.repo.by_state(State.PENDING, limit, cursor)
            keep = [r for r in page.items if person.id in self._profile(r.profile).approvers
                    and r.requester != person.id and not r.approved_by(person.id)]
        elif mine or state is None:
            page = self.repo.by_requester(person.id, limit, cursor)
            keep = [r for r in page.items if state is None or r.state == state]
        else:
            page = self.repo.by_state(state, limit, cursor)
            keep = [r for r in page.items if self._may_see(caller, r)]
        return Page(keep, page.next)

    def audit(self, caller: Caller, since: datetime, until: datetime, limit: int, cursor: str | None) -> Page:
        if caller.principal not in self.catalog.trusted_tools and not (
                caller.person and self.catalog.approvable_by(caller.person.id)):
            raise Forbidden("the audit log is for approvers and trusted tools")
        return self.repo.audit(since, until, limit, cursor)

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
        person = self._requester(caller, requester)
        chosen = self._requestable(person, profile)
        seconds = self._duration(chosen, duration)
        reason = _reason(reason)
        if break_glass:
            _allow_break_glass(chosen, reason)
        now = self.clock()
        request = AccessRequest(
            id=self.new_id(now), profile=chosen.name, requester=person.id, requester_iam_user=person.iam_user,
            account=chosen.account, role_arn=chosen.role_arn, reason=reason, duration_seconds=seconds,
            approvals_required=chosen.approvals_required, created_at=now, updated_at=now,
            requested_by_tool=caller.principal if requester is not None else None, break_glass=break_glass)
        if break_glass:
            request = request.break_glass_approve(now)
        request = dataclasses.replace(request, due_at=self._due(request))
        details = {"profile": chosen.name, "duration_seconds": seconds, "reason": reason,
                   **({"requested_by_tool": caller.principal} if requester is not None else {})}
        if break_glass:
            details.update(review=True, approval_channel=chosen.approval_channel,
                           security_channel=self.catalog.security_channel)
        event = Event(request.id, 1, "break_glass_activated" if break_glass else "created", now, caller.actor,
                      caller.channel, details)
        try:
            stored = self.repo.create(request, event, idempotency)
        except IdempotentReplay:  # the key was claimed first (a retry, or a twin racing us): that request is the answer
            return self.repo.claimed(idempotency)
        self._notify(stored, event)
        return self.apply_grant(stored) if stored.state == State.APPROVED else stored

    def approve(self, caller: Caller, request_id: str, comment: str = "") -> AccessRequest:
        person = self._person(caller)
        current = self.repo.get(request_id)  # read once: it picks the round and starts the transition
        if _extension_open(current):  # an active grant asking to last longer: its own approval round
            return self.decide_extension(caller, request_id, True, comment, current=current)

        def decide(request: AccessRequest) -> AccessRequest:
            self._require_approver(person, request)
            return request.approve(person.id, self.clock(), comment)

        request = self._transition(request_id, decide, "approved", caller, {"comment": comment}, current=current)
        return self.apply_grant(request) if request.state == State.APPROVED else request

    def deny(self, caller: Caller, request_id: str, comment: str = "") -> AccessRequest:
        person = self._person(caller)
        current = self.repo.get(request_id)
        if _extension_open(current):
            return self.decide_extension(caller, request_id, False, comment, current=current)

        def decide(request: AccessRequest) -> AccessRequest:
            self._require_approver(person, request)
            return request.deny(person.id, self.clock(), comment)

        return self._transition(request_id, decide, "denied", caller, {"comment": comment}, current=current)

    def cancel(self, caller: Caller, request_id: str) -> AccessRequest:
        person = self._person(caller)
        return self._transition(request_id, lambda r: r.cancel(person.id, self.clock()), "cancelled", caller)

    def revoke(self, caller: Caller, request_id: str) -> AccessRequest:
        person = self._person(caller)

        def decide(request: AccessRequest) -> AccessRequest:
            if person.id != request.requester and person.id not in self._profile(request.profile).approvers:
                raise Forbidden("only the requester or an approver of the profile can revoke a grant")
            return request.end(State.REVOKED, person.id, self.clock())

        return self._end(request_id, decide, "revoked", caller)

    def expire(self, request: AccessRequest) -> AccessRequest:
        def decide(current: AccessRequest) -> AccessRequest:
            now = self.clock()
            if current.grant and now < current.grant.expires_at:  # extended since the sweeper read it
                raise Conflict(f"the grant of request {current.id} now ends at {_rfc3339(current.grant.expires_at)}")
            return current.end(State.EXPIRED, SYSTEM, now)

        return self._end(request.id, decide, "expired", SYSTEM_CALLER, current=request)

    def time_out(self, request: AccessRequest) -> AccessRequest:
        system = Caller(SYSTEM, None, "system")
        return self._transition(request.id, lambda r: r.time_out(self.clock()), "timed_out", system,
                                current=request)

    def sweep_due(self, request: AccessRequest) -> str:
        """Does what is due for one request read from the due index; returns what that was. Each step
        re-checks on the stored request (version condition), so a stale index entry changes nothing."""
        now = self.clock()
        if request.state == State.PENDING:
            if now >= self._timeout_at(request):
                return self.time_out(request).state.value
            return self._nudge(request, lambda r: r.remind(now), "reminder_sent", {
                "approvers": sorted(self._profile(request.profile).approvers),
                "timeout_at": _rfc3339(self._timeout_at(request))})
        if request.grant and now >= request.grant.expires_at:  # active, or approved but never applied
            return self.expire(request).state.value
        if request.state == State.APPROVED:
            return self.apply_grant(request).state.value
        return self._nudge(request, lambda r: r.warn(now), "expiry_warning", {
            "expires_at": _rfc3339(request.grant.expires_at),
            "extendable": self._profile(request.profile).extension_allowed})

    def _nudge(self, request: AccessRequest, decide: Callable[[AccessRequest], AccessRequest], kind: str,
               details: dict) -> str:
        """A once-only message (reminder, warning): the flag and its event are written together, and only
        when the stored request still says it is due."""
        def due_now(current: AccessRequest) -> AccessRequest:
            if current.due_at is None or self.clock() < current.due_at:
                raise Conflict(f"nothing is due for request {current.id} yet")
            return decide(current)

        self._transition(request.id, due_now, kind, SYSTEM_CALLER, details, current=request)
        return kind

    def apply_grant(self, request: AccessRequest) -> AccessRequest:
        """Approved -> active: attach the grant policy, then record it. Safe to re-run; a failure in IAM
        ends the request `failed` with nothing left attached."""
        system = Caller(SYSTEM, None, "system")
        planned = request.grant
        console_url = self._console_url(request.id, planned.expires_at)  # before IAM: an unreadable key changes nothing
        try:
            arn = self.grants.apply(request.id, request.requester_iam_user, request.role_arn, planned.expires_at)
        except GrantError as exc:
            self._cleanup(request)
            return self._transition(request.id, lambda r: r.fail(str(exc), self.clock()), "failed", system,
                                    {"reason": str(exc)}, current=request)
        profile = self._profile(request.profile)
        grant = dataclasses.replace(
            planned, policy_arn=arn, switch_role_url=switch_role_url(self.catalog, profile),
            console_url=console_url)
        try:
            return self._transition(request.id, lambda r: r.activate(grant, self.clock()), "activated", system,
                                    {"policy_arn": arn, "expires_at": _rfc3339(grant.expires_at)}, current=request)
        except Conflict:
            current = self.repo.get(request.id)
            if current.state == State.ACTIVE:  # a twin run (the sweeper's retry) activated this same policy
                return current
            self._cleanup(request)  # revoked or failed while IAM was busy: take the policy away again
            return current

    def extend(self, caller: Caller, request_id: str, duration: object) -> AccessRequest:
        """Asks for an active grant to last `duration` longer: a new approval round, or at once where the
        profile's extension.auto_approve says so; never beyond the profile's max_duration in total."""
        person = self._person(caller)
        if duration is None:
            raise Unprocessable("duration is required: how much longer, like `30m` or `1h`")
        seconds = parse_duration(duration)

        def decide(request: AccessRequest) -> AccessRequest:
            profile = self._profile(request.profile)
            if not profile.extension_allowed:
                raise Forbidden(f"profile {profile.name} does not allow extensions; request access again once "
                                f"this grant ends")
            return request.request_extension(person.id, seconds, profile.max_duration, self.clock(),
                                             profile.extension_auto_approve)

        return self._extension_step(request_id, decide, caller, {"duration_seconds": seconds})

    def decide_extension(self, caller: Caller, request_id: str, approve: bool, comment: str = "",
                         current: AccessRequest | None = None) -> AccessRequest:
        person = self._person(caller)

        def decide(request: AccessRequest) -> AccessRequest:
            self._require_approver(person, request)
            if not approve:
                return request.deny_extension(person.id, self.clock())
            return request.approve_extension(person.id, self.clock(), self._profile(request.profile).max_duration)

        return self._extension_step(request_id, decide, caller, {"comment": comment}, current=current)

    def _extension_step(self, request_id: str, decide: Callable[[AccessRequest], AccessRequest], caller: Caller,
                        details: dict, current: AccessRequest | None = None) -> AccessRequest:
        """IAM moves first, then the record: if the record fails, the stored expiry is the earlier one and
        the sweeper ends the grant then, taking the whole policy away."""
        def decide_and_apply(before: AccessRequest) -> AccessRequest:
            after = decide(before)
            if before.grant and after.grant and after.grant.expires_at != before.grant.expires_at:
                try:
                    self.grants.set_expiry(after.id, after.role_arn, after.grant.expires_at)
                except GrantError as exc:
                    raise Unavailable(f"{exc}; the grant still ends at {_rfc3339(before.grant.expires_at)}, "
                                      f"try again") from None
                after = dataclasses.replace(after, grant=dataclasses.replace(
                    after.grant, console_url=self._console_url(after.id, after.grant.expires_at)))
                details["expires_at"] = _rfc3339(after.grant.expires_at)
            return after

        return self._transition(request_id, decide_and_apply, _extension_event, caller, details, current=current)

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
            self._cleanup(current)
            self._transition(current.id, lambda r: r.fail(str(exc), self.clock()), "failed", SYSTEM_CALLER,
                             {"reason": str(exc), "drift": "grant policy missing"}, current=current)
            return "marked failed"
        if self.repo.get(current.id).state != State.ACTIVE:  # ended while we re-applied: take it away again
            self._cleanup(current)
            return None
        self.record_repair(current, current.id, "grant_policy_restored",
                           {"policy_arn": self.grants.policy_arn(current.id)})
        return "re-applied"

    def record_repair(self, request: AccessRequest | None, request_id: str, action: str, details: dict) -> None:
        event = Event(request_id, request.version if request else 0, "drift_repaired", self.clock(), SYSTEM, "system",
                      {"action": action, **details})
        self.repo.note(event)
        if request:
            self._notify(request, event)

    # -- internals

    def _end(self, request_id: str, decide: Callable[[AccessRequest], AccessRequest], kind: str, caller: Caller,
             current: AccessRequest | None = None) -> AccessRequest:
        """Records the end first, then removes the policy: if removal fails, the sweeper's drift repair
        finds a policy with no active grant and removes it; the opposite order could leave a grant
        recorded active with no policy."""
        ended = self._transition(request_id, decide, kind, caller, current=current)
        self._cleanup(ended)
        return ended

    def _cleanup(self, request: AccessRequest) -> None:
        try:
            self.grants.remove(self.grants.policy_arn(request.id), request.requester_iam_user)
        except GrantError as exc:
            log.warning("grant policy of request %s not removed yet (the sweeper retries): %s", request.id, exc)
            self.repo.note(Event(request.id, request.version, "cleanup_pending", self.clock(), SYSTEM, "system",
                                 {"reason": str(exc)}))

    def _transition(self, request_id: str, decide: Callable[[AccessRequest], AccessRequest],
                    kind: str | Callable[[AccessRequest, AccessRequest], str], caller: Caller,
                    details: dict | None = None, current: AccessRequest | None = None) -> AccessRequest:
        for _ in range(_RETRIES):
            before = current or self.repo.get(request_id)
            current = None  # after a lost race, always re-read
            after = decide(before)
            after = dataclasses.replace(after, due_at=self._due(after))
            if callable(kind):  # the outcome names the event (an extension round: requested, approved, ...)
                event_kind = kind(before, after)
            else:
                event_kind = kind if kind != "approved" or after.state == State.APPROVED else "approval_added"
            event = Event(request_id, before.version + 1, event_kind, after.updated_at or self.clock(),
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
            self.repo.note(Event(request.id, request.version, "notify_failed", self.clock(), SYSTEM, "system",
                                 {"event": event.kind, "error": type(exc).__name__}))

    def _due(self, request: AccessRequest) -> datetime | None:
        """The next moment the sweeper must act: reminder, timeout, retry, warning or expiry."""
        if request.state == State.PENDING:
            return min(filter(None, (self._reminder_at(request), self._timeout_at(request))))
        if request.state == State.APPROVED:  # a grant stuck half-applied is retried by the sweeper
            return (request.updated_at or request.created_at) + APPLY_RETRY_AFTER
        if request.state == State.ACTIVE and request.grant:
            return request.grant.expires_at if request.warned_at else _warning_at(request.grant)
        return None

    def _timeout_at(self, request: AccessRequest) -> datetime:
        return request.created_at + timedelta(seconds=self._profile(request.profile).approval_timeout)

    def _reminder_at(self, request: AccessRequest) -> datetime | None:
        """Once, `reminder_after` into the approval window; never when the request times out first."""
        remind_at = request.created_at + timedelta(seconds=self._profile(request.profile).reminder_after)
        return None if request.reminded_at or remind_at >= self._timeout_at(request) else remind_at

    def _may_see(self, caller: Caller, request: AccessRequest) -> bool:
        if caller.principal in self.catalog.trusted_tools:
            return True
        person = caller.person
        return bool(person) and (person.id == request.requester
                                 or person.id in self._profile(request.profile).approvers)

    def _profile(self, name: str) -> Profile:
        profile = self.catalog.profiles.get(name)
        if profile is None:
            raise Conflict(f"profile {name!r} is no longer in the catalog; nothing can change this request")
        return profile

    def _person(self, caller: Caller) -> Person:
        if caller.person is None:
            raise Forbidden(f"{caller.principal} is not mapped to a person; add them under `people` in the "
                            f"catalog (iam_user or slack_user_id)")
        return caller.person

    def _require_approver(self, person: Person, request: AccessRequest) -> None:
        approvers = self._profile(request.profile).approvers
        if person.id != request.requester and person.id not in approvers:
            raise Forbidden(f"only approvers of profile {request.profile} may decide: {', '.join(sorted(approvers))}")

    def _requester(self, caller: Caller, requester: object) -> Person:
        if requester is None:
            person = caller.person
            if person is None:
                raise Unprocessable(
                    f"{caller.principal} is not mapped to a person; add an entry under `people` in the catalog "
                    f"with its iam_user (or slack_user_id)")
        else:
            if caller.principal not in self.catalog.trusted_tools:
                raise Forbidden("only trusted tools may request on behalf of someone; leave out `requester`")
            if not isinstance(requester, str) or requester not in self.catalog.people:
                raise Unprocessable(f"requester {requester!r} is not a person in the catalog")
            person = self.catalog.people[requester]
        if not person.iam_user:
            raise Unprocessable(f"person {person.id!r} has no IAM user; set people.{person.id}.iam_user in the catalog")
        return person

    def _requestable(self, person: Person, name: object) -> Profile:
        allowed = self.catalog.requestable_by(person.id)
        profile = self.catalog.profiles.get(name) if isinstance(name, str) else None
        if profile is None or profile not in allowed:
            names = ", ".join(p.name for p in allowed) or "none"
            raise Unprocessable(f"unknown profile {name!r}; profiles you may request: {names}",
                                profiles=[p.name for p in allowed])
        return profile

    def _duration(self, profile: Profile, duration: object) -> int:
        seconds = profile.default_duration if duration is None else parse_duration(duration)
        if not profile.min_duration <= seconds <= profile.max_duration:
            raise Unprocessable(f"duration {format_duration(seconds)} is outside what profile {profile.name} allows: "
                                f"{profile.allowed_range()}")
        return seconds


def _extension_open(request: AccessRequest) -> bool:
    """An active grant asking to last longer: approve and deny answer its round, not the original one."""
    return request.state == State.ACTIVE and request.extension is not None


def _reason(reason: object) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise Unprocessable("reason is required: say in a few words why you need access")
    if len(reason) > MAX_REASON:
        raise Unprocessable(f"reason is {len(reason)} characters; keep it to {MAX_REASON}")
    return reason.strip()


def _warning_at(grant: Grant) -> datetime:
    """About ten minutes before the end; half-way through grants shorter than twenty minutes."""
    return grant.expires_at - min(WARN_BEFORE, (grant.expires_at - grant.starts_at) / 2)


def _allow_break_glass(profile: Profile, reason: str) -> None:
    if not profile.break_glass:
        raise Forbidden(f"profile {profile.name} has no break-glass access; leave out break_glass and ask for approval")
    if len(reason) < BREAK_GLASS_MIN_REASON:
        raise Unprocessable(f"break-glass needs a reason of at least {BREAK_GLASS_MIN_REASON} characters (this one "
                            f"has {len(reason)}): say what is broken and why it cannot wait for an approver")


def _extension_event(before: AccessRequest, after: AccessRequest) -> str:
    if before.grant and after.grant and after.grant.expires_at != before.grant.expires_at:
        return "extended"
    if after.extension is None:
        return "extension_denied"
    return "extension_approval_added" if before.extension else "extension_requested"


def _rfc3339(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
