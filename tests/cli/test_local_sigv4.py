"""The local server checks SigV4 as API Gateway's IAM authorizer does: a bad, stale or unknown signature is a 403
with API Gateway's `{"message": ...}`; a signed request is named by its signature; unsigned requests may still say
who they are with X-Local-Principal (the curl walkthrough)."""
from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from typing import Any

import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from access_broker_cli.main import run
from tests.cli.conftest import TOOL_ARN
from tools.fake_worker import create_fake_worker
from tools.world import REGION, SOURCE_ACCOUNT, Keys, aws_client, write_credentials_file

BODY = {"profile": "s3-prod", "duration": "1h", "reason": "checking signatures"}
BAD_SIGNATURE = "The request signature we calculated does not match the signature you provided."


def send(url: str, keys: Keys | None, method: str = "GET", body: Any = None, headers: dict[str, str] | None = None,
         service: str = "execute-api", after_signing: dict[str, str] | None = None,
         sent_body: bytes | None = None, region: str = REGION, token: bool = True) -> tuple[int, dict[str, str], Any]:
    data = None if body is None else json.dumps(body).encode()
    request = AWSRequest(method=method, url=url, data=data,
                         headers={"Content-Type": "application/json", **(headers or {})})
    if keys:
        credentials = Credentials(keys.access_key_id, keys.secret_access_key, keys.session_token if token else None)
        SigV4Auth(credentials, service, region).add_auth(request)
    sent = urllib.request.Request(url, data=sent_body if sent_body is not None else data, method=method,
                                  headers={**dict(request.headers.items()), **(after_signing or {})})
    try:
        with urllib.request.urlopen(sent, timeout=30) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


@pytest.fixture
def keys(world) -> dict[str, Keys]:
    return world.keys


def as_bob() -> dict[str, str]:
    return {"X-Local-Principal": "arn:aws:iam::111111111111:user/bob"}


def test_a_signed_request_is_named_by_its_signature(served, keys) -> None:
    status, _, created = send(f"{served}/v1/requests", keys["s3-access"], "POST", BODY, after_signing=as_bob())
    assert status == 201, created
    assert created["requester"]["id"] == "s3-access"  # not bob, whatever the header says
    status, _, _ = send(f"{served}/v1/requests/{created['id']}/cancel", keys["s3-access"], "POST", {})
    assert status == 200


def test_keys_are_still_found_once_the_world_holds_a_lambda_function(served, world) -> None:
    """The check reads keys from moto's state dump, which answered 500 once a function existed (the world runs no
    Docker; tools/moto_docker.py): every signed request was then refused, for a key the check had not met before."""
    world.emulator.enforce_iam(False)
    try:
        create_fake_worker(world.emulator.endpoint, "access-broker-sigv4-neighbour")
        creds = aws_client(world.emulator.endpoint, "sts", account=SOURCE_ACCOUNT).assume_role(
            RoleArn=TOOL_ARN, RoleSessionName="ticket-44")["Credentials"]
    finally:
        world.emulator.enforce_iam(True)
    status, _, answer = send(f"{served}/v1/profiles",
                             Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]))
    assert status == 200, answer


def test_an_unsigned_request_may_still_use_x_local_principal(served) -> None:
    status, _, found = send(f"{served}/v1/profiles", None, headers=as_bob())
    assert status == 200 and found["profiles"], found
    status, _, problem = send(f"{served}/v1/profiles", None)
    assert status == 401 and "SigV4" in problem["detail"]


@pytest.mark.parametrize("case", ["wrong secret", "tampered body", "unknown key", "wrong service"])
def test_a_bad_signature_is_refused_like_api_gateway(served, keys, case: str) -> None:
    real = keys["s3-access"]
    signer = {"wrong secret": Keys(real.access_key_id, "x" * 40), "unknown key": Keys("AKIAEXAMPLEEXAMPLE00", "x" * 40)
              }.get(case, real)
    tampered = json.dumps({**BODY, "duration": "4h"}).encode() if case == "tampered body" else None

    status, headers, answer = send(f"{served}/v1/requests", signer, "POST", BODY, after_signing=as_bob(),
                                   service="s3" if case == "wrong service" else "execute-api", sent_body=tampered)

    assert status == 403, answer
    assert set(answer) == {"message"}, "API Gateway answers {\"message\": ...}"
    expected = {"wrong secret": BAD_SIGNATURE, "tampered body": BAD_SIGNATURE,
                "unknown key": "The security token included in the request is invalid.",
                "wrong service": "Credential should be scoped to correct service: 'execute-api'."}[case]
    assert answer["message"].startswith(expected)
    assert headers["x-amzn-ErrorType"] in ("InvalidSignatureException", "UnrecognizedClientException")
    status, _, mine = send(f"{served}/v1/requests?mine=true", None, headers=as_bob())
    assert status == 200 and mine["requests"] == [], "a refused request changes nothing"


@pytest.mark.parametrize("case", ["other region", "session key without its token", "body not the one hashed"])
def test_what_api_gateway_refuses_before_the_signature_is_refused_here_too(served, keys, tool_keys,
                                                                           case: str) -> None:
    by_tool = case == "session key without its token"
    signer = tool_keys if by_tool else keys["s3-access"]
    body = {**BODY, "reason": f"checking: {case}", **({"requester": "s3-access"} if by_tool else {})}
    hashed = {"x-amz-content-sha256": hashlib.sha256(json.dumps(body).encode()).hexdigest()}
    honest: dict[str, Any] = {"region": REGION, "token": True, "headers": hashed, "sent_body": None}
    faulty = {**honest, **{"other region": {"region": "eu-west-1"},
                           "session key without its token": {"token": False},
                           "body not the one hashed": {"sent_body": json.dumps({**body, "duration": "4h"}).encode()},
                           }[case]}
    status, _, created = send(f"{served}/v1/requests", signer, "POST", body, **honest)
    assert status == 201, f"the honest request is accepted: {created}"

    status, headers, answer = send(f"{served}/v1/requests", signer, "POST", body, **faulty)

    expected = {"other region": ("Credential should be scoped to a valid region, not 'eu-west-1'. ",
                                 "InvalidSignatureException"),
                "session key without its token": ("The security token included in the request is invalid.",
                                                  "UnrecognizedClientException"),
                "body not the one hashed": (BAD_SIGNATURE, "InvalidSignatureException")}[case]
    assert (status, answer) == (403, {"message": answer["message"]}), answer
    assert answer["message"].startswith(expected[0]) and headers["x-amzn-ErrorType"] == expected[1]
    status, _, mine = send(f"{served}/v1/requests?mine=true", None,
                           headers={"X-Local-Principal": "arn:aws:iam::111111111111:user/s3-access"})
    assert [r["id"] for r in mine["requests"] if r["reason"] == body["reason"]] == [created["id"]], \
        "a refused request changes nothing"
    send(f"{served}/v1/requests/{created['id']}/cancel", keys["s3-access"], "POST", {})


def test_a_session_past_its_end_is_refused_as_api_gateway_refuses_it(served, world) -> None:
    world.emulator.enforce_iam(False)
    try:
        creds = aws_client(world.emulator.endpoint, "sts", account=SOURCE_ACCOUNT).assume_role(
            RoleArn=TOOL_ARN, RoleSessionName="ticket-43", DurationSeconds=900)["Credentials"]
    finally:
        world.emulator.enforce_iam(True)
    session = Keys(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    try:
        world.emulator.set_clock_offset(890)  # ten seconds before its end: room for a busy machine
        status, _, answer = send(f"{served}/v1/profiles", session)
        assert status == 200, f"seconds before its end the session works: {answer}"

        world.emulator.set_clock_offset(900)  # the world's clock: the one its sessions end by
        status, headers, answer = send(f"{served}/v1/profiles", session)
    finally:
        world.emulator.set_clock_offset(0)

    assert (status, answer) == (403, {"message": "The security token included in the request is expired"})
    assert headers["x-amzn-ErrorType"] == "ExpiredTokenException"


@pytest.mark.parametrize("skew_minutes, accepted", [(-6, False), (-4, True), (4, True), (6, False)])
def test_the_five_minute_clock_skew_rule(served, keys, monkeypatch, skew_minutes: int, accepted: bool) -> None:
    signed_at = datetime.now(timezone.utc) + timedelta(minutes=skew_minutes)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: signed_at.replace(tzinfo=None))

    status, _, answer = send(f"{served}/v1/profiles", keys["s3-access"])

    if accepted:
        assert status == 200, answer
    else:
        assert status == 403 and set(answer) == {"message"}, answer
        assert answer["message"].startswith("Signature expired" if skew_minutes < 0 else "Signature not yet current")


def test_the_cli_prints_api_gateways_message_for_a_stale_signature(served, world, tmp_path, monkeypatch,
                                                                   capsys) -> None:
    """In process, so the signer's clock can be moved: the CLI shows the 403's message and exits 1."""
    credentials = tmp_path / "credentials"
    write_credentials_file(credentials, world.keys)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_PROFILE", "s3-access")
    stale = datetime.now(timezone.utc) - timedelta(minutes=10)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: stale.replace(tzinfo=None))

    assert run(["profiles", "--url", served]) == 1
    assert "access-broker: Signature expired:" in capsys.readouterr().err
