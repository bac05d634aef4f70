"""bench/cpu_model.py: a child joins a CPU cgroup throttled to Lambda's share for its memory before it execs,
and the group is gone afterwards; where no cgroup can be written the bench says so in one line."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import cpu_model, memory_curve

SPIN = """import json, time
start, cpu = time.perf_counter(), time.process_time()
while time.perf_counter() - start < 1.0:
    pass
print(json.dumps({"wall": time.perf_counter() - start, "cpu": time.process_time() - cpu}))"""


def test_a_child_in_the_128_mb_group_gets_about_its_share_of_one_cpu() -> None:
    why = cpu_model.unavailable()
    if why:
        pytest.skip(why)
    with cpu_model.CpuGroup(128) as group:
        done = subprocess.run([sys.executable, "-c", SPIN], capture_output=True, text=True, timeout=30,
                              preexec_fn=group.join, check=True)
        assert (group.path / "cpu.cfs_quota_us").read_text().strip() == "7236"  # 128/1769 of 100000 us
    spun = json.loads(done.stdout)
    assert spun["cpu"] / spun["wall"] < 0.15  # unthrottled, a busy loop gets ~1.0 of a CPU
    assert not group.path.exists()


def test_shares_follow_lambdas_memory_to_cpu_ratio() -> None:
    assert cpu_model.cpu_share(1769) == 1.0
    assert round(cpu_model.cpu_share(128), 3) == 0.072
    assert cpu_model.cpu_share(3538) == 1.0  # one interpreter thread cannot use a second vCPU


def test_without_a_cgroup_the_curve_is_skipped_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    why = cpu_model.unavailable(tmp_path / "no-cpu-controller")
    assert why and "\n" not in why and "no-cpu-controller" in why
    monkeypatch.setattr(cpu_model, "unavailable", lambda: why)
    curve = memory_curve.run(world=None, source_account="111111111111", archive=tmp_path / "unused.zip")
    assert curve == {"skipped": why}
    assert memory_curve.render(curve) == [f"LAMBDA CPU MODEL: skipped, {why}"]


def test_the_monthly_cost_counts_requests_and_billed_gb_seconds() -> None:
    # 30,000 requests; 1 GB x 0.5 s each = 15,000 GB-s
    expected = 30_000 * memory_curve.PRICE_PER_REQUEST_USD + 15_000 * memory_curve.PRICE_PER_GB_SECOND_USD
    assert memory_curve.monthly_cost_usd(1024, 500) == pytest.approx(expected)
    assert memory_curve.monthly_cost_usd(1024, 500) == pytest.approx(0.256, abs=0.001)
