"""The table's CreateTable definition: one source for `make run`, the tests and the deploy template."""
from __future__ import annotations

from typing import Any

TTL_ATTRIBUTE = "expires"  # DynamoDB removes items past this epoch second (idempotency claims)
_INDEXES = {"by-requester": ("requester", "created_at"), "by-state": ("state", "created_at"),
            "due": ("due_state", "due_at"), "audit": ("audit_day", "audit_key"),
            "audit-by-profile": ("audit_profile_day", "audit_key")}


def table_definition(table_name: str) -> dict[str, Any]:
    attributes = {"pk", "sk"} | {name for pair in _INDEXES.values() for name in pair}
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        "GlobalSecondaryIndexes": [
            {"IndexName": name, "Projection": {"ProjectionType": "ALL"},
             "KeySchema": [{"AttributeName": h, "KeyType": "HASH"}, {"AttributeName": r, "KeyType": "RANGE"}]}
            for name, (h, r) in _INDEXES.items()
        ],
    }


def create_table(table_name: str) -> None:
    """Creates the table (and its TTL) if it does not exist, and waits until it is usable."""
    import boto3

    client = boto3.client("dynamodb")
    try:
        client.create_table(**table_definition(table_name))
    except client.exceptions.ResourceInUseException:
        return
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 150})
    client.update_time_to_live(TableName=table_name,
                               TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE})
