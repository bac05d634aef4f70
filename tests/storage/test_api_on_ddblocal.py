"""The HTTP lifecycle and race tests of tests/api, run again with the store on DynamoDB Local (tests/api
runs them on moto). The functions are imported, not copied: one test, two backends."""
from __future__ import annotations

import pytest

from tests.api.test_concurrency import *  # noqa: F403
from tests.api.test_lifecycle import *  # noqa: F403

BACKENDS = [pytest.param("ddblocal", marks=pytest.mark.ddblocal)]


@pytest.fixture(autouse=True)
def _on_the_parametrised_backend(backend: str) -> None:
    """The imported tests ask for `api` or `broker`, not `backend`: make every one of them take it."""
