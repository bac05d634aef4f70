"""Slack's refusals, each beside the same action allowed: the signing secret that cannot be read, someone else's
extension decided, someone else's grant revoked. In Slack a person acts on the request in the message they clicked,
so these checks are the service's own, not the API's 404 for a request the caller may not see.

Each test here was written against a single-line fault planted in the code (issue 16, point 6) and fails with it."""
from __future__ import annotations

import pytest

from chalicelib import bootstrap
from chalicelib.domain.requests import State


def _stored(request_id: str):
    return bootstrap.broker().repo.get(request_id)


def _attached(world, user: str = "s3-access") -> list[str]:
    found = world.client("iam").list_attached_user_policies(UserName=user)["AttachedPolicies"]
    return [p["PolicyArn"] for p in found]


def _granted(slack) -> str:
    request_id = slack.create()
    slack.click("approve", request_id, as_="bob")
    slack.drain()
    assert _stored(request_id).state == State.ACTIVE
    return request_id


# -- the signing secret: readable, a signed request is served; unreadable, every request is refused

@pytest.mark.parametrize("readable", [True, False])
def test_slack_is_refused_while_the_signing_secret_cannot_be_read(slack, monkeypatch, readable: bool) -> None:
    """Fault caught: the except branch of the signature check answering "authentic" when the secret is unreadable."""
    if not readable:  # a deployed stage whose parameter is missing: it fails closed
        monkeypatch.delenv("SLACK_SIGNING_SECRET")
        monkeypatch.setenv("SLACK_SIGNING_SECRET_PARAMETER", "/access-broker/test/no-such-signing-secret")
        bootstrap.reset()
    answer = slack.command("help")  # genuinely signed with the secret the stage is meant to hold
    if readable:
        assert answer.status_code == 200 and "/request-access" in answer.json["text"]
    else:
        assert (answer.status_code, answer.text) == (401, ""), "nothing is served without a secret to check"


# -- someone else's extension: an approver decides it, another requester may not

@pytest.mark.parametrize("who, decided", [("carol", True), ("alice", False)])
def test_only_an_approver_decides_someone_elses_extension(slack, who: str, decided: bool) -> None:
    """Fault caught: deciding an extension without the approver check (alice would extend s3-access's grant)."""
    request_id = _granted(slack)
    end = _stored(request_id).grant.expires_at
    slack.submit("extend", {"duration": "30m"}, {"request_id": request_id}, as_="s3-access")
    slack.drain()
    assert _stored(request_id).extension is not None

    slack.click("approve", request_id, as_=who)
    slack.drain()

    after = _stored(request_id)
    if decided:
        assert after.extension is None and after.grant.expires_at > end
    else:
        assert after.extension is not None and after.grant.expires_at == end, "nothing moved"
        assert "only approvers of profile s3-prod may decide" in slack.replies(who)[-1]


# -- someone else's grant: an approver revokes it, another requester may not

@pytest.mark.parametrize("how", ["button", "command"])
@pytest.mark.parametrize("who, revoked", [("carol", True), ("alice", False)])
def test_only_the_requester_or_an_approver_revokes_a_grant(slack, world, how: str, who: str, revoked: bool) -> None:
    """Fault caught: the revoke without its permission check (alice would end s3-access's grant)."""
    request_id = _granted(slack)
    policy = _stored(request_id).grant.policy_arn

    if how == "button":
        slack.click("revoke", request_id, as_=who)
    else:
        slack.command(f"revoke {request_id}", as_=who)
    slack.drain()

    if revoked:
        assert _stored(request_id).state == State.REVOKED and _attached(world) == []
    else:
        assert _stored(request_id).state == State.ACTIVE and _attached(world) == [policy]
        assert "only the requester or an approver of the profile can revoke" in slack.replies(who)[-1]
