"""`make run` and PagerDuty: PAGERDUTY_API_URL and PAGERDUTY_TOKEN pass through when set; without them a local stand-in
answers, with nobody on call until `make on-call EMAIL=...` (the file it writes) says otherwise."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from chalicelib.domain.on_call import NotOnCall, OnCallNow
from chalicelib.pagerduty import PagerDuty
from tools import pagerduty_stub, run_local

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 28, 3, 0, tzinfo=timezone.utc)


@pytest.fixture
def on_call_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "pagerduty-oncall.json"
    monkeypatch.setattr(pagerduty_stub, "ON_CALL_FILE", path)
    for name in ("PAGERDUTY_API_URL", "PAGERDUTY_TOKEN", "ACCESS_BROKER_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_real_pagerduty_settings_pass_through(on_call_file, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERDUTY_TOKEN", "u+real-token")
    assert run_local._pagerduty() == ({"PAGERDUTY_TOKEN": "u+real-token"}, None)
    monkeypatch.setenv("PAGERDUTY_API_URL", "https://api.eu.pagerduty.com")
    assert run_local._pagerduty()[0]["PAGERDUTY_API_URL"] == "https://api.eu.pagerduty.com"
    assert not on_call_file.exists()


def test_otherwise_the_stand_in_answers_with_nobody_on_call_until_told(on_call_file) -> None:
    env, stub = run_local._pagerduty()
    try:
        lookups = PagerDuty(token=lambda: env["PAGERDUTY_TOKEN"], clock=lambda: NOW, api_url=env["PAGERDUTY_API_URL"])
        assert lookups.on_call("s3-access@example.com", ["P0SCHED1"]) == NotOnCall()

        done = subprocess.run([sys.executable, "-m", "tools.pagerduty_stub", "on-call", "S3-Access@example.com",
                               "--file", str(on_call_file)], cwd=ROOT, capture_output=True, text=True, check=True)
        assert "on call now in P0SCHED1: S3-Access@example.com" in done.stdout

        found = lookups.on_call("s3-access@example.com", ["P0SCHED1"])
        assert isinstance(found, OnCallNow) and found.schedule == "P0SCHED1"
    finally:
        stub.stop()


def test_the_stand_ins_placeholder_token_reaches_env_but_a_real_one_does_not(tmp_path: Path) -> None:
    run_local._write_env(tmp_path / "stub", {"PAGERDUTY_TOKEN": pagerduty_stub.STUB_TOKEN}, tmp_path / "credentials")
    assert f"PAGERDUTY_TOKEN={pagerduty_stub.STUB_TOKEN}\n" in (tmp_path / "stub").read_text()
    run_local._write_env(tmp_path / "real", {"PAGERDUTY_TOKEN": "u+real-token", "PAGERDUTY_API_URL": "https://x"},
                         tmp_path / "credentials")
    assert "u+real-token" not in (tmp_path / "real").read_text()


def test_make_on_call_refuses_what_is_not_an_email(on_call_file) -> None:
    done = subprocess.run([sys.executable, "-m", "tools.pagerduty_stub", "on-call", "bob", "--file", str(on_call_file)],
                          cwd=ROOT, capture_output=True, text=True)
    assert done.returncode != 0 and "EMAIL='bob' is not an email" in done.stderr
