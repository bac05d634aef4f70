"""Storage tests run twice: on moto's DynamoDB (the session world) and on DynamoDB Local, AWS's own emulator.

The backend is chosen the way the app chooses it, through the environment (AWS_ENDPOINT_URL_DYNAMODB), and
the `broker` fixture's fresh table and pynamodb connection follow it. IAM stays on moto either way.
DynamoDB Local partitions tables by access key and region: every client here reads the same environment,
so the table the fixture creates is the one pynamodb sees."""
from __future__ import annotations

import os
from typing import Any, Iterator

import boto3
import pytest

from chalicelib.store.models import RequestItem
from tools.dynamodb_local import DynamoDBLocal, emulator_dir, unavailable

BACKENDS = ["moto", pytest.param("ddblocal", marks=pytest.mark.ddblocal)]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test here runs on each backend; a module may narrow that with its own BACKENDS."""
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", getattr(metafunc.module, "BACKENDS", BACKENDS), indirect=True)


@pytest.fixture(scope="session")
def dynamodb_local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DynamoDBLocal]:
    directory = emulator_dir()
    reason = unavailable(directory)
    if reason:
        if os.environ.get("CI", "").lower() == "true":  # CI proves the store on DynamoDB Local: never skip
            pytest.fail(f"CI=true but DynamoDB Local cannot run: {reason}", pytrace=False)
        pytest.skip(reason)
    # Its working directory, because the jar writes dynamodb-local-metadata.json there.
    with DynamoDBLocal.start(directory, workdir=tmp_path_factory.mktemp("dynamodb-local")) as server:
        yield server


@pytest.fixture
def backend(request: pytest.FixtureRequest, world: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """Points DynamoDB clients made from here on (boto3's and pynamodb's) at the parametrised backend."""
    if request.param == "ddblocal":
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", request.getfixturevalue("dynamodb_local").endpoint)
    return str(request.param)


@pytest.fixture
def broker(backend: str, broker: Any) -> Iterator[Any]:  # the root fixture, after `backend` chose the endpoint
    used = RequestItem._get_connection().connection.client.meta.endpoint_url
    expected = os.environ.get("AWS_ENDPOINT_URL_DYNAMODB") or os.environ["AWS_ENDPOINT_URL"]
    assert used == expected, f"pynamodb talks to {used}, not to the {backend} backend at {expected}"
    yield broker
    for policy in broker.grants.owned_policies():  # IAM is one moto world for the session: leave it clean
        broker.grants.remove(policy)


@pytest.fixture
def dynamodb(backend: str, broker: Any) -> Any:
    """A plain boto3 client on the same backend and table, to see what DynamoDB itself answers."""
    return boto3.client("dynamodb")
