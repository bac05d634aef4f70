"""The session guard's calls in a target account as IAM and STS see them (the guard role assumed once per credentials,
the policy written compact, the role's MaxSessionDuration), and each refusal, on scripted clients: what the world's
IAM never refuses. (Mutants of chalicelib/aws/session_guard.py that the world's tests did not notice.)"""
from __future__ import annotations

import json
import urllib.parse
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from chalicelib.aws import clients
from chalicelib.aws.session_guard import GuardTarget, GuardUnavailable, IamSessionGuard, PolicyTooLarge
from tests.unit.test_iam_grants_refusals import ScriptedIam

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
GUARD_ROLE = "arn:aws:iam::222222222222:role/access-broker-guard"
TARGET = GuardTarget("222222222222", "switch-role-for-S3", GUARD_ROLE, "external-1")
WHERE = "on role switch-role-for-S3 in account 222222222222"


class World:
    """clients.client as the guard calls it: one scripted STS, and the scripted IAM of the target account."""

    def __init__(self, iam: ScriptedIam, sts: ScriptedIam | None = None) -> None:
        self.iam, self.made = iam, []
        self.sts = sts or ScriptedIam(assume_role={"Credentials": {
            "AccessKeyId": "ASIA1", "SecretAccessKey": "s", "SessionToken": "t",
            "Expiration": NOW + timedelta(hours=1)}})

    def client(self, service: str, config: Any = None, credentials: dict[str, Any] | None = None) -> ScriptedIam:
        self.made.append((service, config.retries if config else None, credentials and credentials["AccessKeyId"]))
        return self.sts if service == "sts" else self.iam


@pytest.fixture
def clock() -> list[datetime]:
    return [NOW]


def guard(monkeypatch: pytest.MonkeyPatch, world: World, clock: list[datetime] | None = None) -> IamSessionGuard:
    monkeypatch.setattr(clients, "client", world.client)
    return IamSessionGuard(sleep=lambda s: None, clock=lambda: (clock or [NOW])[0])


def test_the_guard_is_read_as_iam_encodes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    document = {"Version": "2012-10-17", "Statement": []}
    for answer in (urllib.parse.quote(json.dumps(document)), document):
        world = World(ScriptedIam(get_role_policy={"PolicyDocument": answer}))
        assert guard(monkeypatch, world).read(TARGET) == document
    assert world.iam.calls == [("get_role_policy", {"RoleName": "switch-role-for-S3",
                                                    "PolicyName": "access-broker-session-guard"})]
    assert guard(monkeypatch, World(ScriptedIam(get_role_policy="NoSuchEntity"))).read(TARGET) is None


def test_the_guard_is_written_compact_and_assumed_with_its_external_id(monkeypatch: pytest.MonkeyPatch) -> None:
    world = World(ScriptedIam())
    guard(monkeypatch, world).write(TARGET, {"Version": "2012-10-17", "Statement": []})
    assert world.iam.calls[0][1]["PolicyDocument"] == '{"Version":"2012-10-17","Statement":[]}'
    assert world.sts.calls == [("assume_role", {"RoleArn": GUARD_ROLE, "RoleSessionName": "access-broker",
                                                "ExternalId": "external-1", "DurationSeconds": 3600})]
    one_attempt = {"mode": "standard", "total_max_attempts": 1}  # retry.py retries, not botocore
    assert world.made == [("sts", one_attempt, None), ("iam", one_attempt, "ASIA1")]


@pytest.mark.parametrize("call,answers,message", [
    (lambda g: g.read(TARGET), {"get_role_policy": "AccessDenied"},
     f"could not read the session guard {WHERE}: AccessDenied: no"),
    (lambda g: g.write(TARGET, {}), {"put_role_policy": "MalformedPolicyDocument"},
     f"could not write the session guard {WHERE}: MalformedPolicyDocument: no"),
    (lambda g: g.max_session(TARGET), {"get_role": "NoSuchEntity"},
     f"could not read the role's MaxSessionDuration {WHERE}: NoSuchEntity: no"),
    (lambda g: g.inline_policies(TARGET), {"list_role_policies": "AccessDenied"},
     f"could not list the role's inline policies {WHERE}: AccessDenied: no"),
])
def test_a_refusal_in_the_target_account_names_the_step_the_role_and_the_account(
        monkeypatch: pytest.MonkeyPatch, call: Any, answers: dict[str, Any], message: str) -> None:
    with pytest.raises(GuardUnavailable) as caught:
        call(guard(monkeypatch, World(ScriptedIam(**answers))))
    assert str(caught.value) == message


def test_a_guard_past_iams_size_limit_is_too_large_with_iams_words(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PolicyTooLarge) as caught:
        guard(monkeypatch, World(ScriptedIam(put_role_policy="LimitExceeded"))).write(TARGET, {})
    assert str(caught.value) == "no"


def test_a_role_without_a_max_session_duration_has_iams_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert guard(monkeypatch, World(ScriptedIam(get_role={"Role": {"MaxSessionDuration": 7200}}))).max_session(
        TARGET) == timedelta(hours=2)
    assert guard(monkeypatch, World(ScriptedIam(get_role={"Role": {}}))).max_session(TARGET) == timedelta(hours=1)


def test_a_guard_role_that_cannot_be_assumed_says_what_to_deploy(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(GuardUnavailable) as caught:
        guard(monkeypatch, World(ScriptedIam(), ScriptedIam(assume_role="AccessDenied"))).read(TARGET)
    assert str(caught.value) == (f"could not assume the guard role {GUARD_ROLE}: AccessDenied: no (deploy "
                                 "targets/guard-role.yaml in account 222222222222)")


def test_sts_that_never_answers_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    down = EndpointConnectionError(endpoint_url="https://sts.amazonaws.com")
    with pytest.raises(GuardUnavailable) as caught:
        guard(monkeypatch, World(ScriptedIam(), ScriptedIam(assume_role=down))).read(TARGET)
    assert str(caught.value) == (f'STS did not answer for {GUARD_ROLE}: Could not connect to the endpoint URL: '
                                 '"https://sts.amazonaws.com"')


def test_credentials_are_kept_until_a_minute_before_they_expire(monkeypatch: pytest.MonkeyPatch,
                                                                clock: list[datetime]) -> None:
    the_guard = guard(monkeypatch, World(ScriptedIam(get_role_policy="NoSuchEntity")), clock)
    the_guard.read(TARGET)
    clock[0] = NOW + timedelta(minutes=58, seconds=59)
    the_guard.read(TARGET)
    assert the_guard.assumed == 1
    clock[0] = NOW + timedelta(minutes=59)
    the_guard.read(TARGET)
    assert the_guard.assumed == 2


@pytest.mark.parametrize("code", ["ExpiredToken", "InvalidClientTokenId"])
def test_credentials_iam_no_longer_takes_are_assumed_again(monkeypatch: pytest.MonkeyPatch, code: str) -> None:
    the_guard = guard(monkeypatch, World(ScriptedIam(get_role={"Role": {}}, get_role_policy=[code, "NoSuchEntity"])))
    the_guard.max_session(TARGET)
    assert the_guard.read(TARGET) is None
    assert the_guard.assumed == 2


def test_an_account_that_never_answers_is_retried_on_the_next_sweep(monkeypatch: pytest.MonkeyPatch) -> None:
    down = EndpointConnectionError(endpoint_url="https://iam.amazonaws.com")
    with pytest.raises(GuardUnavailable) as caught:
        guard(monkeypatch, World(ScriptedIam(get_role_policy=[down] * 5))).read(TARGET)
    assert str(caught.value) == ('account 222222222222 did not answer (get_role_policy): Could not connect to the '
                                 'endpoint URL: "https://iam.amazonaws.com"; retrying on the next sweep')
