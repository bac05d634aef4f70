"""The fast unit tier (`make unit`): every test here is marked `unit` and runs without the local AWS world. A test that
asks for the world (or the app's Broker on it) fails at once: it belongs in another directory."""
from __future__ import annotations

import pytest

WORLD_FIXTURES = {"world", "api", "broker", "catalog_file", "iam_simulator", "slack"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(__file__.rsplit("/", 1)[0]):
            item.add_marker(pytest.mark.unit)


@pytest.fixture(autouse=True)
def _without_the_world(request: pytest.FixtureRequest) -> None:
    wanted = WORLD_FIXTURES & set(request.fixturenames)
    if wanted:
        pytest.fail(f"{request.node.nodeid} uses {', '.join(sorted(wanted))}: the unit tier runs without the local "
                    f"AWS world; use tests/fakes.py, or move the test out of tests/unit", pytrace=False)
