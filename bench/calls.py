"""Counts the AWS calls a piece of code makes, by service and operation, with botocore's event hooks.

The broker's clients (IAM, SSM, Lambda, and pynamodb's DynamoDB client) all come from this thread's botocore
session in chalicelib/aws/clients.py. Hooks go on every client the broker already holds and on that
session, so a client created while counting is counted too. DynamoDB reads are counted in items
(ScannedCount of a Query or Scan, one per GetItem hit), which is what a read costs."""
from __future__ import annotations

import itertools
from collections import Counter
from typing import Any, Iterable

from chalicelib.aws import clients as aws_clients
from chalicelib.store.models import MODELS

_ids = itertools.count()


class AwsCalls:
    """`with AwsCalls(broker) as calls: ...` then `calls.by_service()` or `calls.operations`."""

    def __init__(self, broker: Any = None, clients: Iterable[Any] = ()) -> None:
        self.operations: Counter[str] = Counter()  # "dynamodb:TransactWriteItems" -> 3
        self.items_read = 0
        self._uid = f"bench-aws-calls-{next(_ids)}"
        self._clients = list(clients) + (broker_clients(broker) if broker is not None else [])
        self._emitters = [c.meta.events for c in self._clients]
        self._emitters.append(aws_clients.session().get_component("event_emitter"))
        self._on = False

    def __enter__(self) -> AwsCalls:
        self._on = True
        for emitter in self._emitters:  # one unique_id: a client copied from a hooked session counts once
            emitter.register("before-call.*.*", self._before, unique_id=self._uid + "-before")
            emitter.register("after-call.*.*", self._after, unique_id=self._uid + "-after")
        return self

    def __exit__(self, *exc: object) -> None:
        self._on = False  # clients created from the session meanwhile keep a copy of the hook: it goes quiet
        for emitter in self._emitters:
            emitter.unregister("before-call.*.*", self._before, unique_id=self._uid + "-before")
            emitter.unregister("after-call.*.*", self._after, unique_id=self._uid + "-after")

    def by_service(self) -> dict[str, int]:
        return by_service(self.operations)

    def reset(self) -> None:
        self.operations.clear()
        self.items_read = 0

    def _before(self, model: Any, **_: Any) -> None:
        if self._on:
            self.operations[f"{model.service_model.service_name}:{model.name}"] += 1

    def _after(self, model: Any, parsed: dict, **_: Any) -> None:
        if not self._on or model.service_model.service_name != "dynamodb":
            return
        if "ScannedCount" in parsed:
            self.items_read += int(parsed["ScannedCount"])
        elif model.name == "GetItem":
            self.items_read += 1 if parsed.get("Item") else 0
        elif model.name in ("BatchGetItem", "TransactGetItems"):
            found = parsed.get("Responses") or []
            self.items_read += sum(len(v) for v in found.values()) if isinstance(found, dict) else len(found)


def by_service(operations: dict[str, int]) -> dict[str, int]:
    """{"dynamodb:GetItem": 1, "dynamodb:TransactWriteItems": 2} -> {"dynamodb": 3}"""
    totals: Counter[str] = Counter()
    for operation, n in operations.items():
        totals[operation.split(":")[0]] += n
    return dict(sorted(totals.items()))


def broker_clients(broker: Any) -> list[Any]:
    """The botocore clients a Broker talks through: its IAM client, each pynamodb model's client, and the session
    guard's STS client and per-account IAM clients made so far."""
    clients = [broker.grants.iam, *(broker.sessions.iam.clients() if broker.sessions else [])]
    for model in MODELS:
        client = model._get_connection().connection.client
        if all(client is not c for c in clients):
            clients.append(client)
    return clients
