from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.aws.links import ConsoleTokens, switch_role_url
from chalicelib.catalog import parse_catalog
from chalicelib.domain.errors import Forbidden, Gone

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)


def catalog(partition: str = "aws"):
    return parse_catalog({"source_account": "111111111111", "partition": partition, "people": {"ann": {}},
                          "profiles": {"s3": {"account": "222222222222", "role": "switch-role-for-S3",
                                              "display_name": "S3 prod", "color": "F2B0A9", "approvers": ["ann"]}}})


@pytest.mark.parametrize("partition,host", [("aws", "signin.aws.amazon.com"), ("aws-cn", "signin.amazonaws.cn"),
                                            ("aws-us-gov", "signin.amazonaws-us-gov.com")])
def test_the_switch_role_url_uses_the_partitions_sign_in_host(partition, host):
    c = catalog(partition)
    assert switch_role_url(c, c.profiles["s3"]) == (
        f"https://{host}/switchrole?account=222222222222&roleName=switch-role-for-S3&displayName=S3+prod&color=F2B0A9")


def test_a_console_token_names_its_request_until_it_expires():
    tokens = ConsoleTokens(b"k" * 32)
    token = tokens.sign("r1", NOW + timedelta(hours=1))
    assert tokens.verify(token, NOW) == "r1"
    with pytest.raises(Gone):
        tokens.verify(token, NOW + timedelta(hours=1))


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # altered signature
    lambda t: ConsoleTokens(b"k" * 32).sign("r2", NOW + timedelta(hours=1)).split(".")[0] + "." + t.split(".")[1],
    lambda t: t.split(".")[0],  # no signature
    lambda t: "é" + t,  # not even ASCII
])
def test_a_tampered_token_is_refused(tamper):
    tokens = ConsoleTokens(b"k" * 32)
    with pytest.raises(Forbidden):
        tokens.verify(tamper(tokens.sign("r1", NOW + timedelta(hours=1))), NOW)


def test_a_token_signed_with_another_key_is_refused():
    token = ConsoleTokens(b"x" * 32).sign("r1", NOW + timedelta(hours=1))
    with pytest.raises(Forbidden):
        ConsoleTokens(b"k" * 32).verify(token, NOW)
