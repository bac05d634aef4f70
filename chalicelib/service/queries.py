"""Who is asking, and what they may read: requests, their trails, lists, the audit log and console links. Reads
only: no IAM, no write."""
from __future__ import annotations

from datetime import datetime

from chalicelib import access_rules as rules
from chalicelib.access_rules import Caller
from chalicelib.domain.catalog import Profile
from chalicelib.domain.errors import Forbidden, Gone, NotFound, quote
from chalicelib.domain.requests import AccessRequest, Event, Grant, State
from chalicelib.ports import Page
from chalicelib.service.deps import Deps

AUDITORS = "auditors"  # the catalog group that may read every profile's audit trail


def caller_from_arn(deps: Deps, arn: str, channel: str = "api") -> Caller:
    """Maps `arn:aws:iam::<source account>:user/<name>` to the person with that IAM user."""
    catalog = deps.catalog
    account, _, resource = arn.removeprefix(f"arn:{catalog.partition}:iam::").partition(":")
    person = None
    if account == catalog.source_account and resource.startswith("user/"):
        person = catalog.person_by_iam_user(resource.rsplit("/", 1)[-1])
    return Caller(principal=arn, person=person, channel=channel,
                  unmapped_why=catalog.directory_unavailable or "" if person is None else "")


def caller_from_slack(deps: Deps, slack_user_id: str) -> Caller:
    person = deps.catalog.person_by_slack_id(slack_user_id)
    return Caller(principal=f"slack:{slack_user_id}", person=person, channel="slack",
                  unmapped_why=deps.catalog.directory_unavailable or "" if person is None else "")


def profiles_for(deps: Deps, caller: Caller) -> list[Profile]:
    return deps.catalog.requestable_by(caller.person.id) if caller.person else []


def get(deps: Deps, caller: Caller, request_id: str) -> AccessRequest:
    request = deps.store.get(request_id)
    if not rules.may_see(deps.catalog, caller, request):
        raise NotFound(f"no request with id {quote(request_id)}")
    return request


def acted_on(deps: Deps, caller: Caller, request_id: str) -> AccessRequest:
    """The request a decision or an action is about. Over the API, one the caller may not see is a 404, exactly
    as GET answers: a refusal must not name its profile and approvers. In Slack the request is in the message
    the person clicked, so the refusal may say who decides."""
    return deps.store.get(request_id) if caller.channel == "slack" else get(deps, caller, request_id)


def as_shown(deps: Deps, request_id: str) -> AccessRequest:
    """The request as it stands now, for the Slack message that shows it (an answer to a click on it)."""
    return deps.store.get(request_id)


def events(deps: Deps, caller: Caller, request_id: str) -> list[Event]:
    get(deps, caller, request_id)
    return deps.store.events(request_id)


def listed(deps: Deps, caller: Caller, state: State | None = None, mine: bool = False, awaiting_me: bool = False,
           limit: int = 50, cursor: str | None = None) -> Page[AccessRequest]:
    person = rules.person_of(caller)
    if awaiting_me:
        page = deps.store.by_state(State.PENDING, limit, cursor)
        keep = [r for r in page.items if person.id in rules.profile_of(deps.catalog, r.profile).approvers
                and r.requester != person.id and not r.approved_by(person.id)]
    elif mine or state is None:
        page = deps.store.by_requester(person.id, limit, cursor)
        keep = [r for r in page.items if state is None or r.state == state]
    else:
        page = deps.store.by_state(state, limit, cursor)
        keep = [r for r in page.items if rules.may_see(deps.catalog, caller, r)]
    return Page(keep, page.next)


def audit(deps: Deps, caller: Caller, since: datetime, until: datetime, limit: int,
          cursor: str | None) -> Page[Event]:
    """Events in the window: everything for trusted tools and the catalog's `auditors` group; for an approver,
    the events of requests for the profiles they approve (and nothing about the others, reasons included)."""
    catalog = deps.catalog
    auditors = catalog.groups.get(AUDITORS, frozenset())
    everything = caller.principal in catalog.trusted_tools or bool(caller.person and caller.person.id in auditors)
    scope = set() if everything or not caller.person else {p.name for p in catalog.approvable_by(caller.person.id)}
    if not everything and not scope:
        raise Forbidden(f"the audit log is for approvers and trusted tools (and the catalog's `{AUDITORS}` group)")
    if everything:
        return deps.store.audit(since, until, limit, cursor)
    return deps.store.audit_scoped(sorted(scope), since, until, limit, cursor)  # nothing of another profile is read


def console_link(deps: Deps, token: str) -> Grant:
    """The grant behind a signed console link, while it is active (its switch-role URL, and when it is usable)."""
    now = deps.clock()
    request = deps.store.get(deps.tokens.verify(token, now))
    if request.state != State.ACTIVE or not request.grant or now >= request.grant.expires_at:
        raise Gone(f"the grant of request {request.id} has ended ({request.state.value}); request access again")
    return request.grant


def console_link_ended(deps: Deps, token: str) -> tuple[AccessRequest, str] | None:
    """The grant behind a link we signed that no longer works, and its profile's display name, for the page that
    says why; None when the token is not ours or its request is gone."""
    try:
        request = deps.store.get(deps.tokens.signed(token)[0])
    except (Forbidden, NotFound):
        return None
    profile = deps.catalog.profiles.get(request.profile)
    return request, profile.display_name if profile else request.profile
