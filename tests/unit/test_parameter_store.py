"""What an operator reads when a secret cannot be read from SSM (the parameter's name, the cause and what to do, never a
value), and botocore's wire log kept quiet only while a secret is read. An SSM client of its own stands in for AWS.
(Mutants of chalicelib/aws/secrets.py that the world's tests did not notice.)"""
from __future__ import annotations

import logging
import threading
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from chalicelib.aws import clients, secrets
from chalicelib.aws.secrets import ParameterStore, SecretUnavailable

pytestmark = pytest.mark.unit

NAME = "/access-broker/prod/console-key"
WIRE = logging.getLogger("botocore.parsers")


@pytest.fixture(autouse=True)
def fresh_process() -> Iterator[None]:
    """As in a new container: the filter not yet on the wire logger (the first read puts it there)."""
    WIRE.removeFilter(secrets._HIDE)
    yield


class Ssm:
    def __init__(self, answer: Any) -> None:
        self.answer, self.asked = answer, []

    def get_parameter(self, **kw: Any) -> dict[str, Any]:
        self.asked.append(kw)
        WIRE.warning("response body: %s", self.answer)  # what botocore logs at DEBUG, the decrypted value in it
        if isinstance(self.answer, Exception):
            raise self.answer
        return {"Parameter": {"Value": self.answer}}


def failed(code: str | None) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}} if code else {}, "GetParameter")


@pytest.mark.parametrize("answer,message", [
    (failed("ParameterNotFound"), f"cannot read secret parameter {NAME}: ParameterNotFound; create it (see README, "
                                  "Deploy: secrets)"),
    (failed("AccessDeniedException"), f"cannot read secret parameter {NAME}: AccessDeniedException; the broker's "
                                      "policy must allow ssm:GetParameter on it"),
    (failed("ThrottlingException"), f"cannot read secret parameter {NAME}: ThrottlingException"),
    (failed(None), f"cannot read secret parameter {NAME}: error"),
    (EndpointConnectionError(endpoint_url="https://ssm"), f"cannot read secret parameter {NAME}: "
                                                          "EndpointConnectionError"),
    ("", f"secret parameter {NAME} is empty"),
])
def test_an_unreadable_secret_names_its_parameter_and_what_to_do(answer: Any, message: str) -> None:
    with pytest.raises(SecretUnavailable) as caught:
        ParameterStore(Ssm(answer)).get(NAME)
    assert str(caught.value) == message


def test_a_secret_is_read_decrypted_and_the_wire_log_is_quiet_only_meanwhile(caplog: pytest.LogCaptureFixture) -> None:
    ssm = Ssm("s3cret-value")
    with caplog.at_level(logging.DEBUG):
        assert ParameterStore(ssm).get(NAME) == "s3cret-value"
        WIRE.warning("another response")
    assert ssm.asked == [{"Name": NAME, "WithDecryption": True}]
    assert [r.getMessage() for r in caplog.records if r.name == WIRE.name] == ["another response"]


def test_the_client_is_made_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []

    def client(service: str) -> Ssm:
        made.append(service)
        return Ssm("v")

    monkeypatch.setattr(clients, "client", client)
    store = ParameterStore()
    assert made == []
    assert store.get(NAME) == "v" and store.get(NAME) == "v"
    assert made == ["ssm"]


def test_a_thread_that_never_read_a_secret_keeps_its_wire_log(caplog: pytest.LogCaptureFixture) -> None:
    ParameterStore(Ssm("v")).get(NAME)
    with caplog.at_level(logging.DEBUG):
        thread = threading.Thread(target=WIRE.warning, args=("another thread's response",))
        thread.start()
        thread.join()
    assert [r.getMessage() for r in caplog.records if r.name == WIRE.name] == ["another thread's response"]
