"""The CLI's small pieces a user meets in what they type and read: durations (`--timeout 15m`, "59m left"), the IAM
user a signing ARN names (whose grant `request --wait` may check), and which API URLs it will talk to."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from access_broker_cli import checks
from access_broker_cli.durations import clock, human, parse_seconds, parse_time, seconds_until
from access_broker_cli.identity import user_name


@pytest.mark.parametrize("text, seconds", [
    ("900", 900), (" 900 ", 900), ("0", 0), ("90s", 90), ("15m", 900), ("1h30m", 5400), ("2d", 172800),
    ("1d2h3m4s", 93784), ("1H", 3600), (" 15m\n", 900), ("PT15M", 900), ("pt15m", 900), ("P1D", 86400),
    ("P1DT1H1M1S", 90061), ("PT90S", 90), ("PT2H", 7200),
])
def test_durations_people_type(text: str, seconds: int) -> None:
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", " ", "m", "15", "15x", "1h30", "-5m", "1.5h", "P", "PT", "15m PT", "h15",
                                  "1m1h", "PT15", "15 m"])
def test_anything_else_is_refused_naming_the_forms(text: str) -> None:
    if text == "15":
        assert parse_seconds(text) == 15  # a bare number is seconds
        return
    with pytest.raises(ValueError) as raised:
        parse_seconds(text)
    assert str(raised.value) == (f"{text!r} is not a duration; write it like 90s, 15m, 1h30m, PT15M or a number of "
                                 "seconds")


@pytest.mark.parametrize("seconds, shown", [
    (0, "0s"), (1, "1s"), (59, "59s"), (59.9, "59s"), (60, "1m"), (61, "1m"), (119, "1m"), (3600, "1h"),
    (3660, "1h1m"), (5400, "1h30m"), (86400, "1d"), (86460, "1d1m"), (90061, "1d1h1m"), (-5, "0s"), (-3600, "0s"),
])
def test_durations_read_the_way_people_write_them(seconds: float, shown: str) -> None:
    assert human(seconds) == shown


@pytest.mark.parametrize("seconds, shown", [(0, "0:00"), (5.9, "0:05"), (65, "1:05"), (600, "10:00"),
                                            (3599, "59:59"), (3600, "1:00:00"), (3661, "1:01:01"), (-3, "0:00")])
def test_the_waiting_clock(seconds: float, shown: str) -> None:
    assert clock(seconds) == shown


def test_the_apis_times_in_utc() -> None:
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert parse_time("2026-01-01T01:00:00Z") == datetime(2026, 1, 1, 1, tzinfo=timezone.utc)
    assert parse_time("2026-01-01T02:00:00+01:00") == datetime(2026, 1, 1, 1, tzinfo=timezone.utc)
    assert parse_time("2026-01-01T02:00:00+01:00").tzinfo == timezone.utc
    assert seconds_until("2026-01-01T00:59:30Z", now) == 3570.0
    assert seconds_until("2025-12-31T23:59:00Z", now) == -60.0
    # without a now, the current time: read just before ours, so at most a second more (equal within a float's
    # resolution at 3e10 s)
    assert 0 <= seconds_until("2999-01-01T00:00:00Z") - (datetime(2999, 1, 1, tzinfo=timezone.utc)
                                                          - datetime.now(timezone.utc)).total_seconds() < 1


@pytest.mark.parametrize("arn, user", [
    ("arn:aws:iam::111111111111:user/alice", "alice"),
    ("arn:aws:iam::111111111111:user/team/ops/alice", "alice"),
    ("arn:aws-cn:iam::111111111111:user/s3-access", "s3-access"),
    ("arn:aws:iam::111111111111:user/a:b", "a:b"),
    ("arn:aws:sts::111111111111:assumed-role/ticket-bot/session", None),
    ("arn:aws:iam::111111111111:role/user", None),
    ("arn:aws:iam::111111111111:root", None),
    ("arn:aws:sts::111111111111:federated-user/alice", None),
])
def test_the_iam_user_an_arn_names(arn: str, user: str | None) -> None:
    assert user_name(arn) == user


@pytest.mark.parametrize("url", ["https://h", "HTTPS://h.example/x", "http://127.0.0.1", "http://127.255.0.1:9/x",
                                 "http://[::1]/", "http://localhost", "http://LOCALHOST:8000"])
def test_urls_the_cli_talks_to(url: str) -> None:
    assert checks.url(url, "the API URL") == url


@pytest.mark.parametrize("url", ["http://h.example", "http://10.0.0.1", "http://[::2]/", "http://0.0.0.0/",
                                 "ftp://localhost/", "https:///path", "http:///", "", "http://[::1/", "localhost"])
def test_urls_it_does_not(url: str) -> None:
    with pytest.raises(ValueError) as raised:
        checks.url(url, "the API URL")
    assert str(raised.value) == (f"the API URL {url!r} is not an https URL (plain http only to 127.0.0.1, ::1 or "
                                 "localhost)")


def test_a_url_that_is_not_a_string_or_holds_controls_is_refused_saying_so() -> None:
    with pytest.raises(ValueError, match=r"^the link is missing or not a string \(got NoneType\)$"):
        checks.url(None, "the link")
    with pytest.raises(ValueError, match=r"^the link is missing or not a string \(got int\)$"):
        checks.url(42, "the link")
    with pytest.raises(ValueError, match=r"^the link 'https://h/\\x07' holds control characters$"):
        checks.url("https://h/\x07", "the link")


def test_what_the_answer_checks_say_when_they_refuse() -> None:
    """aws-profile prints these after "the API's answer cannot go into an AWS config file: "."""
    with pytest.raises(ValueError) as raised:
        checks.role_arn("arn:aws:iam::1:role/x", "grant.role_arn")
    assert str(raised.value) == ("grant.role_arn 'arn:aws:iam::1:role/x' is not an IAM role ARN "
                                 "(arn:<partition>:iam::<12 digits>:role/<name>)")
    with pytest.raises(ValueError) as raised:
        checks.request_id("r-1")
    assert str(raised.value) == "the request id 'r-1' is not a ULID (26 characters of Crockford base32)"
    with pytest.raises(ValueError) as raised:
        checks.iam_user_name("a b", "the IAM user name STS gave")
    assert str(raised.value) == ("the IAM user name STS gave 'a b' is not an IAM user name (1-64 of letters, digits "
                                 "and +=,.@_-)")
