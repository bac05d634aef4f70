"""`make run` starts the world with IAM's propagation delay: LOCAL_IAM_PROPAGATION seconds, 5 when unset, 0 for none;
anything else stops it in one line naming the variable, before a world starts. The broker is told the same delay."""
from __future__ import annotations

import sys

import pytest

from tools import run_local
from tools.world import Keys


class WorldStarted(Exception):
    pass


def started_with(monkeypatch: pytest.MonkeyPatch, value: str | None) -> float:
    """The delay `make run` starts the world with when LOCAL_IAM_PROPAGATION is `value` (None: unset)."""
    if value is None:
        monkeypatch.delenv("LOCAL_IAM_PROPAGATION", raising=False)
    else:
        monkeypatch.setenv("LOCAL_IAM_PROPAGATION", value)
    monkeypatch.setattr(run_local, "_check_port_free", lambda port: None)
    given: list[float] = []

    def start_world(propagation_s: float = 0.0) -> None:
        given.append(propagation_s)
        raise WorldStarted

    monkeypatch.setattr(run_local, "start_world", start_world)
    monkeypatch.setattr(sys, "argv", ["run_local", "--port", "8000"])
    with pytest.raises(WorldStarted):
        run_local.main()
    return given[0]


def test_the_delay_defaults_to_five_seconds_and_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert started_with(monkeypatch, None) == 5.0
    assert started_with(monkeypatch, "") == 5.0
    assert started_with(monkeypatch, "1.5") == 1.5
    assert started_with(monkeypatch, "0") == 0.0


@pytest.mark.parametrize("value", ["-1", "soon", "nan", "inf", "5s"])
def test_a_delay_that_is_not_seconds_stops_make_run_in_one_line(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(SystemExit) as stopped:
        started_with(monkeypatch, value)
    message = str(stopped.value.code)
    assert "\n" not in message and f"LOCAL_IAM_PROPAGATION={value!r}" in message and "seconds" in message


def test_the_broker_is_told_the_worlds_delay() -> None:
    env = run_local._environment("http://127.0.0.1:5000", Keys("AKIA", "secret"), 8000, 1.5)
    assert env["LOCAL_IAM_PROPAGATION"] == "1.5"
