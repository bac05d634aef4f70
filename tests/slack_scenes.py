"""Requests in each state a person sees in Slack, as the service leaves them on tests/fakes.py at the unit tier's
fixed clock: the scenes tests/unit/test_slack_messages.py and test_slack_texts.py render and pin."""
from __future__ import annotations

import dataclasses
from datetime import timedelta

from chalicelib.catalog import parse_catalog
from chalicelib.domain.catalog import Catalog
from chalicelib.domain.requests import ON_CALL, AccessRequest, Approval
from tests import fakes
from tests.fakes import as_, ask, granted

Scene = tuple[Catalog, AccessRequest]


def channel_catalog(**profile: object) -> Catalog:
    """The demo's catalog with an approval channel and a display name, as a real profile has."""
    return fakes.catalog(**{"approval_channel": "C01APPROVALS", "display_name": "S3 prod", **profile})


def wired(**profile: object) -> fakes.Fakes:
    return fakes.broker(channel_catalog(**profile))


# -- requests in each state, as the service leaves them


def pending() -> Scene:
    w = wired()
    return w.broker.catalog, ask(w)


def pending_one_of_two() -> Scene:
    w = wired(approvals_required=2)
    request = w.broker.approve(as_(w, "bob"), ask(w).id, "looks fine")
    return w.broker.catalog, request


def approved_granting() -> Scene:
    w = wired()
    return w.broker.catalog, fakes.approved_not_applied(w)


def active() -> Scene:
    w = wired()
    return w.broker.catalog, granted(w)


def active_two_approvals() -> Scene:
    w = wired(approvals_required=2)
    return w.broker.catalog, granted(w)


def active_guard_pending() -> Scene:
    w = wired()
    w.guards.unreachable = True
    return w.broker.catalog, granted(w)


def active_usable_later() -> Scene:
    """A grant IAM takes a few seconds to apply everywhere (the catalog's iam_propagation)."""
    catalog, request = active()
    assert request.grant is not None
    later = dataclasses.replace(request.grant, usable_at=request.grant.starts_at + timedelta(seconds=6))
    return catalog, dataclasses.replace(request, grant=later)


def active_no_extensions() -> Scene:
    """A profile that allows no extensions (`extension: {allowed: false}`)."""
    w = wired(extension={"allowed": False})
    return w.broker.catalog, granted(w)


def extension_waiting() -> Scene:
    w = wired()
    request = granted(w)
    w.clock.advance(minutes=20)
    return w.broker.catalog, w.broker.extend(as_(w, "s3-access"), request.id, "30m")


def extension_one_of_two() -> Scene:
    w = wired(approvals_required=2)
    request = granted(w)
    w.clock.advance(minutes=20)
    w.broker.extend(as_(w, "s3-access"), request.id, "30m")
    return w.broker.catalog, w.broker.approve(as_(w, "bob"), request.id)


def extended() -> Scene:
    w = wired()
    request = granted(w)
    w.broker.extend(as_(w, "s3-access"), request.id, "30m")
    w.clock.advance(minutes=5)
    return w.broker.catalog, w.broker.approve(as_(w, "carol"), request.id)


def extension_denied() -> Scene:
    w = wired()
    request = granted(w)
    w.broker.extend(as_(w, "s3-access"), request.id, "30m")
    w.clock.advance(minutes=5)
    return w.broker.catalog, w.broker.deny(as_(w, "carol"), request.id, "finish tomorrow")


def denied() -> Scene:
    w = wired()
    request = ask(w)
    w.clock.advance(minutes=3)
    return w.broker.catalog, w.broker.deny(as_(w, "bob"), request.id, "use the read-only profile")


def denied_without_comment() -> Scene:
    w = wired()
    request = ask(w)
    w.clock.advance(minutes=3)
    return w.broker.catalog, w.broker.deny(as_(w, "carol"), request.id)


def cancelled() -> Scene:
    w = wired()
    request = ask(w)
    w.clock.advance(minutes=2)
    return w.broker.catalog, w.broker.cancel(as_(w, "s3-access"), request.id)


def timed_out() -> Scene:
    w = wired()
    request = ask(w)
    w.clock.advance(hours=1, minutes=1)
    w.broker.sweep()
    return w.broker.catalog, w.store.get(request.id)


def expired() -> Scene:
    w = wired()
    request = granted(w)
    w.clock.advance(hours=1, minutes=1)
    w.broker.sweep()
    return w.broker.catalog, w.store.get(request.id)


def revoked() -> Scene:
    w = wired()
    request = granted(w)
    w.clock.advance(minutes=10)
    return w.broker.catalog, w.broker.revoke(as_(w, "s3-access"), request.id)


def revoked_guard_pending() -> Scene:
    w = wired()
    request = granted(w)
    w.clock.advance(minutes=10)
    w.guards.unreachable = True
    return w.broker.catalog, w.broker.revoke(as_(w, "bob"), request.id)


def failed() -> Scene:
    w = wired()
    w.grants.refuse = "AccessDenied: not allowed to attach"
    return w.broker.catalog, w.broker.approve(as_(w, "bob"), ask(w).id)


def break_glass() -> Scene:
    w = wired(break_glass=True)
    return w.broker.catalog, w.broker.request_access(as_(w, "s3-access"), "s3-prod", "30m",
                                                     "prod is down and nobody can approve now", break_glass=True)


def on_call() -> Scene:
    """Approved by the on-call rota: as the service records it (tests/unit/test_service_auto_approving.py)."""
    catalog, request = active()
    by_rota = (Approval(ON_CALL, request.created_at, "", "P0SCHED1", "PS3ACCESS"),)
    return catalog, dataclasses.replace(request, approvals=by_rota, decided_by=ON_CALL,
                                        decision_comment="on call in P0SCHED1")


def profile_gone() -> Scene:
    """A request whose profile a later catalog no longer has: the message still renders, with the profile's name."""
    _, request = pending()
    empty = parse_catalog({"source_account": "111111111111", "people": fakes.DEMO_PEOPLE, "profiles": {}})
    return empty, request
