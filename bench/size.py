"""Size of what Lambda loads: the `chalice package` zip, and what takes the room inside it."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def package(stage: str = "dev", top: int = 5) -> dict[str, Any]:
    """Runs `chalice package` (it pip-downloads the requirements; chalice caches them in .chalice/deployments)."""
    chalice = Path(sys.executable).with_name("chalice")
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        done = subprocess.run([str(chalice), "package", "--stage", stage, out], cwd=ROOT, capture_output=True,
                              text=True, timeout=600, env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"})
        if done.returncode != 0:
            return {"error": f"chalice package failed: {(done.stderr or done.stdout)[-500:]}"}
        zipped = Path(out) / "deployment.zip"
        by_package: Counter[str] = Counter()
        with zipfile.ZipFile(zipped) as archive:
            entries = archive.infolist()
            for entry in entries:
                by_package[entry.filename.split("/")[0].split(".dist-info")[0]] += entry.compress_size
            unpacked = sum(e.file_size for e in entries)
        return {"zip_mb": _mb(zipped.stat().st_size), "unzipped_mb": _mb(unpacked), "files": len(entries),
                "package_s": round(time.perf_counter() - started, 1),
                "largest": [{"name": name, "zipped_mb": _mb(size)} for name, size in by_package.most_common(top)]}


def _mb(size: int) -> float:
    return round(size / 1_000_000, 1)
