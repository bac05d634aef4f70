"""The PagerDuty stand-in as a test file's fixtures: one started per file, emptied for each test with P0SCHED1 and
P0SCHED2 on call. Import both names into the test file (`from tests.pagerduty_stand_in import running, stub`)."""
from __future__ import annotations

from typing import Iterator

import pytest

from tools.pagerduty_stub import PagerDutyStub


@pytest.fixture(scope="module")
def running() -> Iterator[PagerDutyStub]:
    stub = PagerDutyStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def stub(running: PagerDutyStub) -> PagerDutyStub:
    running.reset()
    running.set_on_call("P0SCHED1")
    running.set_on_call("P0SCHED2")
    return running
