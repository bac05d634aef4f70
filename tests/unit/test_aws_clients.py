"""The AWS clients the app builds (chalicelib/aws/clients.py), as IAM and an operator see them: a throttled IAM call
reaches IAM once per try of the adapter (retry.py decides the waits, not botocore's own retries on top), and a client
offers only the operations of its slimmed model (the cold path parses the small model, not botocore's whole one).
Against a local HTTP stand-in answering as IAM does, milliseconds each. (Mutants no test of the world noticed:
moto never throttles.)"""
from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError

from chalicelib.aws import clients
from tools import loopback

THROTTLED = (b'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
             b'<Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>r-1</RequestId>'
             b'</ErrorResponse>')


class Throttling(BaseHTTPRequestHandler):
    calls = 0

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).calls += 1
        self.send_response(400)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(THROTTLED)))
        self.end_headers()
        self.wfile.write(THROTTLED)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def iam_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Throttling]]:
    """IAM answering every call with Throttling, where the clients built from now on send it."""
    handler = type("Counted", (Throttling,), {"calls": 0})
    server = loopback.serve(handler, "throttling-iam")
    for name, value in {"AWS_ENDPOINT_URL": loopback.url(server), "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
        monkeypatch.delenv(name, raising=False)
    clients.reset()
    yield handler
    clients.reset()
    loopback.close(server)


def test_a_throttled_iam_call_reaches_iam_once_per_try_of_the_adapter(iam_endpoint: type[Throttling]) -> None:
    with pytest.raises(ClientError) as caught:
        clients.iam().get_user(UserName="alice")
    assert caught.value.response["Error"]["Code"] == "Throttling"
    assert iam_endpoint.calls == 1


@pytest.mark.parametrize("service, kept, left_out", [
    ("iam", "get_role_policy", "list_users"), ("ssm", "get_parameter", "put_parameter"),
    ("dynamodb", "transact_write_items", "scan"),
])
def test_a_client_offers_only_its_slimmed_models_operations(iam_endpoint: Any, service: str, kept: str,
                                                             left_out: str) -> None:
    client = clients.client(service)
    assert hasattr(client, kept)
    assert not hasattr(client, left_out)
