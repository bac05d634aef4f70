"""A role's MaxSessionDuration, enforced inside the local world's moto server as STS does.

moto 5.2.5 issues whatever DurationSeconds is asked for (a 7200 s session of a role whose MaxSessionDuration is
3600, FACTS.md). STS refuses it: `ValidationError` (HTTP 400), "The requested DurationSeconds exceeds the
MaxSessionDuration set for this role." Patched point (`install`): `moto.sts.models.STSBackend.assume_role` checks
the role, read in its own account, before issuing; a role moto does not know (enforcement off) is left to moto.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

TOO_LONG = "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
DEFAULT_MAX_SESSION_S = 3600  # IAM's default for a role created without MaxSessionDuration


def max_session_duration(role_arn: str, partition: str) -> int | None:
    """The role's MaxSessionDuration in seconds, or None when the world has no such role."""
    from tools.moto_conditions import role_by_arn

    role = role_by_arn(role_arn, partition)
    return None if role is None else int(role.max_session_duration or DEFAULT_MAX_SESSION_S)


def _capped(assume_role: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(assume_role)
    def assume(self: Any, *args: Any, **kwargs: Any) -> Any:
        from moto.sts.exceptions import STSValidationError
        from moto.utilities.utils import get_partition

        role_arn, duration = kwargs.get("role_arn"), kwargs.get("duration")
        limit = max_session_duration(str(role_arn), get_partition(kwargs.get("region_name") or self.region_name))
        if limit is not None and duration is not None and int(duration) > limit:
            raise STSValidationError(TOO_LONG)
        return assume_role(self, *args, **kwargs)

    return assume


def install() -> None:
    from moto.sts.models import STSBackend

    STSBackend.assume_role = _capped(STSBackend.assume_role)  # type: ignore[method-assign]
