"""tools.children.stop_child: how the local world and DynamoDB Local are stopped."""
from __future__ import annotations

import subprocess
import sys
import time

from tools.children import stop_child

IGNORES_SIGTERM = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); "
                   "time.sleep(60)")


def _child(code: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def test_a_child_that_ends_on_sigterm_is_asked_not_killed() -> None:
    proc = _child("import time; print('ready', flush=True); time.sleep(60)")
    assert stop_child(proc, grace_s=5) == -15
    assert proc.stdin is not None and proc.stdin.closed and proc.stdout is not None and proc.stdout.closed


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace() -> None:
    proc = _child(IGNORES_SIGTERM)
    started = time.monotonic()
    assert stop_child(proc, grace_s=0.3) == -9
    assert 0.3 <= time.monotonic() - started < 5


def test_a_child_that_already_ended_keeps_its_exit_code() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    proc.wait()
    assert stop_child(proc, grace_s=5) == 3
