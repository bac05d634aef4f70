"""The catalogs the bench runs on, written as YAML files for ACCESS_BROKER_CATALOG: the demo catalog without on-call
auto-approval (the generic flows and the cold start measure what they always measured, as the tests run them:
tests/conftest.py `demo_catalog`), and a directory catalog at scale (bench/directory_scale.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEMO = Path(__file__).resolve().parent.parent / "chalicelib" / "catalog" / "demo.yaml"


def demo_without_on_call(into: Path) -> Path:
    """The demo catalog with its `on_call` settings and every profile's `auto_approve` taken out."""
    doc: dict[str, Any] = yaml.safe_load(DEMO.read_text())
    doc.pop("on_call", None)
    for profile in doc["profiles"].values():
        profile.pop("auto_approve", None)
    return _write(into / "demo-without-on-call.yaml", doc)


def directory_at_scale(into: Path, iam_groups: list[str], approvers: str, slack_usergroup: str) -> Path:
    """People from `iam_groups` only (no `people` entries); approvers: the members of the IAM group `approvers`
    and of the Slack user group `slack_usergroup`; the demo's role as profile s3-prod, requested by anyone."""
    demo = yaml.safe_load(DEMO.read_text())["profiles"]["s3-prod"]
    doc = {"source_account": "111111111111", "security_channel": "C01SECURITY",
           "directory": {"iam_groups": iam_groups, "email_tag": "email", "slack_id_tag": "slack-user-id",
                         "refresh": "5m"},
           "groups": {"approvers": {"iam_group": approvers}, "slack-approvers": {"slack_usergroup": slack_usergroup}},
           "profiles": {"s3-prod": {key: demo[key] for key in ("account", "role", "display_name", "default_duration",
                                                               "max_duration", "approval_channel")}
                        | {"approvers": ["approvers", "slack-approvers"]}}}
    return _write(into / "directory-at-scale.yaml", doc)


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
