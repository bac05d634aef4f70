"""Lambda's CPU, modelled on this machine: Lambda gives a function CPU in proportion to its memory (1769 MB is
one vCPU), and the cgroup v1 CPU controller throttles a group of processes the same way. A child group of
/sys/fs/cgroup/cpu gets cpu.cfs_period_us 100000 and cpu.cfs_quota_us = share x 100000; each process to throttle
writes its own pid to the group's cgroup.procs before it execs, so it never runs a moment unthrottled.

Needs root and a writable cgroup v1 cpu controller; `unavailable()` says in one line why not."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Callable

CPU_CONTROLLER = Path("/sys/fs/cgroup/cpu")
ONE_VCPU_MB = 1769  # Lambda: "at 1,769 MB, a function has the equivalent of one vCPU"
PERIOD_US = 100_000


def cpu_share(memory_mb: int) -> float:
    """The share of one CPU Lambda gives a function with `memory_mb` of memory (at most one: the bench
    runs a single-threaded interpreter, which cannot use more)."""
    return min(memory_mb / ONE_VCPU_MB, 1.0)


class CpuGroup:
    """A cgroup throttled to the CPU share of `memory_mb`; removed again on exit (`with CpuGroup(128) as group:`).
    Pass `group.join` as subprocess's `preexec_fn` to run a child inside it."""

    def __init__(self, memory_mb: int, root: Path = CPU_CONTROLLER) -> None:
        self.memory_mb = memory_mb
        self.share = cpu_share(memory_mb)
        self.quota_us = max(1000, round(self.share * PERIOD_US))  # the kernel refuses quotas under 1 ms
        self.path = root / f"access-broker-bench-{os.getpid()}-{memory_mb}mb"

    def __enter__(self) -> CpuGroup:
        self.path.mkdir()
        try:
            (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(self.quota_us))
        except OSError:
            self.path.rmdir()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.rmdir()  # its processes have exited: an empty group can be removed

    @property
    def join(self) -> Callable[[], None]:
        """Moves the calling process into the group (run in the child between fork and exec)."""
        procs = str(self.path / "cgroup.procs")

        def join() -> None:
            with open(procs, "w") as f:
                f.write(str(os.getpid()))

        return join


def unavailable(root: Path = CPU_CONTROLLER) -> str | None:
    """None when a throttled group can be made and joined here; otherwise why not, in one line."""
    if not (root / "cpu.cfs_quota_us").exists():
        return f"no cgroup v1 CPU controller at {root}"
    try:
        with CpuGroup(128, root) as group:  # made, throttled, joined by a child and removed, as the bench will
            subprocess.run([sys.executable, "-c", "pass"], preexec_fn=group.join, check=True, timeout=60)
    except OSError as exc:
        return f"cannot write a CPU cgroup under {root} ({exc.strerror or exc}; it needs root)"
    except subprocess.SubprocessError as exc:
        return f"a process cannot join a CPU cgroup under {root} ({exc})"
    return None
