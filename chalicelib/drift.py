"""Drift repair: IAM and the table agree on which grant policies exist. Each repair is a `system` event.

Cost per pass: one ListPolicies call per 100 broker policies, one by-state Query page per 100 active
grants, plus a GetItem only for a policy whose grant is not active (an orphan candidate)."""
from __future__ import annotations

import logging

from chalicelib.aws.iam_grants import GrantError, request_id_of
from chalicelib.domain.errors import NotFound
from chalicelib.domain.requests import AccessRequest, State
from chalicelib.service import Broker

log = logging.getLogger(__name__)
_PAGE = 100


def repair_drift(broker: Broker) -> list[str]:
    """Removes broker policies with no active grant; restores (or fails) active grants with no policy.
    Returns one line per repair."""
    # Policies are listed before active grants are read: a grant activated in between then looks like it
    # has no policy and is re-applied (harmless, it is idempotent); the opposite order could re-create the
    # policy of a grant that ended in between.
    policies = {request_id_of(arn): arn for arn in broker.grants.owned_policies()}
    active = {r.id: r for r in _active(broker)}
    repaired: list[str] = []
    for request_id, arn in policies.items():
        if request_id in active:
            continue
        try:
            request: AccessRequest | None = broker.repo.get(request_id)
        except NotFound:
            request = None
        if request and request.state in (State.APPROVED, State.ACTIVE):  # being applied, or just activated
            continue
        if not request and _made_elsewhere(broker, arn):  # another stage's grant, in its own table
            continue
        try:
            broker.grants.remove(arn)
        except GrantError as exc:
            log.warning("drift: orphan policy %s not removed yet: %s", arn, exc)
            continue
        state = request.state.value if request else "unknown request"
        broker.record_repair(request, request_id, "orphan_policy_removed", {"policy_arn": arn, "state": state})
        repaired.append(f"{arn}: removed (request {state})")
    for request_id, request in active.items():
        if request_id not in policies:
            outcome = broker.restore_grant(request)
            if outcome:
                repaired.append(f"{request_id}: policy missing, {outcome}")
    return repaired


def _made_elsewhere(broker: Broker, arn: str) -> bool:
    try:
        owner = broker.grants.owner_of(arn)
    except GrantError:
        return True  # unsure: leave it for the next pass
    return owner is not None and owner != broker.grants.owner


def _active(broker: Broker) -> list[AccessRequest]:
    found, cursor = [], None
    while True:
        page = broker.repo.by_state(State.ACTIVE, _PAGE, cursor)
        found.extend(page.items)
        if not page.next:
            return found
        cursor = page.next
