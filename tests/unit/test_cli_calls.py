"""How the CLI reads the API's answers (issue 25): a failing server is "unreachable" (exit 4), never "refused"; `list`
prints every page; `request --wait` waits through `approved` to `active`; and (issue 24, point 4) it neither talks
plain http to another machine nor hands a browser a link that is not https."""
from __future__ import annotations

import io

import pytest

from access_broker_cli.errors import NotActive
from access_broker_cli.wait import wait
from tests.stub_api import active_request, run_cli, stub_api


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_failure_exits_4_as_unreachable_not_1_as_refused(status, monkeypatch, tmp_path, capsys) -> None:
    problem = {"type": "about:blank", "title": "Internal Server Error", "status": status, "detail": "boom"}
    with stub_api(lambda method, path, query: (status, problem)) as api:
        code = run_cli(monkeypatch, tmp_path, api.url, "approve", "01jc0ffee0000000000000000a")

    assert code == 4, f"a {status} must exit 4 (the API failed; trying again may work), not {code}"
    assert f"the API failed ({status}): boom" in capsys.readouterr().err


def test_list_follows_the_cursor_and_prints_every_page(monkeypatch, tmp_path, capsys) -> None:
    pages = {None: (["01jc0ffee0000000000000000a", "01jc0ffee0000000000000000b"], "cursor-2"),
             "cursor-2": (["01jc0ffee0000000000000000c"], "cursor-3"),
             "cursor-3": (["01jc0ffee0000000000000000d"], None)}

    def answer(method, path, query):
        ids, following = pages[query.get("next")]
        return 200, {"requests": [active_request(i) for i in ids], "next": following}

    with stub_api(answer) as api:
        assert run_cli(monkeypatch, tmp_path, api.url, "list", "--awaiting-me") == 0

    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()[1:]] == [f"01jc0ffee0000000000000000{c}" for c in "abcd"]
    assert [q for _, _, q in api.asked] == [{"awaiting_me": "true"}, {"awaiting_me": "true", "next": "cursor-2"},
                                            {"awaiting_me": "true", "next": "cursor-3"}], "each page with its filter"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_wait_goes_on_through_approved_until_active() -> None:
    clock = Clock()
    pending = {**active_request(), "state": "pending", "grant": None, "approvals": []}
    approved = {**active_request(), "state": "approved", "grant": None}
    answers = iter([pending, approved, approved, active_request()])

    decided = wait(lambda: next(answers), "r-1", 900, io.StringIO(), now=lambda: clock.now, sleep=clock.sleep)

    assert decided["state"] == "active", "approved is the grant being applied: not yet something to use"


def test_a_wait_that_ends_while_still_approved_says_so() -> None:
    clock = Clock()
    approved = {**active_request(), "state": "approved", "grant": None}

    with pytest.raises(NotActive, match="still approved after waiting 1m"):
        wait(lambda: approved, "r-1", 60, io.StringIO(), now=lambda: clock.now, sleep=clock.sleep)


def test_plain_http_to_another_machine_is_refused_before_any_call(monkeypatch, tmp_path, capsys) -> None:
    assert run_cli(monkeypatch, tmp_path, "http://broker.example.com/api", "profiles") == 2
    assert "plain http only to 127.0.0.1, ::1 or localhost" in capsys.readouterr().err


def test_a_console_link_that_is_not_https_is_not_printed_or_opened(monkeypatch, tmp_path, capsys) -> None:
    hostile = active_request()
    hostile["grant"]["console_url"] = "http://phish.example.com/aws"
    with stub_api(lambda method, path, query: (200, hostile)) as api:
        assert run_cli(monkeypatch, tmp_path, api.url, "console", "01jc0ffee0000000000000000a", "--open") == 1
    out, err = capsys.readouterr()
    assert "phish" not in out and "the link the API gave 'http://phish.example.com/aws' is not an https URL" in err

    with stub_api(lambda method, path, query: (200, active_request())) as api:
        assert run_cli(monkeypatch, tmp_path, api.url, "console", "01jc0ffee0000000000000000a") == 0
    assert capsys.readouterr().out == f"{api.url}/v1/console/token\n", "a link on the API's own loopback host is fine"
