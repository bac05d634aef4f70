"""`make demo`: the seed scenario step by step against a fresh local world, every step as it should be."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_demo_walks_through_the_whole_scenario() -> None:
    done = subprocess.run([sys.executable, "-m", "tools.demo"], cwd=ROOT, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    steps = re.findall(r"^(\d+)\. (.+?) \.+ (.+)$", done.stdout, re.MULTILINE)
    results = {what: result for _, what, result in steps}
    assert [int(n) for n, _, _ in steps] == list(range(1, 11)), done.stdout
    assert results["s3-access switches into account 2 before any grant"].startswith("refused")
    assert "pending" in results["s3-access asks for s3-prod for 1h"]
    assert results["bob approves"].startswith("active until")
    assert results["s3-access switches into account 2 (sts assume-role)"] == "allowed"
    assert "hello.txt" in results["as the role, list the shared bucket"]
    assert results["as the role, describe EC2 instances"].startswith("refused")
    assert results["s3-access revokes the grant"].startswith("revoked")
    assert results["s3-access switches into account 2 again"].startswith("refused")
    assert results["the session opened before the revoke lists the bucket again"].startswith("refused")
    assert results["the audit trail of the request"] == ("created -> auto_approve_skipped -> approved -> activated -> "
                                                         "revoked"), "nobody is on call: people decide"
    assert "Traceback" not in done.stdout + done.stderr
