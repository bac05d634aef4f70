"""The Slack app manifest points at routes the app serves, with the command it answers and minimal scopes: each one
needed by a Web API method the broker calls (CONTRACT.md: the directory's users.info, users.lookupByEmail and
usergroups.users.list)."""
from __future__ import annotations

from pathlib import Path

import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "slack" / "manifest.yaml"


def test_the_manifest_matches_the_app() -> None:
    import app

    manifest = yaml.safe_load(MANIFEST.read_text())
    routes = set(app.app.routes)
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/request-access"
    for url in (command["url"], manifest["settings"]["interactivity"]["request_url"]):
        assert url.startswith("API_URL/") and url.removeprefix("API_URL") in routes, url
        assert "POST" in app.app.routes[url.removeprefix("API_URL")]
    assert manifest["oauth_config"]["scopes"]["bot"] == ["commands", "chat:write", "users:read", "users:read.email",
                                                         "usergroups:read"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
