"""`make slack` while `make run` is down: one line saying so, no traceback."""
from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tools import slack_cli


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


def test_make_slack_says_in_one_line_that_make_run_is_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    env = tmp_path / "env"  # what the last `make run` left behind
    env.write_text(f"ACCESS_BROKER_URL=http://127.0.0.1:{closed_port()}\nSLACK_SIGNING_SECRET=0123456789abcdef\n"
                   f"SLACK_STUB_URL=http://127.0.0.1:{closed_port()}\n")
    monkeypatch.setattr(slack_cli, "ENV_FILE", env)
    assert slack_cli.main(["/request-access", "s3-prod", "1h", "testing"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "`make run`" in err and "Traceback" not in err
