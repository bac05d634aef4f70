"""The table definition obeys DynamoDB's naming rules (moto does not check them; DynamoDB Local and AWS do),
and each backend builds the same table from it: keys, indexes and the TTL on idempotency claims."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib.settings import Settings
from chalicelib.store.models import DEFAULT_TABLE, MODELS
from chalicelib.store.schema import create_table, table_definition
from tests.conftest import TABLE

CHALICE_CONFIG = Path(__file__).resolve().parents[2] / ".chalice" / "config.json"
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")


def stage_tables() -> list[str]:
    stages = json.loads(CHALICE_CONFIG.read_text())["stages"].values()
    return sorted({s["environment_variables"]["ACCESS_BROKER_TABLE"] for s in stages})


def every_table_name() -> list[str]:
    return sorted({*stage_tables(), DEFAULT_TABLE, Settings.from_env({}).table_name})


@pytest.mark.parametrize("table", every_table_name())
def test_table_and_index_names_follow_dynamodb_rules(table: str) -> None:
    definition = table_definition(table)
    indexes = [i["IndexName"] for i in definition["GlobalSecondaryIndexes"]]
    assert NAME.fullmatch(table), f"table name {table!r}: 3-255 of A-Z a-z 0-9 _ . -"
    assert all(NAME.fullmatch(i) for i in indexes), indexes
    assert len(set(indexes)) == len(indexes)
    keys = {a["AttributeName"] for a in definition["AttributeDefinitions"]}
    assert all(1 <= len(k.encode()) <= 255 for k in keys), keys


def test_models_use_the_indexes_the_table_defines() -> None:
    """A query on an index the table lacks fails only at run time, on a real table."""
    definition = table_definition(DEFAULT_TABLE)
    types = {a["AttributeName"]: a["AttributeType"] for a in definition["AttributeDefinitions"]}
    defined = {i["IndexName"]: sorted((k["AttributeName"], k["KeyType"], types[k["AttributeName"]])
                                      for k in i["KeySchema"]) for i in definition["GlobalSecondaryIndexes"]}
    used = {}
    for model in MODELS:
        for index in model._indexes.values():
            schema = index._get_schema()
            model_types = {a["AttributeName"]: a["AttributeType"] for a in schema["attribute_definitions"]}
            used[schema["index_name"]] = sorted((k["AttributeName"], k["KeyType"], model_types[k["AttributeName"]])
                                                for k in schema["key_schema"])
    assert used == defined


def test_every_index_holds_whole_items() -> None:
    """The audit and the sweeps read whole items from the indexes: an index of keys only would hand them back empty
    on a real table (moto and DynamoDB Local answer whole items whatever the projection says)."""
    for index in table_definition(DEFAULT_TABLE)["GlobalSecondaryIndexes"]:
        assert index["Projection"] == {"ProjectionType": "ALL"}, index["IndexName"]


@pytest.mark.parametrize("table", stage_tables())
def test_each_backend_builds_the_stage_tables(dynamodb: Any, table: str) -> None:
    if table in dynamodb.list_tables()["TableNames"]:  # the broker fixture's table: build it from nothing
        dynamodb.delete_table(TableName=table)
    try:
        create_table(table)
        create_table(table)  # `make run` and deploys call it again: a table that exists is left as it is
        described = dynamodb.describe_table(TableName=table)["Table"]
        ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    finally:
        if table != TABLE:
            dynamodb.delete_table(TableName=table)
    expected = table_definition(table)

    assert described["KeySchema"] == expected["KeySchema"]
    assert sorted(described["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == \
        expected["AttributeDefinitions"]
    assert {i["IndexName"]: i["KeySchema"] for i in described["GlobalSecondaryIndexes"]} == \
        {i["IndexName"]: i["KeySchema"] for i in expected["GlobalSecondaryIndexes"]}
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires")
