"""The app served over HTTP (tools/local_server.py, as `make run` serves it) for the tests that need a real server:
a browser, or the gateway's own answers that chalice's test client does not go through. Import `served` into a
test module to use it."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import boto3
import pytest

from tests.conftest import TABLE, forget_session_guards
from tools.local_server import serving


@contextmanager
def serving_catalog(catalog: Path) -> Iterator[str]:
    """The app on chalice's local server with `catalog`, over an empty table; the grants it made are removed after,
    as the IAM half of the world is shared by the session."""
    from chalicelib import bootstrap

    ddb = boto3.client("dynamodb")
    if TABLE in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName=TABLE)  # requests other test modules left behind
    patch = pytest.MonkeyPatch()
    patch.setenv("ACCESS_BROKER_CATALOG", str(catalog))
    try:
        with serving(quiet=True) as url:
            yield url
            grants = bootstrap.broker().grants
            for arn in grants.owned_policies():
                grants.remove(arn)
    finally:
        patch.undo()


@pytest.fixture(scope="module")
def served(world) -> Iterator[str]:
    """The base URL of the app on chalice's local server (SigV4 checked, X-Local-Principal on unsigned calls), an
    empty table, the demo catalog, the real clock."""
    with serving_catalog(world.catalog_file) as url:
        yield url
    forget_session_guards(world)
