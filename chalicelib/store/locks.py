"""Leases in the table, for the one write AWS offers no condition for: an IAM policy document (the session guard,
read, changed and written whole). Taking a lease is a conditional put (nobody holds it, or their lease ran out);
giving it back is a conditional put by its holder. A holder that dies leaves a lease that runs out by itself."""
from __future__ import annotations

import contextlib
import secrets
import time
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

from pynamodb.exceptions import PutError

from chalicelib.store.models import LockItem

LEASE = timedelta(seconds=30)  # far longer than a GetRolePolicy + PutRolePolicy
WAIT = timedelta(seconds=10)  # how long to wait for a busy lease before giving up (the caller retries later)
FIRST_WAIT_S, LONGEST_WAIT_S = 0.05, 1.0


class Busy(Exception):
    """Someone else held the lease for longer than we may wait."""


class Leases:
    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.clock, self.sleep = clock, sleep

    @contextlib.contextmanager
    def held(self, name: str) -> Iterator[None]:
        """Runs the block while holding the lease `name`; raises Busy if it cannot be had within WAIT."""
        token, pk = secrets.token_hex(8), f"LOCK#{name}"
        self._take(pk, token)
        try:
            yield
        finally:
            self._give_back(pk, token)

    def _take(self, pk: str, token: str) -> None:
        """Tries, waiting FIRST_WAIT_S, then twice as long each time up to LONGEST_WAIT_S, until WAIT in all has been
        slept (counted through `sleep`, so that tests travel instead of waiting)."""
        waited, wait = 0.0, FIRST_WAIT_S
        while True:
            now = self.clock()
            try:
                LockItem(pk, "LOCK", owner=token, expires=int((now + LEASE).timestamp())).save(
                    condition=LockItem.pk.does_not_exist() | (LockItem.expires < int(now.timestamp())))
                return
            except PutError as exc:
                if exc.cause_response_code != "ConditionalCheckFailedException":
                    raise
            if waited >= WAIT.total_seconds():
                raise Busy(f"{pk.removeprefix('LOCK#')} is being changed by another run; retrying later")
            self.sleep(wait)
            waited, wait = waited + wait, min(wait * 2, LONGEST_WAIT_S)

    def _give_back(self, pk: str, token: str) -> None:
        with contextlib.suppress(PutError):  # not ours any more (it ran out and was taken): nothing to give back
            LockItem(pk, "LOCK", owner="", expires=0).save(condition=LockItem.owner == token)
