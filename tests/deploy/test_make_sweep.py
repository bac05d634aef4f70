"""`make sweep` tells Slack what it did, as `make run`'s own sweeper does: a grant it ends is announced to the
requester through the Slack stub `make run` started (before, .local/env had no bot token, so that process had no
notifier and ended grants silently)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.domain.requests import State
from tools import run_local
from tools.slack_stub import SlackStub, visible

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stub():
    started = SlackStub().start()
    yield started
    started.stop()


def local_env(path: Path, world, stub: SlackStub) -> None:
    """.local/env as `make run` writes it, with its local Slack stub."""
    env = {**run_local._environment(world.emulator.endpoint, world.keys["broker"], 8000, 0),
           "SLACK_API_URL": stub.api_url, "SLACK_BOT_TOKEN": run_local.STUB_BOT_TOKEN, "SLACK_STUB_URL": stub.url,
           "SLACK_SIGNING_SECRET": "0123456789abcdef"}
    run_local._write_env(path, env, world.credentials_file)


def make_sweep(env_file: Path, **extra: str) -> subprocess.CompletedProcess:
    """`make sweep` from a fresh shell: nothing of this test's environment but PATH."""
    return subprocess.run([sys.executable, "-m", "tools.sweep_once", "--env-file", str(env_file)], cwd=ROOT,
                          env={"PATH": os.environ["PATH"], **extra}, capture_output=True, text=True, timeout=120)


def test_make_sweep_tells_the_requester_their_access_ended(
        api, broker, world, clock, stub, tmp_path) -> None:
    clock.advance(hours=-2)  # asked for and granted two hours ago, for one hour
    request = api.create(duration="1h")
    assert api.post(f"/v1/requests/{request['id']}/approve", "bob").json["state"] == "active"
    local_env(tmp_path / "env", world, stub)

    done = make_sweep(tmp_path / "env")

    assert done.returncode == 0, done.stderr
    assert "1 expired" in done.stdout
    assert broker.repo.get(request["id"]).state == State.EXPIRED
    told = [visible(c.body, {}) for c in stub.calls("chat.postMessage") if c.body.get("channel") == "U01S3ACCESS"]
    assert any("Access expired" in text for text in told), stub.calls()


def test_the_placeholder_token_reaches_env_but_a_real_one_does_not(
        world, stub, tmp_path) -> None:
    local_env(tmp_path / "stub", world, stub)
    assert f"SLACK_BOT_TOKEN={run_local.STUB_BOT_TOKEN}\n" in (tmp_path / "stub").read_text()
    env = {**run_local._environment(world.emulator.endpoint, world.keys["broker"], 8000, 0),
           "SLACK_BOT_TOKEN": "xoxb-real-1234", "SLACK_SIGNING_SECRET": "0123456789abcdef"}
    run_local._write_env(tmp_path / "real", env, world.credentials_file)
    assert "xoxb-real" not in (tmp_path / "real").read_text()


def test_without_a_bot_token_make_sweep_refuses_in_one_line(world, tmp_path) -> None:
    env = {**run_local._environment(world.emulator.endpoint, world.keys["broker"], 8000, 0),
           "SLACK_BOT_TOKEN": "xoxb-real-1234", "SLACK_SIGNING_SECRET": "0123456789abcdef"}
    run_local._write_env(tmp_path / "env", env, world.credentials_file)  # a real Slack: its token stays out

    done = make_sweep(tmp_path / "env")

    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "SLACK_BOT_TOKEN=" in done.stderr
