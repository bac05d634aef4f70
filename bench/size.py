"""Size of what Lambda loads: the deployment zip `make package` builds, and what takes the room inside it."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def package(out: Path, stage: str = "dev", top: int = 5) -> dict[str, Any]:
    """Builds the deployment zip into `out` as `make package` does: `chalice package` (it pip-downloads the
    requirements; chalice caches them in .chalice/deployments), then what tools/package.compile_package adds."""
    from tools.package import compile_package

    chalice = Path(sys.executable).with_name("chalice")
    started = time.perf_counter()
    done = subprocess.run([str(chalice), "package", "--stage", stage, str(out)], cwd=ROOT, capture_output=True,
                          text=True, timeout=600, env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"})
    if done.returncode != 0:
        return {"error": f"chalice package failed: {(done.stderr or done.stdout)[-500:]}"}
    zipped = out / "deployment.zip"
    sources_mb = _mb(zipped.stat().st_size)
    compile_package(zipped)
    by_package: Counter[str] = Counter()
    with zipfile.ZipFile(zipped) as archive:
        entries = archive.infolist()
        for entry in entries:
            by_package[entry.filename.split("/")[0].split(".dist-info")[0]] += entry.compress_size
        unpacked = sum(e.file_size for e in entries)
    return {"zip": str(zipped), "zip_mb": _mb(zipped.stat().st_size), "sources_only_zip_mb": sources_mb,
            "unzipped_mb": _mb(unpacked), "files": len(entries), "package_s": round(time.perf_counter() - started, 1),
            "largest": [{"name": name, "zipped_mb": _mb(size)} for name, size in by_package.most_common(top)]}


def _mb(size: int) -> float:
    return round(size / 1_000_000, 1)
