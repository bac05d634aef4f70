"""Stopping a child process the tools started: asked first (SIGTERM), killed only if it does not end in time."""
from __future__ import annotations

import subprocess


def stop_child(proc: subprocess.Popen, grace_s: float) -> int:  # type: ignore[type-arg]
    """Ends `proc` if it still runs: SIGTERM, up to `grace_s` seconds to exit, then SIGKILL. Closes the pipes we
    hold to it. Returns its exit code (negative: the signal that ended it)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None and not stream.closed:
            stream.close()
    return int(proc.returncode)
