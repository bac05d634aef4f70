"""What the storage tests share: callers by name, and what IAM and the event log say about a request."""
from __future__ import annotations

from typing import Any

from tools.world import SOURCE_ACCOUNT


def as_person(broker: Any, name: str) -> Any:
    return broker.caller_from_arn(f"arn:aws:iam::{SOURCE_ACCOUNT}:user/{name}")


def grant_policies(world: Any, user: str = "s3-access") -> list[str]:
    """The access-broker policies attached to `user` in IAM: what the person can actually use."""
    attached = world.client("iam").list_attached_user_policies(UserName=user, PathPrefix="/access-broker/")
    return [p["PolicyArn"] for p in attached["AttachedPolicies"]]


def kinds(broker: Any, request_id: str) -> list[str]:
    return [e.kind for e in broker.repo.events(request_id)]
