"""`request --wait`: poll the request with backoff until it is decided or the timeout passes. On a terminal one
line keeps showing the state and the time waited; piped, a plain line is printed each time the state changes."""
from __future__ import annotations

import time
from typing import Any, Callable, Dict, Optional, TextIO

from access_broker_cli import render
from access_broker_cli.durations import clock, human
from access_broker_cli.errors import NotActive, Unreachable
from access_broker_cli.terminal import one_line

UNDECIDED = ("pending", "approved")  # approved: the grant is being applied, active in a moment
FIRST_DELAY_S = 1.0
BACKOFF = 1.5
MAX_DELAY_S = 15.0
DEFAULT_TIMEOUT_S = 15 * 60


def wait(get: Callable[[], Dict[str, Any]], request_id: str, timeout_s: float, out: TextIO,
         now: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> Dict[str, Any]:
    """The request once decided. NotActive (carrying the last request seen) when the timeout passes first."""
    progress = Progress(out)
    try:
        return _poll(get, request_id, timeout_s, progress, now, sleep)
    finally:
        progress.done()  # on a terminal, end the progress line whatever happens (Ctrl-C included)


def _poll(get: Callable[[], Dict[str, Any]], request_id: str, timeout_s: float, progress: Progress,
          now: Callable[[], float], sleep: Callable[[float], None]) -> Dict[str, Any]:
    start, delay = now(), FIRST_DELAY_S
    request: Optional[Dict[str, Any]] = None
    while True:
        try:
            request = get()
            line = render.status(request)
        except Unreachable as exc:  # a blip in the network is no reason to stop waiting
            line = f"{request_id}: {exc.message}; trying again"
        progress.show(line, now() - start)
        if request is not None and request["state"] not in UNDECIDED:
            return request
        if now() - start >= timeout_s:
            state = request["state"] if request else "unknown"
            raise NotActive(f"{request_id} is still {state} after waiting {human(timeout_s)}; "
                            f"see it with: access-broker show {request_id}", request)
        wake = min(now() + delay, start + timeout_s)
        delay = min(delay * BACKOFF, MAX_DELAY_S)
        while now() < wake:
            sleep(min(1.0, wake - now()))
            progress.show(line, now() - start)


class Progress:
    """A line of progress on `out`: rewritten in place on a terminal, a plain line per change when piped."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._tty = out.isatty()
        self._last: Optional[str] = None

    def show(self, line: str, elapsed: float) -> None:
        line = one_line(line)  # this writes to the terminal itself: the API's words in it must not steer it
        if self._tty:
            self._out.write(f"\r\033[K{line}, waited {clock(elapsed)}")
        elif line != self._last:
            self._out.write(f"[{clock(elapsed)}] {line}\n")
        self._last = line
        self._out.flush()

    def done(self) -> None:
        if self._tty and self._last is not None:
            self._out.write("\n")
            self._out.flush()
