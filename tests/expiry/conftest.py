"""Fixtures for expiry tests: a clean IAM path, people acting through the Broker, a notifier that records."""
from __future__ import annotations

from typing import Any

import pytest

from chalicelib import bootstrap
from chalicelib.aws.iam_grants import POLICY_PATH
from chalicelib.domain.requests import AccessRequest
from tests.fakes import Recorder
from tools.fault_proxy import FaultProxy
from tools.world import SOURCE_ACCOUNT


class People:
    """People of the demo catalog acting through the Broker (the HTTP layer is tested elsewhere)."""

    def __init__(self, broker: Any) -> None:
        self.broker = broker

    def caller(self, person: str) -> Any:
        return self.broker.caller_from_arn(f"arn:aws:iam::{SOURCE_ACCOUNT}:user/{person}")

    def ask(self, profile: str = "s3-prod", duration: str = "1h", who: str = "s3-access") -> AccessRequest:
        return self.broker.request_access(self.caller(who), profile, duration, "fixing the export job")

    def grant(self, profile: str = "s3-prod", duration: str = "1h", who: str = "s3-access") -> AccessRequest:
        granted = self.broker.approve(self.caller("bob"), self.ask(profile, duration, who).id)
        assert granted.state.value == "active", granted
        return granted

    def kinds(self, request_id: str) -> list[str]:
        return [e.kind for e in self.broker.repo.events(request_id)]


class Iam:
    """IAM in the source account, read with the broker's own keys."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def policies(self) -> list[str]:
        """Every policy under the broker's path."""
        pages = self.client.get_paginator("list_policies").paginate(Scope="Local", PathPrefix=POLICY_PATH)
        return [p["Arn"] for page in pages for p in page["Policies"]]

    def attached(self, user: str = "s3-access") -> list[str]:
        return [p["PolicyArn"] for p in self.client.list_attached_user_policies(UserName=user)["AttachedPolicies"]]

    def document(self, policy_arn: str) -> dict:
        version = self.client.get_policy(PolicyArn=policy_arn)["Policy"]["DefaultVersionId"]
        return self.client.get_policy_version(PolicyArn=policy_arn, VersionId=version)["PolicyVersion"]["Document"]

    def clear(self) -> None:
        for arn in self.policies():
            for user in self.client.list_entities_for_policy(PolicyArn=arn)["PolicyUsers"]:
                self.client.detach_user_policy(UserName=user["UserName"], PolicyArn=arn)
            for version in self.client.list_policy_versions(PolicyArn=arn)["Versions"]:
                if not version["IsDefaultVersion"]:
                    self.client.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
            self.client.delete_policy(PolicyArn=arn)


@pytest.fixture
def iam(world: Any) -> Iam:
    """IAM as the broker sees it, starting with no broker policies left over from earlier tests."""
    view = Iam(world.client("iam"))
    view.clear()
    return view


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def broker(broker: Any, clock: Any, recorder: Recorder) -> Any:
    """The app's Broker, built with a notifier that records (here every test's broker is)."""
    return bootstrap.broker(clock=clock, notifier=recorder)


@pytest.fixture
def people(broker: Any, iam: Any, recorder: Recorder) -> People:
    return People(broker)



class IamFaults:
    """The broker's IAM calls go through a fault-injecting proxy; backoff waits are recorded, not slept."""

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy, self.waits = proxy, []
        self.fail, self.heal, self.seen = proxy.fail, proxy.heal, proxy.seen


@pytest.fixture
def faults(world: Any, broker: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    proxy = FaultProxy(world.emulator.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", proxy.endpoint)  # botocore's service-specific endpoint variable
    injected = IamFaults(proxy)
    broker.grants._client, broker.grants.sleep = None, injected.waits.append  # rebuilt on first use, via the proxy
    yield injected
    proxy.stop()
    broker.grants._client = None  # straight to the emulator again once the variable is restored


class Crash(BaseException):
    """The process dies here (a Lambda timeout, a killed container): nothing after it runs, no handler sees it."""


class Crasher:
    Crash = Crash

    def after(self, target: Any, method: str, on_call: int = 1) -> None:
        """Makes `target.method` do its work and then crash the process on its `on_call`-th call."""
        real, calls = getattr(target, method), []

        def crashing(*args: Any, **kwargs: Any) -> Any:
            result = real(*args, **kwargs)
            calls.append(1)
            if len(calls) == on_call:
                raise Crash(f"crashed after {method}")
            return result

        setattr(target, method, crashing)


@pytest.fixture
def crash() -> Crasher:
    return Crasher()
