"""The Slack Web API stand-in as a test file's fixtures: one started per file, emptied for each test. Import both
names into the test file (`from tests.slack_stand_in import started, stub`)."""
from __future__ import annotations

from typing import Iterator

import pytest

from tools.slack_stub import SlackStub


@pytest.fixture(scope="module")
def started() -> Iterator[SlackStub]:
    stub = SlackStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def stub(started: SlackStub) -> SlackStub:
    started.reset()
    return started
