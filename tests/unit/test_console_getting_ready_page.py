"""The page a console link shows while IAM still applies a new grant: it says so, names when (in UTC, whatever the
host's zone) and in how many seconds it moves on to the AWS console by itself, and links there meanwhile."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Iterator

import pytest

from chalicelib.domain.requests import Grant
from chalicelib.routes.pages import console_getting_ready

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
SWITCH = "https://signin.aws.amazon.com/switchrole?roleName=switch-role-for-S3&account=222222222222&displayName=s3"


def grant(usable_in: timedelta) -> Grant:
    return Grant("arn:aws:iam::222222222222:role/switch-role-for-S3", "arn:aws:iam::111111111111:policy/p", NOW,
                 NOW + timedelta(hours=1), SWITCH, "https://broker.example/v1/console/t", NOW + usable_in)


@pytest.fixture
def far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_page_says_when_it_moves_on_and_links_to_the_console(far_from_utc: None) -> None:
    page = console_getting_ready(grant(timedelta(seconds=7, milliseconds=200)), NOW)
    html = str(page.body)
    assert page.status_code == 200
    assert "<title>Your access is getting ready · access-broker</title>" in html
    assert "<h1>Your access is getting ready</h1>" in html
    assert ('This page moves on to the AWS console by itself at <time datetime="2026-11-28T12:00:07Z">12:00:07 UTC'
            '</time>, in about 8 seconds.') in html
    escaped = SWITCH.replace("&", "&amp;")
    assert f'<a href="{escaped}">open the console</a>' in html
    assert f'<meta http-equiv="refresh" content="8; url={escaped}">' in html
    assert 'class="ask"' not in html, "nothing to ask again: the access is coming"


def test_a_moment_away_is_a_second_away() -> None:
    html = str(console_getting_ready(grant(timedelta(milliseconds=300)), NOW).body)
    assert "in about 1 second." in html and '<meta http-equiv="refresh" content="1; url=' in html
