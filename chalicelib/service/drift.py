"""Drift repair: IAM and the table agree on which grant policies exist. Each repair is a `system` event.

Cost per pass: one ListPolicies call per 100 broker policies and one GetPolicyVersion per policy (its content is
checked: only an exact grant may stay), one by-state Query page per 100 active grants, plus a GetItem only for a
policy whose grant is not active (an orphan candidate); for the session guards,
one Query of the grants ended within the last hour or so (the `due` index's cut_stands partition) and one
GetRolePolicy per switch role in use; per switch role of the catalog, a ListRolePolicies and a GetRole (and a
GetRolePolicy when it holds the guard) through the guard role: anything on it the broker did not write is said."""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain import sessions_owed
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.domain.grant_policy import is_grant, policy_document, request_id_of
from chalicelib.domain.requests import AccessRequest, State
from chalicelib.domain.session_guard import MAX_SESSION, POLICY_NAME, Guard
from chalicelib.ports import GrantError, GuardPending
from chalicelib.service import cuts, funnel, granting
from chalicelib.service.deps import SYSTEM_CALLER, Deps

log = logging.getLogger(__name__)
_PAGE = 100
_ALERT_AGAIN = timedelta(hours=24)  # a finding that lasts is said again once a day, not on every pass


def repair_drift(deps: Deps) -> list[str]:
    """Removes what is under the broker's path but is not exactly a grant (whoever tagged it), broker policies with no
    active grant, and tampered grants; restores (or fails) active grants with no policy; checks the session guards.
    Returns one line per repair."""
    # Policies are listed before active grants are read: a grant activated in between then looks like it
    # has no policy and is re-applied (harmless, it is idempotent); the opposite order could re-create the
    # policy of a grant that ended in between.
    listed = {request_id_of(p["Arn"]): p for p in deps.grants.listed()}
    active = {r.id: r for r in _active(deps)}
    roles = {p.role_arn for p in deps.catalog.profiles.values()} | {r.role_arn for r in active.values()}
    repaired: list[str] = []
    removed: set[str] = set()  # grants whose policy was not what the broker wrote: applied again below
    for request_id, policy in listed.items():
        arn = policy["Arn"]
        try:
            document = deps.grants.document(arn, policy["DefaultVersionId"])
        except GrantError as exc:
            log.warning("drift: policy %s not readable yet: %s", arn, exc)
            continue
        if document is None:  # deleted meanwhile
            continue
        request = active.get(request_id)
        if not is_grant(document, roles) or (request and _tampered(deps, request, document, policy)):
            lines = _remove_impostor(deps, request_id, arn, request)
            removed |= {request_id} if lines else set()
            repaired += lines
            continue
        if request is None:
            repaired += _remove_orphan(deps, request_id, arn)
    for request_id, request in active.items():
        if request_id not in listed or request_id in removed:
            outcome = granting.restore(deps, request)
            if outcome:
                repaired.append(f"{request_id}: policy missing, {outcome}")
    repaired += repair_guards(deps, list(active.values()))
    repaired += audit_roles(deps, list(active.values()))
    return repaired


def _tampered(deps: Deps, request: AccessRequest, document: dict[str, Any], policy: dict[str, Any]) -> bool:
    """An active grant's policy must say exactly what the broker wrote for it, and be attached to its requester's
    IAM user alone (one ListEntitiesForPolicy per live grant: a grant moved to someone else is caught too)."""
    assert request.grant is not None
    if document != policy_document(request.role_arn, request.grant.expires_at):
        return True
    if int(policy.get("AttachmentCount", 1)) > 1:
        return True
    try:
        holders = deps.grants.attached_users(policy["Arn"])
    except GrantError:
        return False  # unsure: checked again next pass
    return [h.casefold() for h in holders] not in ([], [request.requester_iam_user.casefold()])


def _remove_impostor(deps: Deps, request_id: str, arn: str, request: AccessRequest | None) -> list[str]:
    """Something under /access-broker/ that is not (or no longer) exactly the grant: a compromised broker's key, or
    a hand-made policy. Detached from everyone and deleted, whatever its owner tag, and said loudly."""
    try:
        users = deps.grants.attached_users(arn)
        deps.grants.remove(arn)
    except GrantError as exc:
        log.error("drift: policy %s is not a grant and could not be removed yet: %s", arn, exc)
        return []
    action = "tampered_grant_removed" if request else "foreign_policy_removed"
    funnel.record_repair(deps, request, request_id, action, {"policy_arn": arn, "attached_to": sorted(users)})
    funnel.alert(deps, f"access-broker removed {arn}: it was not exactly a grant the broker made"
                 f"{' for request ' + request_id if request else ''}; it was attached to "
                 f"{', '.join(sorted(users)) or 'nobody'}. Find out who wrote it (CloudTrail: CreatePolicy, "
                 f"CreatePolicyVersion, AttachUserPolicy under /access-broker/).")
    return [f"{arn}: removed, not a grant ({action})"]


def _remove_orphan(deps: Deps, request_id: str, arn: str) -> list[str]:
    """A grant-shaped policy with no active grant under this stage's own path: its request ended (the detach failed
    then, or the run died), or no request of this stage ever made it (whatever its owner tag says: said loudly)."""
    try:
        request: AccessRequest | None = deps.store.get(request_id)
    except NotFound:
        request = None
    if request and request.state in (State.APPROVED, State.ACTIVE):  # being applied, or just activated
        return []
    try:
        users = deps.grants.attached_users(arn) if request is None else []
        deps.grants.remove(arn)
    except GrantError as exc:
        log.warning("drift: orphan policy %s not removed yet: %s", arn, exc)
        return []
    state = request.state.value if request else "unknown request"
    funnel.record_repair(deps, request, request_id, "orphan_policy_removed", {"policy_arn": arn, "state": state})
    if request is None:
        funnel.alert(deps, f"access-broker removed {arn}: a grant no request of this stage made, attached to "
                           f"{', '.join(sorted(users)) or 'nobody'}. Find out who wrote it (CloudTrail: CreatePolicy, "
                           f"AttachUserPolicy under this stage's /access-broker/ path).")
    elif request.detach_pending:
        _detach_confirmed(deps, request)
    return [f"{arn}: removed (request {state})"]


def _detach_confirmed(deps: Deps, request: AccessRequest) -> None:
    """A revoked grant's policy IAM refused to detach is gone now: its revoke cut moves to now (plus its margin),
    covering the sessions opened meanwhile, and the grant's own expiry cut goes (cuts.py)."""
    user, other_end = request.requester_iam_user, cuts.other_live_end(deps, request)
    written = cuts.write(deps, request, "detach", lambda g, now: g.revoked(user, now, other_end))
    in_force = deps.clock() + deps.propagation if written else None
    try:
        funnel.transition(deps, request.id, lambda r: sessions_owed.detach_confirmed(r, deps.clock(), in_force),
                          SYSTEM_CALLER, {"action": "grant_policy_detached",
                                          "session_guard": "written" if written else "pending"}, current=request)
    except Conflict:
        pass  # another pass recorded it first


def repair_guards(deps: Deps, active: list[AccessRequest]) -> list[str]:
    """Every live grant's expiry cut is in its role's session guard, and every ended grant's cut stands until it could
    no longer match a session. One GetRolePolicy per role per pass; a missing cut is written again."""
    if deps.sessions is None:
        return []
    now = deps.clock()
    owed = [(r, "grant") for r in active if r.grant and not r.guard_pending and now < r.grant.expires_at]
    owed += [(r, "end") for r in deps.store.standing_cuts(now) if not r.guard_pending]
    guards: dict[tuple[str, str], Guard | None] = {}
    repaired = []
    for request, what in owed:
        key = (request.account, request.role_arn)
        if key not in guards:
            try:
                guards[key] = deps.sessions.read(*key)
            except GuardPending as exc:
                log.warning("drift: session guard of %s not readable: %s", request.role_arn, exc)
                guards[key] = None
        guard = guards[key]
        if guard is None or _stands(guard, request, what):
            continue
        if cuts.restore(deps, request):
            guards.pop(key)  # read again for the next request on this role
            repaired.append(f"{request.id}: session guard {'expiry' if what == 'grant' else 'cut'} restored")
    return repaired


def audit_roles(deps: Deps, active: list[AccessRequest]) -> list[str]:
    """Every switch role of the catalog (and of live grants) carries no inline policy but the guard, a guard holding
    only what the broker wrote, and the MaxSessionDuration the broker counts on. The guard role may write any inline
    policy on these roles, so a compromised broker key could put an Allow there: the role's permissions boundary
    (targets/switch-role.yaml) keeps it within the role's purpose, and this says it. A tampered guard is written back
    as the broker's cuts alone."""
    if deps.sessions is None:
        return []
    roles = {(p.account, p.role_arn) for p in deps.catalog.profiles.values()} | {(r.account, r.role_arn)
                                                                                  for r in active}
    repaired = []
    for account, role_arn in sorted(roles):
        try:
            audit = deps.sessions.audit(account, role_arn)
        except GuardPending as exc:
            log.warning("drift: inline policies of %s not readable: %s", role_arn, exc)
            continue
        if audit.foreign_policies:
            _alert_once(deps, f"foreign#{role_arn}#{','.join(audit.foreign_policies)}",
                        f"access-broker found inline policies it did not write on {role_arn}: "
                        f"{', '.join(audit.foreign_policies)}. The guard role may write inline policies there, so a "
                        f"broker key could have; the role's permissions boundary keeps an Allow within the role's "
                        f"purpose. Find out who wrote them (CloudTrail: PutRolePolicy on {role_arn}) and remove them.")
        if audit.guard_tampered:
            repaired += _clean_guard(deps, account, role_arn)
        if audit.max_session > MAX_SESSION:
            _alert_once(deps, f"max-session#{role_arn}#{int(audit.max_session.total_seconds())}",
                        f"access-broker: {role_arn} allows sessions of {int(audit.max_session.total_seconds())} s "
                        f"(MaxSessionDuration); the broker counts on {int(MAX_SESSION.total_seconds())} s. Its cuts "
                        f"stand as long as the role's sessions may last, but an unguarded session outlives a grant by "
                        f"that much: set MaxSessionDuration 3600 (targets/switch-role.yaml).")
    return repaired


def _clean_guard(deps: Deps, account: str, role_arn: str) -> list[str]:
    """The guard policy said more than the broker's cuts (a statement added or changed with the guard role's keys):
    written back as the cuts alone, and said."""
    assert deps.sessions is not None
    try:
        deps.sessions.change(account, role_arn, lambda guard, _now: guard)
    except GuardPending as exc:
        log.error("drift: the session guard of %s holds statements the broker did not write, and could not be "
                  "written back yet: %s", role_arn, exc)
        return []
    funnel.alert(deps, f"access-broker rewrote the session guard ({POLICY_NAME}) of {role_arn}: it held statements "
                       f"the broker did not write. Find out who wrote them (CloudTrail: PutRolePolicy on {role_arn}).")
    return [f"{role_arn}: session guard held statements the broker did not write; written back"]


def _alert_once(deps: Deps, finding: str, text: str) -> None:
    """Says a finding that lasts once a day (a claim in the table per finding), not on every pass."""
    now = deps.clock()
    name = f"drift-alert#{hashlib.sha256(finding.encode()).hexdigest()[:32]}"
    if deps.store.claim(name, deps.new_id(now), now + _ALERT_AGAIN, now):
        funnel.alert(deps, text)


def _stands(guard: Guard, request: AccessRequest, what: str) -> bool:
    assert request.grant is not None
    if what == "grant":
        return guard.guards_grant(request.requester_iam_user, request.grant.expires_at)
    return guard.cuts_ended(request.requester_iam_user, _cut_time(request))


def _cut_time(request: AccessRequest) -> datetime:
    assert request.sessions_cut_at is not None
    return request.sessions_cut_at


def _active(deps: Deps) -> list[AccessRequest]:
    found, cursor = [], None
    while True:
        page = deps.store.by_state(State.ACTIVE, _PAGE, cursor)
        found.extend(page.items)
        if not page.next:
            return found
        cursor = page.next
