"""The cold path before and after a change, same run (issue 20: "the cold path is not slower"): an older commit's
files, exported with `git archive` into a throwaway directory, started as one more cold-start case (bench/coldstart.py)
beside this checkout's, with this checkout's interpreter and packages. Its own demo catalog, against the same world."""
from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SERVICE_SPLIT = "8e0a946"  # the last commit before chalicelib/service.py became the package chalicelib/service/


def export(commit: str, into: Path) -> Path | str:
    """`commit`'s tree under `into`; a sentence saying why not when git cannot give it (no git, a shallow clone)."""
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit], capture_output=True,
                                 check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        stderr = getattr(exc, "stderr", b"") or b""
        return f"git archive {commit} failed: {stderr.decode(errors='replace').strip() or exc}"[:300]
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def render(result: dict[str, Any], cold: dict[str, Any]) -> list[str]:
    title = f"SERVICE SPLIT: cold start before ({result['commit']}) and after (this checkout)"
    if "app_before" not in cold.get("ratios", {}):
        return [f"{title}: not measured ({result.get('skipped') or 'skipped'})"]
    rows: list[tuple[Any, ...]] = [(title,), ("  ratio to the floor", "before", "after", "after/before",
                                              "same run, local world, demo catalog without on-call")]
    for measure in ("wall", "cpu"):
        was, now = cold["ratios"]["app_before"][measure], cold["ratios"]["app_local"][measure]
        rows.append((f"  {measure}", f"{was}x", f"{now}x", f"{now / was:.2f}"))
    return ["  ".join(str(c).ljust(w) for c, w in zip(row, (34, 14, 14, 14, 40))).rstrip() for row in rows]
