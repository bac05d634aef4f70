"""A second `make run` on a busy port fails in one line naming ACCESS_BROKER_PORT, before it starts a world or
touches the first one's .local/env and .local/aws-credentials."""
from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Iterator

import pytest

from tools import run_local


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


@pytest.fixture
def first_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The first `make run`'s files, and a world that must not be started again."""
    local = tmp_path / ".local"
    local.mkdir()
    (local / "env").write_text("ACCESS_BROKER_URL=http://127.0.0.1:8000\n")
    (local / "aws-credentials").write_text("[broker]\n")
    monkeypatch.setattr(run_local, "LOCAL", local)

    def start_world() -> None:
        raise AssertionError("a second world was started on a busy port")

    monkeypatch.setattr(run_local, "start_world", start_world)
    return local


def run(monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setattr(sys, "argv", ["run_local", *args])
    with pytest.raises(SystemExit) as stopped:
        run_local.main()
    return str(stopped.value.code)


def test_a_busy_port_from_the_environment_fails_in_one_line(busy_port: int, first_run: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_BROKER_PORT", str(busy_port))
    message = run(monkeypatch)
    assert "\n" not in message and f"port {busy_port}" in message and "ACCESS_BROKER_PORT=" in message
    assert (first_run / "env").read_text() == "ACCESS_BROKER_URL=http://127.0.0.1:8000\n"
    assert (first_run / "aws-credentials").read_text() == "[broker]\n"


def test_a_busy_port_given_with_port_fails_the_same_way(busy_port: int, first_run: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCESS_BROKER_PORT", raising=False)
    assert "ACCESS_BROKER_PORT=" in run(monkeypatch, "--port", str(busy_port))


def test_a_port_that_is_not_a_number_is_named(first_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCESS_BROKER_PORT", "80OO")
    assert run(monkeypatch) == "make run: ACCESS_BROKER_PORT='80OO' is not a port number; give one like 8001"
