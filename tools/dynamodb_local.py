"""DynamoDB Local (AWS's own emulator, a Java jar that `make` fetches into .cache/) in a child process."""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from tools.children import stop_child

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30.0  # 3-5 s when the machine is idle; two busy cores can make it much slower
FETCH_HINT = "run `make dynamodb-local` (npm pack amplify-dynamodb-simulator into .cache/)"


def emulator_dir() -> Path:
    """Where DynamoDBLocal.jar and DynamoDBLocal_lib/ are: $DYNAMODB_LOCAL_DIR (set by `make test`), else
    the newest copy `make` unpacked under .cache/."""
    if os.environ.get("DYNAMODB_LOCAL_DIR"):
        return Path(os.environ["DYNAMODB_LOCAL_DIR"])
    unpacked = sorted(REPO.glob(".cache/dynamodb-local-*/DynamoDBLocal.jar"), key=lambda p: p.stat().st_mtime)
    return unpacked[-1].parent if unpacked else REPO / ".cache" / "dynamodb-local-missing"


def unavailable(directory: Path) -> str | None:
    """Why DynamoDB Local cannot run here (one line), or None when it can."""
    if shutil.which("java") is None:
        return "DynamoDB Local needs Java (17 or newer) on PATH, e.g. `apt-get install openjdk-17-jre-headless`"
    if not (directory / "DynamoDBLocal.jar").is_file():
        return f"DynamoDB Local is not at {directory}/DynamoDBLocal.jar; {FETCH_HINT}"
    return None


class DynamoDBLocal:
    """One in-memory DynamoDB Local on 127.0.0.1, started by `start`, ended by `stop` (or the with-block)."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, log: IO[bytes]) -> None:
        self._proc, self._log = proc, log
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"

    @classmethod
    def start(cls, directory: Path, workdir: Path, attempts: int = 3) -> DynamoDBLocal:
        """Starts the jar with `workdir` as its working directory (it writes dynamodb-local-metadata.json
        there) and returns once its port accepts connections."""
        deadline = time.monotonic() + START_TIMEOUT_S
        for attempt in range(attempts):
            # The jar cannot report the port it bound, so pick a free one; if another process takes it
            # first the jar exits at once and we try another.
            port = _free_port()
            log = tempfile.TemporaryFile()
            proc = subprocess.Popen(
                ["java", f"-Djava.library.path={directory / 'DynamoDBLocal_lib'}", "-jar",
                 str(directory / "DynamoDBLocal.jar"), "-inMemory", "-disableTelemetry", "-port", str(port)],
                cwd=workdir, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent)
            server = cls(proc, port, log)
            try:
                if server._wait_until_listening(deadline):
                    return server
            except BaseException:
                server.stop()
                raise
            output = _tail(log)
            server.stop()
            if attempt == attempts - 1 or time.monotonic() > deadline:
                raise RuntimeError(f"DynamoDB Local did not start on port {port}; its output:\n{output}")
        raise AssertionError("unreachable")

    def _wait_until_listening(self, deadline: float) -> bool:
        """True once the port accepts a connection; False if the process ended first. Raises on timeout."""
        while self._proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"DynamoDB Local did not open port {self.port} within {START_TIMEOUT_S:.0f} s; "
                        f"its output:\n{_tail(self._log)}") from None
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        stop_child(self._proc, grace_s=10)
        self._log.close()

    def __enter__(self) -> DynamoDBLocal:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """Runs in the child before exec: the JVM does not notice its parent dying (it reads no stdin), so ask
    Linux to send it SIGTERM then; a killed test run must not leave a 170 MB emulator behind."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _tail(log: IO[bytes], limit: int = 2000) -> str:
    log.seek(0)
    return log.read().decode(errors="replace")[-limit:]
