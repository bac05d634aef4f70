"""The local SigV4 check's own rules (tools/local_sigv4.verify), with the world's keys held in memory: a request signed
as botocore signs it is named, and what API Gateway refuses is refused with its message."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tools.local_sigv4 import BAD_SIGNATURE, UNKNOWN_KEY, Identity, Refused, Secret, verify

URL = "http://127.0.0.1:8000/v1/requests"
BODY = json.dumps({"profile": "s3-prod", "duration": "1h", "reason": "checking signatures"}).encode()
USER_KEY, SESSION_KEY = "AKIAEXAMPLEUSER00001", "ASIAEXAMPLESESSION01"
SECRETS = {USER_KEY: Secret("u" * 40), SESSION_KEY: Secret("s" * 40, "the-session-token")}


class KeysInMemory:
    def secret(self, key_id: str) -> Secret | None:
        return SECRETS.get(key_id)

    def owner(self, key_id: str, secret: Secret, region: str) -> Identity | None:
        return Identity(f"arn:aws:iam::111111111111:user/{key_id}", "111111111111", key_id, key_id)


def signed(key_id: str = USER_KEY, region: str = "us-east-1", service: str = "execute-api", body: bytes = BODY,
           with_token: bool = True, headers: dict[str, str] | None = None) -> tuple[dict[str, str], datetime]:
    secret = SECRETS[key_id]
    request = AWSRequest(method="POST", url=URL, data=body, headers={"Content-Type": "application/json",
                                                                      **(headers or {})})
    SigV4Auth(Credentials(key_id, secret.secret_access_key, secret.session_token if with_token else None), service,
              region).add_auth(request)
    sent = {name.lower(): value for name, value in request.headers.items()}
    sent["host"] = "127.0.0.1:8000"
    return sent, datetime.strptime(sent["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


def check(headers: dict[str, str], at: datetime, body: bytes = BODY) -> Identity:
    return verify("POST", URL, headers, body, KeysInMemory(), now=at, region="us-east-1")


def refusal(headers: dict[str, str], at: datetime, body: bytes = BODY) -> Refused:
    with pytest.raises(Refused) as refused:
        check(headers, at, body)
    return refused.value


def test_a_well_signed_request_is_named() -> None:
    assert check(*signed()).access_key == USER_KEY
    assert check(*signed(SESSION_KEY)).access_key == SESSION_KEY


def test_a_signature_scoped_to_another_region_is_refused() -> None:
    refused = refusal(*signed(region="eu-west-1"))
    assert (refused.message, refused.error_type) == (
        "Credential should be scoped to a valid region, not 'eu-west-1'. ", "InvalidSignatureException")


def test_a_wrong_region_and_a_wrong_service_are_both_named() -> None:
    assert refusal(*signed(region="eu-west-1", service="s3")).message == (
        "Credential should be scoped to a valid region, not 'eu-west-1'. "
        "Credential should be scoped to correct service: 'execute-api'. ")


def test_the_api_region_comes_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    headers, at = signed(region="eu-west-1")
    assert verify("POST", URL, headers, BODY, KeysInMemory(), now=at).access_key == USER_KEY
    with pytest.raises(Refused, match="not 'us-east-1'"):
        verify("POST", URL, *signed(region="us-east-1")[:1], BODY, KeysInMemory(), now=at)


def test_a_body_other_than_the_one_whose_hash_was_signed_is_refused() -> None:
    declared = {"x-amz-content-sha256": hashlib.sha256(BODY).hexdigest()}
    headers, at = signed(headers=declared)
    assert check(headers, at).access_key == USER_KEY, "the body it declared: accepted"

    tampered = BODY.replace(b"1h", b"4h")
    refused = refusal(headers, at, tampered)
    assert (refused.message, refused.error_type) == (BAD_SIGNATURE, "InvalidSignatureException")


def test_a_temporary_key_without_its_session_token_is_refused() -> None:
    refused = refusal(*signed(SESSION_KEY, with_token=False))
    assert (refused.message, refused.error_type) == (UNKNOWN_KEY, "UnrecognizedClientException")
