"""The app's AWS clients load slimmed service models (chalicelib/aws/clients.py): a cold start parses a few KB
instead of 1.7 MB of JSON. These tests keep the slimmed files true to the pinned botocore and make sure no
client of the app, pynamodb's included, falls back to a full model."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib.aws import clients
from chalicelib.store.models import MODELS
from tools import slim_models


def test_the_slimmed_models_are_what_the_installed_botocore_gives() -> None:
    stale = slim_models.differences()
    assert not stale, f"chalicelib/aws/models/ is out of date ({', '.join(stale)}): run `make models` and commit"


def test_each_app_client_knows_exactly_the_operations_listed(broker: Any) -> None:
    for service, operations in clients.OPERATIONS.items():
        assert clients.client(service).meta.service_model.operation_names == sorted(operations), service


def test_pynamodb_talks_through_the_slimmed_dynamodb_model(broker: Any) -> None:
    for model in MODELS:
        names = model._get_connection().connection.client.meta.service_model.operation_names
        assert names == sorted(clients.OPERATIONS["dynamodb"]), model.__name__


def test_a_client_for_a_service_without_a_slimmed_model_is_refused() -> None:
    with pytest.raises(ValueError, match="add its operations to OPERATIONS and run make models"):
        clients.client("s3")
