"""Shared fixtures: one local AWS world (moto's server, IAM enforced) per test session, a fresh table per test."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
from chalice.test import Client

from chalicelib import bootstrap
from chalicelib.store.schema import create_table
from tests.fakes import Clock
from tools.world import (
    REGION,
    SOURCE_ACCOUNT,
    Emulator,
    Keys,
    aws_client,
    lent_world,
    share_parsed_models,
    start_world,
    write_credentials_file,
)

TABLE = "access-broker-local"  # the local stage's table in .chalice/config.json
CONSOLE_KEY = "test-console-link-key-0123456789abcdef"


def pytest_configure(config: pytest.Config) -> None:
    share_parsed_models()


DEMO_CATALOG = Path(__file__).resolve().parent.parent / "chalicelib" / "catalog" / "demo.yaml"


def demo_catalog(on_call: bool = False) -> dict[str, Any]:
    """The demo catalog as the world's tests use it: without on-call auto-approval (PagerDuty) unless `on_call`,
    like the propagation delay, off wherever it is not the point (tests/oncall turn it on)."""
    import yaml

    doc: dict[str, Any] = yaml.safe_load(DEMO_CATALOG.read_text())
    if not on_call:
        doc.pop("on_call", None)
        for profile in doc["profiles"].values():
            profile.pop("auto_approve", None)
    return doc


@dataclass
class World:
    emulator: Emulator
    keys: dict[str, Keys]
    credentials_file: Path
    catalog_file: Path  # the demo catalog without on-call auto-approval: what the app's Broker loads in tests

    def client(self, service: str, profile: str = "broker") -> Any:
        return aws_client(self.emulator.endpoint, service, self.keys[profile])


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    import yaml

    # make mutate lends each mutant's tests an emulator it started once (tools/mutation_tests.py)
    lent = os.environ.get("ACCESS_BROKER_TEST_WORLD_PORT")
    emulator, keys = lent_world(int(lent)) if lent else start_world()
    credentials = tmp_path_factory.mktemp("aws") / "credentials"
    write_credentials_file(credentials, keys)
    catalog = tmp_path_factory.mktemp("catalog") / "demo-without-on-call.yaml"
    catalog.write_text(yaml.safe_dump(demo_catalog()))
    patch = pytest.MonkeyPatch()
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        patch.delenv(name)
    for name, value in {
        "AWS_ENDPOINT_URL": emulator.endpoint, "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
        "AWS_CONFIG_FILE": str(credentials.parent / "no-config"),
        "AWS_ACCESS_KEY_ID": keys["broker"].access_key_id, "AWS_SECRET_ACCESS_KEY": keys["broker"].secret_access_key,
        "AWS_DEFAULT_REGION": REGION, "ACCESS_BROKER_STAGE": "local", "ACCESS_BROKER_TABLE": TABLE,
        "LOCAL_IAM_PROPAGATION": "0",  # the world's delay (start_world's default), as `make run` tells the broker
        "ACCESS_BROKER_CONSOLE_KEY": CONSOLE_KEY, "ACCESS_BROKER_PUBLIC_URL": "",
        "ACCESS_BROKER_JOB_KEY": "test-worker-job-key-0123456789abcdef",
        "SLACK_API_URL": "http://127.0.0.1:9/api/",  # no test reaches the real Slack (tests/slack use a stub)
    }.items():
        patch.setenv(name, value)
    bootstrap.reset()
    try:
        yield World(emulator, keys, credentials, catalog)
    finally:
        patch.undo()
        bootstrap.reset()
        emulator.stop()


@pytest.fixture(scope="session")
def directory_keys(world: World) -> dict[str, Keys]:
    """The world's directory (tools/world_directory.py: IAM groups and tagged users), seeded once a session: the keys
    of the users it made."""
    from tools.world_directory import seed_directory

    return seed_directory(world.emulator)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(timezone.utc).replace(microsecond=0))


@pytest.fixture
def broker(world: World, clock: Clock):
    """The app's own Broker, wired by bootstrap against a fresh, empty table, on the test's clock, with the demo
    catalog less its on-call auto-approval (tests/oncall turn it on)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("ACCESS_BROKER_CATALOG", str(world.catalog_file))
    ddb = boto3.client("dynamodb")  # from the environment, like the app: tests/storage points it elsewhere
    if TABLE in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName=TABLE)
    create_table(TABLE)
    bootstrap.reset()
    built = bootstrap.broker(clock=clock)
    yield built
    for arn in built.grants.owned_policies():  # the IAM half of the world is shared by the session
        built.grants.remove(arn)
    forget_session_guards(world)
    patch.undo()
    bootstrap.reset()


def forget_session_guards(world: World) -> None:
    """The switch role's session guard is shared by the session too: each test starts with none."""
    from chalicelib.domain.session_guard import POLICY_NAME
    from tools.world import ROLE_NAME

    target = world.client("iam", "target-admin")
    if POLICY_NAME in target.list_role_policies(RoleName=ROLE_NAME)["PolicyNames"]:
        target.delete_role_policy(RoleName=ROLE_NAME, PolicyName=POLICY_NAME)


class Api:
    """The HTTP API through Chalice's test client, as a chosen person (X-Local-Principal)."""

    def __init__(self, client: Client) -> None:
        self.http = client.http

    def call(self, method: str, path: str, as_: str | None = None, body: Any = None,
             headers: dict[str, str] | None = None) -> Any:
        sent = {"Content-Type": "application/json", **(headers or {})}
        if as_:
            sent["X-Local-Principal"] = as_ if as_.startswith("arn:") else f"arn:aws:iam::{SOURCE_ACCOUNT}:user/{as_}"
        raw = body if isinstance(body, (str, bytes)) or body is None else json.dumps(body)
        response = getattr(self.http, method.lower())(path, headers=sent, body=raw)
        response.json = json.loads(response.body) if response.body and response.headers.get(
            "Content-Type", "").endswith(("/json", "+json")) else None
        return response

    def get(self, path: str, as_: str | None = None, **kw: Any) -> Any:
        return self.call("GET", path, as_, **kw)

    def post(self, path: str, as_: str | None = None, body: Any = None, **kw: Any) -> Any:
        return self.call("POST", path, as_, body if body is not None else {}, **kw)

    def create(self, as_: str = "s3-access", profile: str = "s3-prod", duration: str | None = "1h",
               reason: str = "fixing the export job") -> dict:
        body = {"profile": profile, "reason": reason, **({"duration": duration} if duration else {})}
        response = self.post("/v1/requests", as_, body)
        assert response.status_code == 201, response.body
        return response.json


@pytest.fixture
def api(broker) -> Api:
    import app

    with Client(app.app, stage_name="local", project_dir=str(Path(__file__).resolve().parent.parent)) as client:
        yield Api(client)


@pytest.fixture
def catalog_file(tmp_path: Path, broker, clock):
    """Returns `use(change)`: rewires the app with the demo catalog (on-call auto-approval with `on_call=True`)
    changed by `change(doc)`."""
    import yaml

    before = os.environ.get("ACCESS_BROKER_CATALOG")

    def use(change, notifier=None, on_call: bool = False) -> Any:
        doc = demo_catalog(on_call)
        change(doc)
        path = tmp_path / "catalog.yaml"
        path.write_text(yaml.safe_dump(doc))
        os.environ["ACCESS_BROKER_CATALOG"] = str(path)
        bootstrap.reset()
        return bootstrap.broker(clock=clock, notifier=notifier)

    yield use
    if before is None:
        os.environ.pop("ACCESS_BROKER_CATALOG", None)
    else:
        os.environ["ACCESS_BROKER_CATALOG"] = before
    bootstrap.reset()


@pytest.fixture(scope="session")
def iam_simulator():
    """tools.iam_evaluator.evaluate, a real IAM policy evaluator; fails (never skips) when it is not installed."""
    from tools import iam_evaluator

    try:
        iam_evaluator.ensure_available()
    except iam_evaluator.EvaluatorMissing as missing:
        pytest.fail(str(missing))
    return iam_evaluator.evaluate
