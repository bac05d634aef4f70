"""The Slack answer path stays light: importing the app loads neither slack_sdk (~200 ms cold) nor the
worker; they load only where deferred work runs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_app_and_the_slack_routes_loads_no_slack_sdk() -> None:
    code = ("import sys, app, chalicelib.routes.slack, chalicelib.slack.deferred; "
            "print(sorted(m for m in sys.modules if m.startswith(('slack_sdk', 'chalicelib.slack.worker', "
            "'chalicelib.slack.blocks', 'chalicelib.slack.web'))))")
    found = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]", found.stdout
