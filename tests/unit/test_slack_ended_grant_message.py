"""The requester's grant DM once the grant has ended says how it ended, however many approvals the grant had."""
from __future__ import annotations

from chalicelib.slack import blocks
from tests import slack_scenes
from tests.fakes import as_, granted


def test_an_ended_grant_of_two_approvals_says_how_it_ended() -> None:
    wired = slack_scenes.wired(approvals_required=2)
    request = granted(wired)
    assert len(request.approvals) == 2
    wired.broker.revoke(as_(wired, "s3-access"), request.id)
    text, message = blocks.grant_message(wired.broker.catalog, wired.broker.as_shown(request.id))
    status = message[-1].to_dict()["elements"][0]["text"]
    assert text.endswith("has ended")
    assert status.startswith(":octagonal_sign: Access revoked by "), status
