"""The pages a person sees when a console link from Slack no longer works, pinned whole (tests/expected.py) against
tests/unit/expected/console_pages/: a link that is not ours (403), one whose request is gone (410), an old link of an
extended grant, a grant that ended (at, just before and just after its end instant), and the getting-ready page. Also
which Accept headers get the page rather than problem+json. Built as routes/console.py builds them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from chalice import Response

from chalicelib.domain.requests import AccessRequest, Grant, State
from chalicelib.routes.pages import EndedAccess, console_getting_ready, console_link_refused, prefers_html
from tests.expected import matches

EXPECTED = Path(__file__).resolve().parent / "expected" / "console_pages"
START = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)
END = START + timedelta(hours=1)
SWITCH = "https://signin.aws.amazon.com/switchrole?roleName=switch-role-for-S3&account=222222222222&displayName=s3"


def grant(expires_at: datetime = END) -> Grant:
    return Grant("arn:aws:iam::222222222222:role/switch-role-for-S3", "arn:aws:iam::111111111111:policy/p", START,
                 expires_at, SWITCH, "https://broker.example/v1/console/t", START + timedelta(seconds=8))


def request(state: State, expires_at: datetime = END, ended_at: datetime | None = None) -> AccessRequest:
    return AccessRequest("req-7f3a", "s3-prod", "alice", "alice", "222222222222", "arn:aws:iam::222222222222:role/r",
                         "debugging <prod> & more", 3600, 1, START - timedelta(minutes=5), state=state,
                         grant=grant(expires_at), ended_at=ended_at)


def seen(page: Response) -> dict[str, Any]:
    """What a browser gets: the status, the headers it acts on and the page, line by line (so a diff reads well)."""
    assert isinstance(page.body, str)
    return {"status": page.status_code, "headers": page.headers, "page": page.body.splitlines()}


def pinned(name: str, page: Response) -> None:
    matches(EXPECTED / f"{name}.json", seen(page))


def test_a_link_we_did_not_sign_says_it_was_changed_and_to_open_the_slack_one() -> None:
    pinned("403_not_valid", console_link_refused(403, EndedAccess(None), START))


def test_a_link_whose_request_is_gone_says_the_access_ended() -> None:
    pinned("410_request_gone", console_link_refused(410, EndedAccess(None), START))


def test_an_old_link_of_an_extended_grant_names_the_profile_and_the_new_end() -> None:
    extended = request(State.ACTIVE, expires_at=END + timedelta(hours=2))
    pinned("410_extended", console_link_refused(410, EndedAccess(extended, "S3 prod"), END + timedelta(minutes=30)))


@pytest.mark.parametrize("name, now", [("410_active_just_before_end", END - timedelta(microseconds=1)),
                                       ("410_active_at_end", END),
                                       ("410_active_after_end", END + timedelta(minutes=1))])
def test_an_active_grant_not_yet_swept_reads_as_expired_from_its_end_instant(name: str, now: datetime) -> None:
    pinned(name, console_link_refused(410, EndedAccess(request(State.ACTIVE), "S3 prod"), now))


@pytest.mark.parametrize("state", [State.EXPIRED, State.REVOKED, State.FAILED])
def test_an_ended_grant_says_how_and_until_when(state: State) -> None:
    ended = request(state, ended_at=START + timedelta(minutes=20) if state != State.EXPIRED else END)
    pinned(f"410_{state.value}", console_link_refused(410, EndedAccess(ended, "S3 prod"), END + timedelta(hours=1)))


def test_without_a_display_name_the_page_names_the_profile_key() -> None:
    pinned("410_extended_no_display_name",
           console_link_refused(410, EndedAccess(request(State.ACTIVE, expires_at=END + timedelta(hours=2)), ""),
                                END + timedelta(minutes=30)))


def test_the_getting_ready_page() -> None:
    pinned("200_getting_ready", console_getting_ready(grant(), START))


@pytest.mark.parametrize("accept, html", [
    ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", True),
    ("text/html;q=1, application/json", True),
    ("text/html, application/json;q=1.5", True),  # a q above 1 counts as 1: a tie goes to the page
    ("text/html;q=1.5, application/json;q=1", True),
    ("text/html;q=0.5, application/json", False),
    ("text/html;q", False),
    ("text/html;q=0=1", False),
    ("text/html;q=abc, application/json;q=0.1", False),
    ("application/json", False),
    ("*/*", False),
    (None, False),
])
def test_which_accept_headers_get_the_page(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html
