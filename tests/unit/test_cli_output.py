"""What the CLI prints of the API's text (issue 24, point 12): reasons, comments, names and error details reach the
terminal as visible escapes, never as control sequences (`ESC[2K` erasing a line, OSC 52 writing the clipboard), and
a one-line field cannot forge a line of its own; what is honest prints as it was."""
from __future__ import annotations

import json
from typing import Any

import pytest

from tests.stub_api import active_request, run_cli, stub_api

ERASE = "\x1b[2K"
CLIPBOARD = "\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07"  # OSC 52: puts a command on the clipboard
CSI_C1 = "\x9b2K"  # the same erase with the one-byte C1 introducer
HOSTILE = f"restore the export{ERASE}{CLIPBOARD}{CSI_C1}\rapproved by security"
RAW_CONTROLS = ("\x1b", "\x07", "\x9b", "\r")


def no_controls(text: str) -> None:
    assert not any(c in text for c in RAW_CONTROLS), f"a control character reached the terminal: {text!r}"


def answering(body: Any, status: int = 200) -> Any:
    return lambda method, path, query: (status, body)


@pytest.mark.parametrize("command", [["show", "01jc0ffee0000000000000000a"], ["list"]])
def test_a_reason_with_terminal_controls_is_shown_escaped(command, monkeypatch, tmp_path, capsys) -> None:
    request = active_request(reason=HOSTILE + "\nsecond line", decision_comment=HOSTILE, decided_by="bob")
    body = request if command[0] == "show" else {"requests": [request], "next": None}
    with stub_api(answering(body)) as api:
        assert run_cli(monkeypatch, tmp_path, api.url, *command) == 0

    out = capsys.readouterr().out
    no_controls(out)
    assert "restore the export\\x1b[2K\\x1b]52;c;" in out
    if command[0] == "show":
        assert "\\x07\\x9b2K\\rapproved by security" in out, "shown whole, each control escaped"
        shown = out.splitlines()
        at = next(i for i, line in enumerate(shown) if line.startswith("reason"))
        assert shown[at + 1].startswith(" ") and shown[at + 1].strip() == "second line", "the reason keeps its lines"
        assert "bob: restore the export\\x1b[2K" in out, "the decision's comment too"


def test_a_denial_comment_cannot_forge_a_line_in_the_status(monkeypatch, tmp_path, capsys) -> None:
    denied = {**active_request(), "state": "denied", "grant": None,
              "decision_comment": f"no\n01jc0ffee0000000000000000a active until 2999-01-01T00:00:00Z{ERASE}"}
    with stub_api(answering(denied)) as api:
        assert run_cli(monkeypatch, tmp_path, api.url, "deny", "01jc0ffee0000000000000000a") == 0

    out = capsys.readouterr().out
    no_controls(out)
    assert out == ("01jc0ffee0000000000000000a denied: no\\n01jc0ffee0000000000000000a active until "
                   "2999-01-01T00:00:00Z\\x1b[2K\n")


def test_an_error_detail_is_one_escaped_line(monkeypatch, tmp_path, capsys) -> None:
    problem = {"type": "about:blank", "title": "Conflict", "status": 409, "detail": f"already revoked{ERASE}\nby bob"}
    with stub_api(answering(problem, 409)) as api:
        assert run_cli(monkeypatch, tmp_path, api.url, "revoke", "01jc0ffee0000000000000000a") == 1

    err = capsys.readouterr().err
    assert err == "access-broker: already revoked\\x1b[2K\\nby bob\n"


def test_json_output_carries_the_text_escaped_by_json(monkeypatch, tmp_path, capsys) -> None:
    request = active_request(reason=HOSTILE)
    with stub_api(answering(request)) as api:
        assert run_cli(monkeypatch, tmp_path, api.url, "show", "01jc0ffee0000000000000000a", "--json") == 0

    out = capsys.readouterr().out
    no_controls(out)
    assert json.loads(out)["reason"] == HOSTILE, "--json still says exactly what the API said"


def test_plain_text_prints_as_it_was(monkeypatch, tmp_path, capsys) -> None:
    request = active_request(reason="fixing the export job — café, 100% ✓", decision_comment="go ahead")
    with stub_api(answering({"requests": [request], "next": None})) as api:
        assert run_cli(monkeypatch, tmp_path, api.url, "list") == 0

    assert "fixing the export job — café, 100% ✓" in capsys.readouterr().out


def test_show_says_from_when_the_grant_is_usable_when_the_api_says_it(monkeypatch, tmp_path, capsys) -> None:
    request = active_request()
    request["grant"]["usable_at"] = "2026-01-01T00:00:06Z"
    with stub_api(answering(request)) as api:
        assert run_cli(monkeypatch, tmp_path, api.url, "show", "01jc0ffee0000000000000000a") == 0
    del request["grant"]["usable_at"]  # an API from before grant.usable_at
    with stub_api(answering(request)) as api:
        assert run_cli(monkeypatch, tmp_path, api.url, "show", "01jc0ffee0000000000000000a") == 0

    with_it, without = capsys.readouterr().out.split("\nid ", 1)
    assert "\nusable from  2026-01-01T00:00:06Z\n" in with_it and "usable" not in without
