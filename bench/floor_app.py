"""The floor for cold start: a bare Chalice app with one route that imports boto3 and does one PutItem."""
import os
import uuid

import boto3
from chalice import Chalice

app = Chalice(app_name="floor")
_client = None


@app.route("/put", methods=["POST"])
def put() -> dict:
    global _client
    if _client is None:
        _client = boto3.client("dynamodb")
    _client.put_item(TableName=os.environ["ACCESS_BROKER_TABLE"],
                     Item={"pk": {"S": f"FLOOR#{uuid.uuid4()}"}, "sk": {"S": "FLOOR"}})
    return {"ok": True}
