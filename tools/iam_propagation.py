"""IAM's propagation delay in the local world: a policy change takes effect for authorization `delay` seconds late.

On AWS a policy attached now lets `sts:AssumeRole` through only some seconds later, and a Deny written now does not
stop a session at once (FACTS.md, CONTRACT.md "When a grant becomes usable"); moto is instantly consistent. Inside
the world's moto server (tools/moto_conditions.py installs this), every principal's identity policies keep a
timeline: each change to a user's or role's policies (attached or detached managed policies, inline policies put or
deleted, a managed policy's default version changed, group membership) is stamped with the world clock, and an
enforced request is authorized against the principal's policies as they were `delay` seconds ago.

What stays immediate, as the broker needs nothing else: IAM's own reads (GetPolicy, ListAttachedUserPolicies,
GetRolePolicy read the backend as it is now: read-your-own-writes), trust policies, role deletion, and everything
when the delay is 0 (the default; `make run` sets LOCAL_IAM_PROPAGATION).

Patched points (`install`): each IAM backend method that changes policies records the policies of every user and
role of its account before and after the call. `identity_policies(access_key)` is what an enforced request is
evaluated against. `POST /_world/propagation` with `{"seconds": N}` sets the delay (GET shows it; the route is
tools/moto_conditions.py's, beside the clock's); a reset sets 0 and forgets the timeline.
"""

from __future__ import annotations

import functools
import json
import math
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

PROPAGATION_PATH = "/_world/propagation"
PrincipalKey = tuple[str, str, str, str]  # (account, partition, "user" | "role", name)
Documents = tuple[str, ...]  # the principal's policy documents, canonical JSON, sorted
_ALWAYS = datetime.min.replace(tzinfo=timezone.utc)  # a state seen before any change was recorded

# IAMBackend methods that change which policies apply to a user or a role.
CHANGING_METHODS = (
    "attach_user_policy", "detach_user_policy", "put_user_policy", "delete_user_policy",
    "attach_role_policy", "detach_role_policy", "put_role_policy", "delete_role_policy",
    "attach_group_policy", "detach_group_policy", "put_group_policy", "delete_group_policy",
    "add_user_to_group", "remove_user_from_group",
    "create_policy_version", "delete_policy_version", "set_default_policy_version",
)


def parse_delay(text: str, name: str = "LOCAL_IAM_PROPAGATION") -> float:
    """A delay in seconds from text ("5", "1.5", "0"); ValueError naming `name` for anything else."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{name}={text!r} is not a number of seconds (0 or more, e.g. 5 or 1.5; 0 turns it off)")
    return seconds


class Timeline:
    """Each principal's policy documents over time, and which of them were in force at a moment."""

    def __init__(self) -> None:
        self.delay = timedelta(0)
        self._states: dict[PrincipalKey, list[tuple[datetime, Documents]]] = {}
        self._lock = threading.Lock()

    def set_delay(self, seconds: float, now: datetime) -> None:
        """From `now` on, changes take `seconds` to take effect. What was in force under the old delay stays in
        force (a delay raised later must not bring back a grant already removed); what was pending stays pending,
        for the new delay from when it was made."""
        with self._lock:
            for states in self._states.values():
                _prune(states, now - self.delay)
            self.delay = timedelta(seconds=seconds)

    def forget(self) -> None:
        with self._lock:
            self._states.clear()

    def observe(self, key: PrincipalKey, documents: Documents, now: datetime) -> None:
        """Records `documents` as the principal's policies from `now` on, if they changed; the first state seen of a
        principal counts as always having been."""
        with self._lock:
            self._observe(key, documents, now)

    def in_force(self, key: PrincipalKey, documents: Documents, now: datetime) -> Documents:
        """The principal's policies that authorize a request at `now`, its policies being `documents` now."""
        with self._lock:
            self._observe(key, documents, now)
            moment = now - self.delay
            in_force = self._states[key][0][1]
            for since, state in self._states[key]:
                if since > moment:
                    break
                in_force = state
            return in_force

    def clock_moved(self, now: datetime) -> None:
        """After the world clock moved back, changes stamped in its future are stamped `now`: still pending for
        `delay`, not for however far the clock went back."""
        with self._lock:
            for key, states in self._states.items():
                self._states[key] = [(min(since, now), state) for since, state in states]

    def _observe(self, key: PrincipalKey, documents: Documents, now: datetime) -> None:
        states = self._states.setdefault(key, [(_ALWAYS, documents)])
        if states[-1][1] != documents:
            states.append((now, documents))
        _prune(states, now - self.delay)


def _prune(states: list[tuple[datetime, Documents]], horizon: datetime) -> None:
    """The newest state already in force at `horizon` is the oldest one still needed: it now counts as always."""
    while len(states) > 1 and states[1][0] <= horizon:
        states.pop(0)


TIMELINE = Timeline()

# -------------------------------------------------------------------------------- moto, inside the child


def _canonical(policies: list[Any]) -> Documents:
    from moto.iam.access_control import IAMPolicy

    return tuple(sorted(json.dumps(IAMPolicy(policy)._policy_json, sort_keys=True) for policy in policies))


def _policies_of(backend: Any, kind: str, name: str) -> Documents:
    """moto's own collection of a user's or role's identity policies (what its enforcement reads)."""
    from moto.iam.access_control import AssumedRoleAccessKey, IAMUserAccessKey

    if kind == "user":
        return _canonical(IAMUserAccessKey.collect_policies(SimpleNamespace(backend=backend, _owner_user_name=name)))
    return _canonical(AssumedRoleAccessKey.collect_policies(SimpleNamespace(backend=backend, _owner_role_name=name)))


def _observe_account(backend: Any, now: datetime) -> None:
    for user in list(backend.users.values()):
        key = (backend.account_id, backend.partition, "user", user.name)
        TIMELINE.observe(key, _policies_of(backend, "user", user.name), now)
    for role in list(backend.roles.values()):
        key = (backend.account_id, backend.partition, "role", role.name)
        TIMELINE.observe(key, _policies_of(backend, "role", role.name), now)


def identity_policies(access_key: Any, now: datetime) -> list[dict[str, Any]]:
    """The identity policies an enforced request of `access_key` (moto's IAMUserAccessKey or AssumedRoleAccessKey)
    is authorized against at `now`: its principal's policies as they were `delay` ago."""
    role = getattr(access_key, "_owner_role_name", None)
    kind, name = ("role", role) if role is not None else ("user", access_key._owner_user_name)
    key = (access_key.account_id, access_key.partition, kind, name)
    in_force = TIMELINE.in_force(key, _policies_of(access_key.backend, kind, name), now)
    return [json.loads(document) for document in in_force]


def _recording(method: Callable[..., Any], clock: Callable[[], datetime]) -> Callable[..., Any]:
    @functools.wraps(method)
    def changed(self: Any, *args: Any, **kwargs: Any) -> Any:
        _observe_account(self, clock())  # a change made some other way counts from now
        try:
            return method(self, *args, **kwargs)
        finally:
            _observe_account(self, clock())

    return changed


def reset() -> None:
    TIMELINE.forget()
    TIMELINE.set_delay(0, datetime.now(timezone.utc))


def install(clock: Callable[[], datetime]) -> None:
    """Makes every policy-changing IAM backend method record the change on `clock` (the world clock)."""
    from moto.iam.models import IAMBackend

    for name in CHANGING_METHODS:
        setattr(IAMBackend, name, _recording(getattr(IAMBackend, name), clock))
