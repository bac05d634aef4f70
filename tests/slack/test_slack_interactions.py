"""Buttons and modals: the same rules as over HTTP, and messages that stay true after every decision."""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from chalicelib import bootstrap
from chalicelib.domain.requests import State
from tools.slack_cli import interaction_body

EXPECTED = Path(__file__).parent / "expected"


def state_of(request_id: str) -> State:
    return bootstrap.broker().repo.get(request_id).state


def test_approve_grants_updates_the_message_and_dms_the_requester(slack, world) -> None:
    request_id = slack.create()
    assert len(slack.calls("chat.postMessage", "C01APPROVALS")) == 1
    answer = slack.click("approve", request_id, as_="bob")
    assert (answer.status_code, answer.text) == (200, "")
    slack.drain()

    request = bootstrap.broker().repo.get(request_id)
    assert request.state == State.ACTIVE
    attached = world.client("iam").list_attached_user_policies(UserName="s3-access")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [request.grant.policy_arn]

    update = slack.calls("chat.update", "C01APPROVALS")[-1]
    [recorded] = [e for e in bootstrap.broker().repo.events(request_id)
                  if e.kind == "slack_posted" and e.details["purpose"] == "approval"]
    assert update.body["ts"] == recorded.details["ts"], "the approval message is updated in place"
    message = slack.seen("chat.update", "C01APPROVALS")
    assert "Approved by @bob" in message and "(1 of 1)" in message and "Access active until" in message
    assert "[Approve]" not in message, "a decided request keeps no buttons"

    dm = slack.seen("chat.postMessage", "U01S3ACCESS")
    assert "Your access to *S3 prod* is active" in dm and "; approved by @bob." in dm
    assert f"{request.grant.console_url}" in dm and "/v1/console/" in dm, "the signed console link"
    assert "https://signin.aws.amazon.com/switchrole?account=222222222222&roleName=switch-role-for-S3" in dm
    expires = request.grant.expires_at
    assert expires.strftime("%Y-%m-%d %H:%M UTC") in dm
    raw = json.dumps(slack.calls("chat.postMessage", "U01S3ACCESS")[-1].body)
    assert f"<!date^{int(expires.timestamp())}^{{date_short_pretty}} {{time}}|" in raw
    assert "[Revoke now (I'm done)] [Extend]" in dm


def test_the_pending_approval_message_matches_the_stored_block_kit(slack) -> None:
    from datetime import datetime, timezone

    from chalicelib.domain.requests import AccessRequest
    from chalicelib.slack.blocks import approval_message, as_dicts

    at = datetime(2026, 11, 28, 13, 0, tzinfo=timezone.utc)
    request = AccessRequest(id="01jbx5v6d8k2m3n4p5q6r7s8t9", profile="s3-prod", requester="s3-access",
                            requester_iam_user="s3-access", account="222222222222",
                            role_arn="arn:aws:iam::222222222222:role/switch-role-for-S3",
                            reason="fixing <the> export & more", duration_seconds=7200, approvals_required=1,
                            created_at=at, updated_at=at)
    text, blocks = approval_message(bootstrap.broker().catalog, request)
    assert as_dicts(blocks) == json.loads((EXPECTED / "approval_pending.json").read_text())
    assert text == "Access request from <@U01S3ACCESS>: S3 prod for 2h (waiting for approval)"


def test_self_approval_is_refused_ephemerally_and_changes_nothing(slack) -> None:
    request_id = slack.create()
    slack.click("approve", request_id, as_="s3-access")
    slack.drain()
    assert state_of(request_id) == State.PENDING
    [reply] = slack.replies("s3-access")
    assert "nobody may approve their own request" in reply
    assert slack.calls("response_url")[-1].body["response_type"] == "ephemeral"
    assert slack.calls("chat.update") == []


def test_non_approvers_are_refused(slack) -> None:
    request_id = slack.create()
    slack.click("approve", request_id, as_="alice")
    slack.drain()
    assert state_of(request_id) == State.PENDING
    assert "only approvers of profile s3-prod may decide: bob, carol" in slack.replies("alice")[0]


def test_a_click_on_a_decided_request_says_who_decided_and_changes_nothing(slack) -> None:
    request_id = slack.create()
    slack.click("approve", request_id, as_="bob")
    slack.drain()
    before = bootstrap.broker().repo.get(request_id)
    updates = len(slack.calls("chat.update"))
    slack.click("approve", request_id, as_="carol")
    slack.click("deny", request_id, as_="carol")
    slack.drain()
    assert slack.replies("carol") == [f"Request `{request_id}` was already approved by <@U01BOB>; nothing changed."] * 2
    assert bootstrap.broker().repo.get(request_id).version == before.version
    assert len(slack.calls("chat.update")) == updates
    assert slack.calls("views.open") == [], "no deny form for a decided request"


def test_deny_asks_for_a_reason_then_tells_everyone(slack) -> None:
    request_id = slack.create()
    slack.click("deny", request_id, as_="carol")
    slack.drain()
    [opened] = slack.calls("views.open")
    assert opened.body["view"]["callback_id"] == "deny"
    assert "Deny @s3-access's request for *S3 prod*" in slack.seen("views.open")
    metadata = json.loads(opened.body["view"]["private_metadata"])
    assert metadata["request_id"] == request_id

    closed = slack.submit("deny", {"reason": "use the staging bucket"}, {"request_id": request_id}, as_="carol")
    assert (closed.status_code, closed.text) == (200, ""), "an empty answer closes the modal"
    slack.drain()
    assert state_of(request_id) == State.DENIED
    message = slack.seen("chat.update", "C01APPROVALS")
    assert "Denied by @carol" in message and "use the staging bucket" in message and "[Approve]" not in message
    dm = slack.seen("chat.postMessage", "U01S3ACCESS")
    assert f"Your request `{request_id}` for *S3 prod*: :x: Denied by @carol" in dm


def test_deny_by_the_requester_is_refused_inside_the_modal(slack) -> None:
    request_id = slack.create()
    answer = slack.submit("deny", {"reason": ""}, {"request_id": request_id}, as_="s3-access")
    assert answer.json["response_action"] == "errors"
    assert "nobody may decide their own request" in answer.json["errors"]["reason"]
    assert state_of(request_id) == State.PENDING


def test_revoke_now_from_the_dm_ends_the_grant_and_the_buttons(slack, world) -> None:
    request_id = slack.create()
    slack.click("approve", request_id, as_="bob")
    slack.drain()
    slack.click("revoke", request_id, as_="s3-access")
    slack.drain()
    assert state_of(request_id) == State.REVOKED
    assert world.client("iam").list_attached_user_policies(UserName="s3-access")["AttachedPolicies"] == []
    grant_dm = [c for c in slack.calls("chat.update") if c.body["channel"] == "D01S3ACCESS"][-1]
    assert "[Revoke now" not in str(grant_dm.body["blocks"]), "the grant DM keeps no buttons once it ended"
    grant_dm = slack.seen("chat.update", "D01S3ACCESS")
    assert "has ended" in grant_dm and "Access revoked by @s3-access" in grant_dm and "/v1/console/" not in grant_dm
    assert "Access revoked by @s3-access" in slack.seen("chat.postMessage", "U01S3ACCESS")
    assert "Access revoked by @s3-access" in slack.seen("chat.update", "C01APPROVALS")


def test_revoke_subcommand(slack) -> None:
    request_id = slack.create()
    slack.click("approve", request_id, as_="bob")
    slack.drain()
    answer = slack.command(f"revoke {request_id}")
    assert answer.json["text"] == f"Revoking `{request_id}`…"
    slack.drain()
    assert state_of(request_id) == State.REVOKED
    assert f"Revoked `{request_id}`" in slack.replies("s3-access")[-1]
    slack.command(f"revoke {request_id}")
    slack.drain()
    assert "was already revoked by <@U01S3ACCESS>" in slack.replies("s3-access")[-1]
    slack.click("extend", request_id, as_="s3-access")  # an Extend kept on an older message
    slack.drain()
    assert slack.replies("s3-access")[-1] == (f":warning: Request `{request_id}` was revoked by <@U01S3ACCESS>: only "
                                              f"an active grant can be extended.")
    assert slack.calls("views.open") == []


def test_two_approvals_show_progress(slack, catalog_file) -> None:
    catalog_file(lambda doc: doc["profiles"]["s3-prod"].update(approvals_required=2))
    request_id = slack.create()
    assert "Waiting for 2 approvals from @bob and @carol" in slack.seen("chat.postMessage", "C01APPROVALS")
    slack.click("approve", request_id, as_="bob")
    slack.drain()
    message = slack.seen("chat.update", "C01APPROVALS")
    assert "Approved by @bob" in message and "(1 of 2)" in message
    assert "Waiting for 1 more approval from @carol" in message and "@bob or" not in message
    assert "[Approve] [Deny]" in message
    slack.click("approve", request_id, as_="bob")
    slack.drain()
    assert "you already approved" in slack.replies("bob")[-1]
    slack.click("approve", request_id, as_="carol")
    slack.drain()
    message = slack.seen("chat.update", "C01APPROVALS")
    assert "(1 of 2)" in message and "Approved by @carol" in message and "(2 of 2)" in message
    assert "[Approve]" not in message and state_of(request_id) == State.ACTIVE


def test_the_request_form_submission_creates_a_request(slack) -> None:
    answer = slack.submit("request_access", {"profile": "s3-prod-short", "duration": "3m", "reason": "watch expiry"},
                          as_="alice")
    assert (answer.status_code, answer.text) == (200, "")
    slack.drain()
    [request] = bootstrap.broker().repo.by_requester("alice", 10, None).items
    assert (request.profile, request.duration_seconds) == ("s3-prod-short", 180)
    assert f"Request `{request.id}`" in slack.replies("alice")[-1]


def test_form_errors_show_under_the_field(slack) -> None:
    answer = slack.submit("request_access", {"profile": "s3-prod", "duration": "9h", "reason": "x"}, as_="alice")
    assert list(answer.json["errors"]) == ["duration"] and "15m to 4h" in answer.json["errors"]["duration"]
    answer = slack.submit("request_access", {"profile": "s3-prod", "duration": "", "reason": ""}, as_="alice")
    assert list(answer.json["errors"]) == ["reason"]
    assert bootstrap.broker().repo.by_requester("alice", 10, None).items == []


@pytest.mark.parametrize("body", [
    b"payload=%7Bbroken",
    interaction_body({"type": "block_actions", "user": {"id": "U01BOB"},
                      "actions": [{"action_id": "approve_everything", "value": "01jbx5v6d8k2m3n4p5q6r7s8t9"}]}),
])
def test_malformed_or_unknown_actions_are_400_and_write_nothing(slack, body) -> None:
    request_id = slack.create()
    before = bootstrap.broker().repo.events(request_id)
    calls = len(slack.calls())
    answer = slack.send("/slack/interactions", body)
    slack.drain()
    assert answer.status_code == 400
    assert bootstrap.broker().repo.events(request_id) == before
    assert len(slack.calls()) == calls


def test_break_glass_is_announced_to_approvers_and_security(slack, api, catalog_file):
    catalog_file(lambda doc: doc["profiles"].update({"s3-break-glass": {
        **doc["profiles"]["s3-prod"], "break_glass": True, "display_name": "S3 break-glass"}}))
    created = api.post("/v1/requests", "alice", {"profile": "s3-break-glass", "break_glass": True,
                                                 "reason": "prod export is down, on-call pager INC-7"})
    assert created.status_code == 201, created.body
    slack.drain()
    for channel in ("C01APPROVALS", "C01SECURITY"):
        seen = slack.seen("chat.postMessage", channel)
        assert "Break-glass" in seen and "flagged for review" in seen and "@alice requests *S3 break-glass*" in seen
        assert "[Approve]" not in seen
    assert "Access active until" in slack.seen("chat.update", "C01APPROVALS")
    assert "Your break-glass access to *S3 break-glass* is active" in slack.seen("chat.postMessage", "U01ALICE")
    assert api.post(f"/v1/requests/{created.json['id']}/revoke", "alice", {}).status_code == 200
    slack.drain()  # the security channel's message is updated in place too: it no longer says "active"
    assert "Access revoked by @alice" in slack.seen("chat.update", "C01SECURITY")


def test_extend_asks_the_approvers_again_and_the_grant_dm_follows(slack) -> None:
    request_id = slack.create()
    slack.click("approve", request_id, as_="bob")
    slack.drain()
    first_end = bootstrap.broker().repo.get(request_id).grant.expires_at

    slack.click("extend", request_id, as_="s3-access")
    slack.drain()
    assert "[Extend access]" in slack.seen("views.open") and "Extend by" in slack.seen("views.open")
    answer = slack.submit("extend", {"duration": "30m"}, {"request_id": request_id}, as_="s3-access")
    assert (answer.status_code, answer.text) == (200, "")
    slack.drain()
    assert "Asked to extend request" in slack.replies("s3-access")[-1]
    message = slack.seen("chat.update", "C01APPROVALS")
    assert "@s3-access asks for *30m more*: waiting for approval from @bob or @carol" in message
    assert "[Approve] [Deny]" in message
    nudge = slack.calls("chat.postMessage", "C01APPROVALS")[-1]
    assert nudge.body.get("thread_ts") and "asks to extend this grant by *30m*" in nudge.body["text"]

    slack.click("approve", request_id, as_="carol")
    slack.drain()
    request = bootstrap.broker().repo.get(request_id)
    assert request.grant.expires_at == first_end + timedelta(minutes=30) and request.extension is None
    assert "[Approve]" not in slack.seen("chat.update", "C01APPROVALS")
    assert request.grant.expires_at.strftime("%H:%M UTC") in slack.seen("chat.update", "D01S3ACCESS")
    assert "now lasts until" in slack.seen("chat.postMessage", "U01S3ACCESS")


def test_an_extension_can_be_denied_with_a_reason_form(slack) -> None:
    request_id = slack.create()
    slack.click("approve", request_id, as_="bob")
    slack.drain()
    slack.submit("extend", {"duration": "30m"}, {"request_id": request_id}, as_="s3-access")
    slack.drain()  # bob clicks Deny on the message as it shows the extension
    slack.click("deny", request_id, as_="bob")
    slack.drain()
    assert "Deny extending @s3-access's access to *S3 prod* by 30m" in slack.seen("views.open")
    assert "[Deny extension]" in slack.seen("views.open")
    slack.submit("deny", {"reason": "wrap up"}, slack.opened(), as_="bob")
    slack.drain()
    request = bootstrap.broker().repo.get(request_id)
    assert request.state == State.ACTIVE and request.extension is None
    assert "@bob denied extending your access" in slack.seen("chat.postMessage", "U01S3ACCESS")


def test_extending_too_far_is_explained_in_the_form(slack) -> None:
    request_id = slack.create()
    slack.click("approve", request_id, as_="bob")
    slack.drain()
    answer = slack.submit("extend", {"duration": "5h"}, {"request_id": request_id}, as_="s3-access")
    assert "the longest extension allowed is 3h" in answer.json["errors"]["duration"]


def test_a_redelivered_click_grants_once_and_says_nothing_twice(slack, world) -> None:
    request_id = slack.create()
    slack.click("approve", request_id, as_="bob")
    slack.click("approve", request_id, as_="bob", retry=1)
    slack.drain()
    kinds = [e.kind for e in bootstrap.broker().repo.events(request_id)]
    assert kinds.count("approved") == 1 and kinds.count("activated") == 1
    assert len(world.client("iam").list_attached_user_policies(UserName="s3-access")["AttachedPolicies"]) == 1
    assert slack.replies("bob") == []


def test_a_grant_iam_refuses_ends_failed_and_the_requester_is_told(slack, catalog_file) -> None:
    def add_ghost(doc: dict) -> None:  # in the catalog, but with no IAM user in the account: IAM refuses
        doc["people"]["ghost"] = {"iam_user": "ghost", "slack_user_id": "U01GHOST"}

    catalog_file(add_ghost)
    request_id = slack.create(as_="U01GHOST")
    slack.click("approve", request_id, as_="bob")
    slack.drain()
    request = bootstrap.broker().repo.get(request_id)
    assert request.state == State.FAILED
    dm = slack.seen("chat.postMessage", "U01GHOST")
    assert "Granting access failed" in dm and "nothing was left attached" in dm and "ask again" in dm
    assert "Granting access failed" in slack.seen("chat.update", "C01APPROVALS")


@pytest.mark.parametrize("form, values", [("request_access", {"profile": "s3-prod", "duration": "1h",
                                                               "reason": "fixing\x1b[2K the export"}),
                                           ("deny", {"reason": "no\x9b2K"})])
def test_control_characters_in_a_form_are_refused_under_the_reason(slack, form: str, values: dict) -> None:
    """Issue 24, point 12: Slack's forms take the same reasons and comments as the API (newlines are fine)."""
    request_id = slack.create() if form == "deny" else None
    answer = slack.submit(form, values, {"request_id": request_id} if request_id else {},
                          as_="carol" if form == "deny" else "s3-access")
    assert "holds the control character" in answer.json["errors"]["reason"]
    if request_id:
        assert state_of(request_id) == State.PENDING
