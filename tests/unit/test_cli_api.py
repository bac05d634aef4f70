"""The CLI's API client (access_broker_cli.api) against a recording server on loopback: what it sends (method, path,
query in SigV4's encoding, JSON body, headers, a SigV4 signature the local stage's own verifier accepts for the right
region and service), how it reads what comes back, and the words and exit codes of the API's errors."""
from __future__ import annotations

import io
import json
import os
import socket
import urllib.error
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any, Iterator

import pytest

from access_broker_cli import __version__
from access_broker_cli.api import Api, _api_error
from access_broker_cli.errors import ApiError, Refused, Unreachable, UsageError
from tools import local_sigv4, loopback

KEY, SECRET = "AKIAEXAMPLEEXAMPLE00", "made-up-secret"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes | None


@dataclass
class Recorder:
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    status: int = 200
    answer: bytes = b'{"ok": true}'


@contextmanager
def recording() -> Iterator[Recorder]:
    recorder = Recorder()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._record(None)

        def do_POST(self) -> None:
            self._record(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

        def _record(self, body: bytes | None) -> None:
            recorder.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(recorder.status)
            self.send_header("Content-Length", str(len(recorder.answer)))
            self.end_headers()
            self.wfile.write(recorder.answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = loopback.serve(Handler, "recording-api")
    recorder.url = loopback.url(server)
    try:
        yield recorder
    finally:
        loopback.close(server)


@pytest.fixture(autouse=True)
def made_up_keys(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    for name in [n for n in os.environ if n.startswith(("AWS_", "ACCESS_BROKER_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")


class OneKey:
    """The verifier's keys: ours only."""

    def secret(self, key_id: str) -> local_sigv4.Secret | None:
        return local_sigv4.Secret(SECRET) if key_id == KEY else None

    def owner(self, key_id: str, secret: local_sigv4.Secret, region: str) -> local_sigv4.Identity:
        return local_sigv4.Identity(f"arn:aws:iam::111111111111:user/{key_id}", "111111111111", key_id, key_id)


def verified(recorder: Recorder, seen: Seen, region: str = "eu-west-2") -> None:
    local_sigv4.verify(seen.method, recorder.url + seen.path, seen.headers, seen.body, OneKey(), region=region)


def test_a_get_is_signed_for_execute_api_in_the_configured_region_and_its_query_encoded() -> None:
    with recording() as server:
        answer = Api(server.url + "/api/").get("/v1/requests", {"state": "timed out", "next": "a+b/c=", "x~y": "-_.~",
                                                                   "a/b": "c"})

    assert answer == {"ok": True}
    [seen] = server.seen
    assert (seen.method, seen.body) == ("GET", None)
    assert seen.path == "/api/v1/requests?state=timed%20out&next=a%2Bb%2Fc%3D&x~y=-_.~&a%2Fb=c"
    assert seen.headers["accept"] == "application/json"
    assert seen.headers["user-agent"] == f"access-broker-cli/{__version__}"
    assert "content-type" not in seen.headers
    assert seen.headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={KEY}/")
    assert "/eu-west-2/execute-api/aws4_request, SignedHeaders=" in seen.headers["authorization"]
    verified(server, seen)
    with pytest.raises(local_sigv4.Refused):
        verified(server, seen, region="us-east-1")


def test_a_post_sends_its_body_as_json_signed_with_it() -> None:
    with recording() as server:
        api = Api(server.url)
        api.post("/v1/requests", {"profile": "s3-prod", "reason": "café ✓"})
        api.post("/v1/requests/r/cancel")

    first, second = server.seen
    assert first.method == "POST" and first.path == "/v1/requests"
    assert json.loads(first.body or b"") == {"profile": "s3-prod", "reason": "café ✓"}
    assert first.headers["content-type"] == "application/json"
    assert "content-type" in first.headers["authorization"].split("SignedHeaders=")[1]
    verified(server, first)
    assert second.body == b"{}" and second.headers["content-type"] == "application/json", "no body is an empty object"
    verified(server, second)
    forged = Seen(first.method, first.path, first.headers, first.body.replace(b"s3-prod", b"s3-dev"))
    with pytest.raises(local_sigv4.Refused):
        verified(server, forged)


@pytest.mark.parametrize("answer, expected", [(b"", None), (b"  \n", None), (b"[1, 2]", [1, 2]), (b'"x"', "x")])
def test_an_empty_answer_is_none_and_any_other_is_its_json(answer: bytes, expected: Any) -> None:
    with recording() as server:
        server.answer = answer
        assert Api(server.url).get("/v1/x") == expected


def test_the_region_comes_from_an_api_gateway_host_else_the_configuration_else_us_east_1(monkeypatch) -> None:
    assert Api("https://abc123.execute-api.eu-west-1.amazonaws.com/api").region() == "eu-west-1"
    assert Api("https://abc123.execute-api.cn-north-1.amazonaws.com.cn/api").region() == "cn-north-1"
    assert Api("https://broker.example.com/api").region() == "eu-west-2"
    assert Api("https://execute-api.eu-west-1.amazonaws.com.evil.example/").region() == "eu-west-2"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert Api("https://broker.example.com/api").region() == "us-east-1"


def test_without_credentials_it_is_a_usage_error_naming_what_to_set(monkeypatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(UsageError) as raised:
        Api("https://broker.example.com").credentials()
    assert raised.value.exit_code == 2
    assert raised.value.message == ("no AWS credentials found: set AWS_PROFILE to a profile in your AWS config or "
                                    "credentials file (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")


def test_an_unknown_profile_is_a_usage_error_too(monkeypatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "nobody")
    with pytest.raises(UsageError, match="^cannot load AWS credentials: The config profile \\(nobody\\) could not"):
        Api("https://broker.example.com").credentials()


def test_an_api_that_is_not_there_is_unreachable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(Unreachable) as raised:
        Api(f"http://127.0.0.1:{port}/api").get("/v1/profiles")
    assert raised.value.exit_code == 4
    assert raised.value.message == (f"cannot reach the API at http://127.0.0.1:{port}/api: "
                                    "[Errno 111] Connection refused")


def test_an_api_that_does_not_answer_is_given_up_after_the_timeout(monkeypatch) -> None:
    """Connected, asked, and never answered: the CLI gives up after api.TIMEOUT_S (30 s; here 0.2 s), it does not
    hang the terminal."""
    from access_broker_cli import api

    monkeypatch.setattr(api, "TIMEOUT_S", 0.2)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(Unreachable) as raised:
            Api(url).get("/v1/profiles")
    assert raised.value.message == f"cannot reach the API at {url}: timed out"


def test_a_bad_api_url_is_a_usage_error_saying_what_one_looks_like() -> None:
    with pytest.raises(UsageError) as raised:
        Api("http://broker.example.com/api")
    assert raised.value.message == (
        "the API URL 'http://broker.example.com/api' is not an https URL (plain http only to 127.0.0.1, ::1 or "
        "localhost); pass --url or set ACCESS_BROKER_URL to something like "
        "https://abc123.execute-api.eu-west-1.amazonaws.com/api")


@pytest.mark.parametrize("link, absolute", [
    ("/v1/console/t", "https://h.example/api/v1/console/t"),
    ("v1/console/t", "https://h.example/api/v1/console/t"),
    ("/X-ray/t", "https://h.example/api/X-ray/t"),
    ("https://signin.aws.amazon.com/federation?x=1", "https://signin.aws.amazon.com/federation?x=1"),
])
def test_a_link_is_made_absolute_against_the_api(link: str, absolute: str) -> None:
    assert Api("https://h.example/api/").absolute(link) == absolute


def test_a_link_that_is_not_https_is_refused() -> None:
    with pytest.raises(Refused, match="^the link the API gave 'http://evil.example/x' is not an https URL"):
        Api("https://h.example/api").absolute("http://evil.example/x")


def http_error(code: int, raw: bytes, reason: str = "Reason") -> urllib.error.HTTPError:
    return urllib.error.HTTPError("https://h.example/x", code, reason, Message(), io.BytesIO(raw))


@pytest.mark.parametrize("body, said", [
    ({"detail": "d", "message": "m", "Message": "M", "title": "t"}, "d"),
    ({"detail": "", "message": "m", "Message": "M", "title": "t"}, "m"),
    ({"message": None, "Message": "M", "title": "t"}, "M"),
    ({"title": "t"}, "t"),
    ({"status": 409}, '{"status": 409}'),
    ([1, 2], "[1, 2]"),
])
def test_the_apis_own_words_problem_detail_then_api_gateways_message(body: Any, said: str) -> None:
    error = _api_error(http_error(409, json.dumps(body).encode()))
    assert isinstance(error, ApiError)
    assert (error.message, error.status, error.body, error.exit_code) == (said, 409, body, 1)


@pytest.mark.parametrize("raw, said", [
    (b"  <html>Bad gateway</html>\n", "<html>Bad gateway</html>"),
    (b"", "Reason"),
    (b"   ", "Reason"),
    (b"x" * 400, "x" * 300),
    (b"line one\nline two\x1b[2K", "line one\\nline two\\x1b[2K"),
    (b"caf\xc3\xa9 \xff", "caf\u00e9 \ufffd"),
])
def test_an_answer_that_is_not_json_is_said_as_text_on_one_line(raw: bytes, said: str) -> None:
    error = _api_error(http_error(404, raw))
    assert isinstance(error, ApiError) and (error.message, error.body, error.status) == (said, None, 404)


def test_the_detail_is_one_escaped_line_too() -> None:
    error = _api_error(http_error(400, json.dumps({"detail": "no\nway\x07"}).encode()))
    assert error.message == "no\\nway\\x07"


@pytest.mark.parametrize("code, kind, exit_code", [(400, ApiError, 1), (403, ApiError, 1), (499, ApiError, 1),
                                                   (500, Unreachable, 4), (502, Unreachable, 4), (504, Unreachable, 4)])
def test_4xx_is_refused_and_5xx_unreachable(code: int, kind: type, exit_code: int) -> None:
    error = _api_error(http_error(code, b'{"detail": "boom"}'))
    assert type(error) is kind and error.exit_code == exit_code
    expected = f"the API failed ({code}): boom" if code >= 500 else "boom"
    assert error.message == expected and error.body == {"detail": "boom"}


def test_an_error_answer_through_call_keeps_the_body_for_json(monkeypatch) -> None:
    with recording() as server:
        server.status, server.answer = 409, b'{"title": "Conflict", "detail": "already revoked"}'
        with pytest.raises(ApiError) as raised:
            Api(server.url).post("/v1/requests/r/revoke")
    assert (raised.value.status, raised.value.message) == (409, "already revoked")
    assert raised.value.body == {"title": "Conflict", "detail": "already revoked"}
