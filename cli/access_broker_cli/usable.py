"""Whether an active grant works yet. IAM is eventually consistent: a policy attached a moment ago may not let
`sts:AssumeRole` through for some seconds (usually a few, rarely up to a minute). So `request --wait` and
`aws-profile` return only once the caller's own credentials have assumed the granted role, under the session name the
role requires, trying again with a short backoff until STS says yes or the bound passes. The session STS hands back is
dropped at once: never printed, never kept."""
from __future__ import annotations

import time
from typing import Any, Callable, Optional, TextIO

from access_broker_cli.durations import human
from access_broker_cli.errors import NotActive, Refused
from access_broker_cli.wait import Progress

FIRST_DELAY_S = 0.5
BACKOFF = 1.5
# A try every 1.5 s at most keeps the wait beyond the moment the grant works under 2 s (docs/performance.md), at
# some 80 AssumeRole calls in the worst case, far below STS's request quota.
MAX_DELAY_S = 1.5
DEFAULT_BOUND_S = 120
SESSION_S = 900  # the shortest session STS issues: the least to drop
NOT_YET = ("AccessDenied", "AccessDeniedException", "Throttling", "ThrottlingException")

Attempt = Callable[[], Optional[str]]  # None once the role was assumed, else what STS said


def assume_attempt(session: Any, role_arn: str, session_name: str) -> Attempt:
    """One `sts:AssumeRole` of `role_arn` as `session_name` with botocore `session`'s credentials (those the CLI
    signs with). A refusal IAM may lift later (AccessDenied, throttling, STS out of reach) is returned; anything else
    (credentials STS does not know, a bad argument) is Refused at once, as waiting would not change it."""
    from botocore.exceptions import BotoCoreError, ClientError

    sts = session.create_client("sts", region_name=session.get_config_variable("region") or "us-east-1")

    def attempt() -> Optional[str]:
        try:
            sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=SESSION_S)
        except ClientError as exc:
            error = exc.response.get("Error") or {}
            said = f"{error.get('Code')}: {error.get('Message')}"
            if error.get("Code") not in NOT_YET:
                raise Refused(f"STS refused to let {session_name} assume {role_arn}, and waiting will not help: "
                              f"{said}") from None
            return said
        except BotoCoreError as exc:
            return f"STS could not be reached: {exc}"
        return None  # the credentials STS answered with are not kept anywhere

    return attempt


def until_usable(attempt: Attempt, role_arn: str, session_name: str, bound_s: float, out: TextIO,
                 now: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> float:
    """Seconds until `attempt` assumed the role; NotActive, saying what STS said last, once `bound_s` has passed."""
    role = role_arn.rsplit("/", 1)[-1]
    progress = Progress(out)
    start, delay = now(), FIRST_DELAY_S
    try:
        while True:
            refused = attempt()
            elapsed = now() - start
            if refused is None:
                progress.show(f"{role} usable after {elapsed:.1f} s", elapsed)
                return elapsed
            line = f"{role} not usable yet: STS refuses {session_name} ({refused.split(':', 1)[0]}); trying again"
            progress.show(line, elapsed)
            if elapsed >= bound_s:
                raise NotActive(f"your credentials still cannot assume {role_arn} as {session_name} after "
                                f"{human(bound_s)} ({refused}); IAM may still be catching up, so try again in a "
                                "minute, or the role does not let you in: ask its owner")
            wake = min(now() + delay, start + bound_s)
            delay = min(delay * BACKOFF, MAX_DELAY_S)
            while now() < wake:
                sleep(min(1.0, wake - now()))
                progress.show(line, now() - start)
    finally:
        progress.done()
