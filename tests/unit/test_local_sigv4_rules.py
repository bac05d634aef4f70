"""The local SigV4 check's own rules (tools/local_sigv4.verify), with the world's keys held in memory: a request signed
as botocore signs it is named, and what API Gateway refuses is refused with its message."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta, timezone

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tools.local_sigv4 import (
    AMZ_DATE,
    BAD_SIGNATURE,
    SKEW,
    UNKNOWN_KEY,
    Identity,
    Refused,
    Secret,
    WorldKeys,
    WorldUnavailable,
    _error_code,
    api_region,
    is_signed,
    verify,
)

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


# What each refusal says, at its edges (mutants of tools/local_sigv4.py the tests above did not notice).

def test_a_signature_in_the_query_string_is_refused_with_or_without_a_value() -> None:
    headers, at = signed()
    for query in ("?X-Amz-Signature=abc", "?x-amz-signature="):
        with pytest.raises(Refused) as refused:
            verify("POST", URL + query, headers, BODY, KeysInMemory(), now=at, region="us-east-1")
        assert (refused.value.message, refused.value.error_type) == (
            "the local stage checks SigV4 in the Authorization header only; sign the request's headers, not its query "
            "string", "IncompleteSignatureException")


def test_a_signature_holds_five_minutes_either_way_to_the_second() -> None:
    headers, at = signed()
    stamp = headers["x-amz-date"]
    assert check(headers, at + SKEW).access_key == USER_KEY
    assert check(headers, at - SKEW).access_key == USER_KEY
    late, early = at + SKEW + timedelta(seconds=1), at - SKEW - timedelta(seconds=1)
    assert refusal(headers, late + timedelta(microseconds=500)).message == (
        f"Signature expired: {stamp} is now earlier than {(late - SKEW).strftime(AMZ_DATE)} "
        f"({late.strftime(AMZ_DATE)} - 5 min.)")
    assert refusal(headers, early).message == (
        f"Signature not yet current: {stamp} is still later than {(early + SKEW).strftime(AMZ_DATE)} "
        f"({early.strftime(AMZ_DATE)} + 5 min.)")


def test_a_scope_of_another_day_than_the_date_header_is_refused() -> None:
    headers, at = signed()
    day = at.strftime("%Y%m%d")
    other = (at + timedelta(days=1)).replace(hour=0, minute=1, second=0)
    stamp = other.strftime(AMZ_DATE)
    assert refusal({**headers, "x-amz-date": stamp}, other).message == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
        f"'{day}' != '{stamp[:8]}', from '{stamp}'.")


@pytest.mark.parametrize("authorization,amz_date,message", [
    ("AWS4-HMAC-SHA256 Credential=AKIA/20261128/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=ab",
     None, "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
           "Authorization=AWS4-HMAC-SHA256"),
    ("AWS4-HMAC-SHA256 Credential=AKIA/20261128/us-east-1/execute-api/aws4_request", "20261128T000000Z",
     "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. "
     "Authorization=AWS4-HMAC-SHA256"),
    ("AWS4-HMAC-SHA1 Credential=a, SignedHeaders=host, Signature=ab", "20261128T000000Z",
     "Unsupported signing algorithm 'AWS4-HMAC-SHA1'; use AWS4-HMAC-SHA256. Authorization=AWS4-HMAC-SHA1"),
    ("AWS4-HMAC-SHA256 Credential=AKIA/20261128/us-east-1/execute-api, SignedHeaders=host, Signature=ab",
     "20261128T000000Z",
     "Credential should be scoped to a valid region, service and 'aws4_request'; got "
     "'20261128/us-east-1/execute-api'."),
    ("AWS4-HMAC-SHA256 Credential=AKIA/20261128/us-east-1/execute-api/aws4, SignedHeaders=host, Signature=ab",
     "20261128T000000Z",
     "Credential should be scoped to a valid region, service and 'aws4_request'; got "
     "'20261128/us-east-1/execute-api/aws4'."),
    ("AWS4-HMAC-SHA256 Credential=AKIA/20261128/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=ab",
     "yesterday", "X-Amz-Date 'yesterday' must be in the form %Y%m%dT%H%M%SZ (UTC)"),
])
def test_an_incomplete_signature_is_refused_with_api_gateways_words(authorization: str, amz_date: str | None,
                                                                    message: str) -> None:
    headers = {"authorization": authorization, **({"x-amz-date": amz_date} if amz_date else {})}
    with pytest.raises(Refused) as refused:
        verify("POST", URL, headers, BODY, KeysInMemory(), now=datetime(2026, 11, 28, tzinfo=timezone.utc),
               region="us-east-1")
    assert (refused.value.message, refused.value.error_type) == (message, "IncompleteSignatureException")


def test_a_key_the_world_no_longer_knows_is_unrecognized() -> None:
    class Forgotten(KeysInMemory):
        def owner(self, key_id: str, secret: Secret, region: str) -> Identity | None:
            return None

    headers, at = signed()
    with pytest.raises(Refused) as refused:
        verify("POST", URL, headers, BODY, Forgotten(), now=at, region="us-east-1")
    assert (refused.value.message, refused.value.error_type) == (UNKNOWN_KEY, "UnrecognizedClientException")


def test_the_caller_as_api_gateway_puts_it_in_the_request_context() -> None:
    assert Identity("arn:aws:iam::111111111111:user/ann", "111111111111", "AIDAANN", "AKIAANN").context() == {
        "userArn": "arn:aws:iam::111111111111:user/ann", "accountId": "111111111111", "user": "AIDAANN",
        "caller": "AIDAANN", "accessKey": "AKIAANN"}


def test_what_counts_as_a_request_that_tries_to_carry_a_signature() -> None:
    assert is_signed({"authorization": "AWS4-HMAC-SHA256 ..."}, "/v1/requests")
    assert is_signed({}, "/v1/requests?X-Amz-Signature=abc")
    assert is_signed({}, "/v1/requests?a=1&x-amz-signature=")
    assert not is_signed({"x-local-principal": "arn:aws:iam::111111111111:user/ann"}, "/v1/requests?a=1")


def test_the_code_of_an_aws_error_answer() -> None:
    namespaced = (b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
                  b"<Code>InvalidClientTokenId</Code></Error></ErrorResponse>")
    assert _error_code(namespaced) == "InvalidClientTokenId"
    assert _error_code(b"<ErrorResponse><Error><Code></Code></Error></ErrorResponse>") == ""
    assert _error_code(b"<ErrorResponse><Error/></ErrorResponse>") == ""
    assert _error_code(b"not xml") == ""


def test_the_api_region_falls_back_to_the_default_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert api_region() == "eu-central-1"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert api_region() == "us-east-1"


def test_without_an_endpoint_there_is_no_world_to_ask() -> None:
    with pytest.raises(WorldUnavailable) as caught:
        WorldKeys(lambda: None).secret(USER_KEY)
    assert str(caught.value) == "the local server has no AWS_ENDPOINT_URL, so no local AWS world to check keys against"


def test_the_world_is_asked_at_its_endpoint_without_a_trailing_slash() -> None:
    assert WorldKeys(lambda: "http://127.0.0.1:5000/")._world() == "http://127.0.0.1:5000"


def test_a_world_that_does_not_answer_is_named_with_its_address() -> None:
    closed = "http://127.0.0.1:9"  # the discard port: nothing listens
    keys = WorldKeys(lambda: closed)
    for ask in (lambda: keys.secret(USER_KEY), lambda: keys.owner(USER_KEY, SECRETS[USER_KEY], "us-east-1")):
        with pytest.raises(WorldUnavailable, match=f"^the local AWS world at {closed} did not answer: "):
            ask()


def test_who_owns_a_key_is_asked_of_sts_as_a_form_and_a_failing_world_is_named() -> None:
    """The world's GetCallerIdentity, as STS takes it (a form), and the words when the world answers 500: the local
    server's 500, as API Gateway answers when its authorizer fails."""
    import http.server

    from tools import loopback

    asked: list[tuple[str, str]] = []

    class FailingSts(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"])).decode()
            asked.append((self.headers.get("Content-Type", ""), body))
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            return None

    server = loopback.serve(FailingSts, "failing-sts")
    try:
        with pytest.raises(WorldUnavailable, match=r"^the local AWS world answered 500 to GetCallerIdentity$"):
            WorldKeys(lambda: loopback.url(server)).owner(USER_KEY, Secret("secret"), "us-east-1")
    finally:
        loopback.close(server)
    assert asked == [("application/x-www-form-urlencoded; charset=utf-8",
                      "Action=GetCallerIdentity&Version=2011-06-15")]
