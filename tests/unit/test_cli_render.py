"""What `profiles`, `list`, `show` and the one-line status of `approve`, `deny`, `cancel`, `revoke`, `extend` and
`request --wait` print, for a request in every state: pinned whole in tests/cli/expected/render/ (UPDATE_EXPECTED=1
rewrites them for review, tests/expected.py). The clock is fixed, so "59m left" stays 59m. And `--json` prints the
API's own JSON, not the text."""
from __future__ import annotations

import copy
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from access_broker_cli import durations, render
from tests.expected import matches
from tests.stub_api import active_request, run_cli, stub_api

EXPECTED = Path(__file__).resolve().parents[1] / "cli" / "expected" / "render"
NOW = datetime(2026, 1, 1, 0, 0, 0, tzinfo=timezone.utc)
ROLE = "arn:aws:iam::222222222222:role/team/switch-role-for-S3"


def request_in(state: str, letter: str, **fields: Any) -> dict[str, Any]:
    made = active_request(f"01jc0ffee000000000000000{letter}", role_arn=ROLE, expires_at="2026-01-01T00:59:30Z",
                          state=state)
    made["grant"]["console_url"] = f"/v1/console/{letter}"
    return {**made, **fields}


UNDECIDED = {"grant": None, "approvals": []}
REQUESTS = {
    "pending": request_in("pending", "0a", **UNDECIDED),
    "pending_one_of_two": request_in("pending", "0b", grant=None, approvals_required=2,
                                     approvals=[{"by": "bob", "at": "2026-01-01T00:00:05Z"}]),
    "approved": request_in("approved", "0d", grant=None, decided_by="bob"),
    "active_two_approvals": request_in("active", "0u", approvals_required=2, decided_by="carol",
                                       approvals=[{"by": "bob", "at": "2026-01-01T00:00:05Z"},
                                                  {"by": "carol", "at": "2026-01-01T00:01:00Z", "comment": "ok"}]),
    "active": request_in("active", "0e", decided_by="bob", decision_comment="go ahead"),
    "active_usable_at": request_in("active", "0f"),
    "active_extension_asked": request_in("active", "0g", extension={"duration_seconds": 1800}),
    "active_for_a_person_by_a_tool": request_in("active", "0h", requested_by_tool="ticket-bot",
                                                requester={"id": "alice", "iam_user": "alice-iam"}),
    "active_without_grant": request_in("active", "0j", grant=None),
    "denied": request_in("denied", "0k", grant=None, decided_by="carol", decision_comment="not this week",
                         reason="a reason that runs on and on, well beyond the forty characters of a list cell"),
    "cancelled": request_in("cancelled", "0m", **UNDECIDED, reason="restore the nightly export to the bucket"),
    "timed_out": request_in("timed_out", "0n", **UNDECIDED),
    "failed": request_in("failed", "0p", failure_reason="the role does not exist", decision_comment="go ahead"),
    "failed_without_a_reason": request_in("failed", "0s", decision_comment="go ahead"),
    "revoked_after_an_approval_with_a_comment": request_in("revoked", "0t", decided_by="dave",
                                                           decision_comment="go ahead"),
    "expired": request_in("expired", "0q", reason="multi\nline\treason  with   gaps"),
    "revoked": request_in("revoked", "0r", decided_by="dave"),
}
REQUESTS["active_usable_at"]["grant"]["usable_at"] = "2026-01-01T00:00:06Z"
PROFILES = [
    {"name": "s3-prod", "account": "222222222222", "role_arn": ROLE, "default_duration_seconds": 3600,
     "min_duration_seconds": 900, "max_duration_seconds": 14400, "approvals_required": 1},
    {"name": "billing-read", "account": "333333333333", "role_arn": "arn:aws:iam::333333333333:role/billing",
     "default_duration_seconds": 5400, "min_duration_seconds": 60, "max_duration_seconds": 90000,
     "approvals_required": 0},
    {"name": "db-admin", "account": "444444444444", "role_arn": "arn:aws:iam::444444444444:role/a/b/db-admin",
     "default_duration_seconds": 1800, "min_duration_seconds": 1800, "max_duration_seconds": 7200,
     "approvals_required": 2},
]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "seconds_until", lambda text: durations.seconds_until(text, NOW))


def test_the_status_line_in_every_state() -> None:
    matches(EXPECTED / "status.json", {name: render.status(r) for name, r in REQUESTS.items()})


def test_show_in_every_state() -> None:
    shown = {name: render.request(r, f"https://api.example.com/v1/console/{name}" if r.get("grant") else None)
             .splitlines() for name, r in REQUESTS.items()}
    shown["active_without_a_console_link"] = render.request(REQUESTS["active"], None).splitlines()
    matches(EXPECTED / "show.json", shown)


def test_list_of_requests_in_every_state() -> None:
    matches(EXPECTED / "list.json", render.requests(list(REQUESTS.values())).splitlines())


def test_profiles() -> None:
    matches(EXPECTED / "profiles.json", render.profiles(PROFILES).splitlines())


def test_nothing_to_list_says_so() -> None:
    assert render.requests([]) == "no requests"
    assert render.profiles([]) == "no profiles you may request"


def test_a_grant_that_has_ended_has_no_time_left_rather_than_a_negative_one(monkeypatch) -> None:
    monkeypatch.setattr(render, "seconds_until", lambda text: -42.0)
    assert render.status(REQUESTS["active"]) == "01jc0ffee0000000000000000e active until 2026-01-01T00:59:30Z (0s left)"


def test_the_renderers_leave_the_request_as_the_api_gave_it() -> None:
    given = copy.deepcopy(REQUESTS)
    for r in REQUESTS.values():
        render.status(r), render.request(r, None)
    render.requests(list(REQUESTS.values()))
    assert REQUESTS == given


def answering(routes: dict[str, Any]) -> Any:
    return lambda method, path, query: (200, routes[path])


def test_the_commands_print_the_text_and_with_json_the_apis_json(monkeypatch, tmp_path, capsys) -> None:
    monkeypatch.setattr(render, "seconds_until", lambda text: 3570.0)
    one = REQUESTS["active"]
    routes = {"/v1/profiles": {"profiles": PROFILES}, "/v1/requests": {"requests": [one], "next": None},
              f"/v1/requests/{one['id']}": one}
    with stub_api(answering(routes)) as api:
        link = f"{api.url}/v1/console/0e"
        for argv, text, as_json in [
            (["profiles"], render.profiles(PROFILES), {"profiles": PROFILES}),
            (["list"], render.requests([one]), {"requests": [one], "next": None}),
            (["show", one["id"]], render.request(one, link), one),
            (["console", one["id"]], link, {**one, "console_url": link}),
        ]:
            assert run_cli(monkeypatch, tmp_path, api.url, *argv) == 0
            assert capsys.readouterr() == (text + "\n", ""), argv
            assert run_cli(monkeypatch, tmp_path, api.url, *argv, "--json") == 0
            out, err = capsys.readouterr()
            assert (json.loads(out), err) == (as_json, ""), argv
            assert out == json.dumps(as_json, indent=2, ensure_ascii=True) + "\n"


@pytest.mark.parametrize("state", ["expired", "revoked", "failed"])
def test_show_gives_no_console_link_once_the_grant_has_ended(state: str, monkeypatch, tmp_path, capsys) -> None:
    """The API keeps an ended grant's console_url; the link signs in no more, so `show` does not offer it (as
    `console` refuses it)."""
    ended = {**REQUESTS["active"], "state": state}
    with stub_api(answering({f"/v1/requests/{ended['id']}": ended})) as api:
        assert run_cli(monkeypatch, tmp_path, api.url, "show", ended["id"]) == 0
        assert run_cli(monkeypatch, tmp_path, api.url, "console", ended["id"]) == 1
    out, err = capsys.readouterr()
    assert "console" not in out and "/v1/console/" not in out
    assert out.splitlines()[1] == f"state        {state}"
    assert err == f"access-broker: request {ended['id']} is {state}: a console link exists only while it is active\n"
