"""The local AWS world for the benchmarks: moto's server (IAM enforced), the environment `make run` uses,
a fresh table, and the app's own Broker wired by bootstrap."""
from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

from chalicelib import bootstrap
from chalicelib.store.schema import create_table
from tools.run_local import _environment
from tools.world import BROKER_PROFILE, start_world

TABLE = "access-broker-bench"


@contextmanager
def local_world() -> Iterator[dict[str, str]]:
    """Starts the world and points this process at it; yields the environment a child process needs."""
    emulator, keys = start_world()
    saved = dict(os.environ)
    try:
        for name in [n for n in os.environ if n.startswith("AWS_")]:
            del os.environ[name]
        env = _environment(emulator.endpoint, keys[BROKER_PROFILE], port=0)
        env.update(ACCESS_BROKER_TABLE=TABLE, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        os.environ.update(env)
        bootstrap.reset()
        yield env
    finally:
        os.environ.clear()
        os.environ.update(saved)
        bootstrap.reset()
        emulator.stop()


def fresh_broker(table: str = TABLE) -> Any:
    """An empty table and the app's Broker on it (real clock)."""
    import boto3

    ddb = boto3.client("dynamodb")
    if table in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName=table)
    os.environ["ACCESS_BROKER_TABLE"] = table
    create_table(table)
    bootstrap.reset()
    return bootstrap.broker()
