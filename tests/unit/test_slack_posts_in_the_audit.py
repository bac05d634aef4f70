"""Each message the notifier posts is recorded on the request's trail under its profile, so an auditor scoped to the
profile (GET /audit with profiles) sees where and when Slack was told, as the API's own events."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from chalicelib.slack.notifier import SlackNotifier
from tests import fakes
from tests.fakes import ask


class Slack:
    def call(self, method: str, **arguments: Any) -> dict[str, Any]:
        return {"ok": True, "channel": "D" + arguments["channel"][1:], "ts": "1795867200.000100"}

    def respond(self, response_url: str, message: dict[str, Any]) -> None:
        raise AssertionError("never")


def test_the_posts_about_a_request_are_in_its_profiles_audit() -> None:
    wired = fakes.broker()
    request = ask(wired)
    (created,) = wired.store.events(request.id)
    SlackNotifier(Slack(), wired.store, wired.broker.catalog, wired.clock).notify(request, created)
    posted = [e for e in wired.store.events(request.id) if e.kind == "slack_posted"]
    assert sorted(e.details["purpose"] for e in posted) == ["approval:bob", "approval:carol"]
    audit = wired.store.audit_scoped(["s3-prod"], wired.clock() - timedelta(hours=1), wired.clock(), 50, None)
    assert [e for e in audit.items if e.kind == "slack_posted"] == posted
