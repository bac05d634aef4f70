"""A revoke tells the truth under IAM's delay (issue 23, point 5): with the world's propagation model on, the revoke's
deny does not stop a session at once, and the request never claims otherwise: `sessions.end_by` is when the model
has put the cut in force (the delay plus the broker's margin), the session still works before it and not after."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import bootstrap
from tests.expiry.conftest import People
from tests.expiry.test_open_sessions import open_session, works

DELAY_S = 5


@pytest.fixture
def slow_world(world, broker, clock, monkeypatch):
    """The world applies IAM changes DELAY_S late, and the broker counts on that (as `make run` sets it up)."""
    monkeypatch.setenv("LOCAL_IAM_PROPAGATION", str(DELAY_S))
    bootstrap.reset()
    slow = bootstrap.broker(clock=clock)
    world.emulator.set_propagation(DELAY_S)
    try:
        yield People(slow)
    finally:
        world.emulator.set_propagation(0)
        world.emulator.set_clock_offset(0)


def test_a_revoke_says_sessions_end_once_its_cut_is_in_force_and_not_before(world, slow_world, clock) -> None:
    grant = slow_world.grant()
    world.emulator.set_clock_offset(DELAY_S + 1)  # the grant itself is in force
    session = open_session(world, "s3-access")
    assert works(session)
    world.emulator.set_clock_offset(0)
    clock.now = datetime.now(timezone.utc)  # the revoke happens now, as the world counts time too
    revoked = slow_world.broker.revoke(slow_world.caller("s3-access"), grant.id)

    assert revoked.sessions_end_by == revoked.ended_at + timedelta(seconds=DELAY_S + 1)
    world.emulator.set_clock_offset(DELAY_S - 2)
    assert works(session), "before the deny is in force the session still works: end_by does not say it ended"
    world.emulator.set_clock_offset(DELAY_S + 1)
    assert not works(session), "by end_by the session is cut"
