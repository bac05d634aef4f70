"""/request-access: signed slash commands in, ephemeral answers out, the approval message in the channel."""
from __future__ import annotations

from chalicelib import bootstrap
from tests.slack.conftest import SIGNING_SECRET


def requests_of(person: str) -> list:
    return bootstrap.broker().repo.by_requester(person, 50, None).items


def test_request_access_creates_a_request_and_answers_ephemerally(slack) -> None:
    answer = slack.command("s3-prod 2h fixing the export")
    assert answer.status_code == 200
    assert answer.json["response_type"] == "ephemeral"
    text = answer.json["text"]
    [stored] = requests_of("s3-access")
    assert f"Request `{stored.id}`" in text
    assert "*S3 prod* (`s3-prod`) for *2h*" in text
    assert "<@U01BOB> or <@U01CAROL>" in text and "<#C01APPROVALS>" in text
    assert (stored.profile, stored.duration_seconds, stored.reason) == ("s3-prod", 7200, "fixing the export")

    slack.drain()
    [post] = slack.calls("chat.postMessage", "C01APPROVALS")
    seen = slack.seen("chat.postMessage", "C01APPROVALS")
    assert "@s3-access requests *S3 prod* for *2h*" in seen
    assert "`222222222222`" in seen and "`switch-role-for-S3`" in seen and "fixing the export" in seen
    assert "Waiting for approval from @bob or @carol" in seen
    assert "[Approve] [Deny]" in seen
    assert [b["type"] for b in post.body["blocks"]][-1] == "actions"


def test_durations_in_every_documented_form(slack) -> None:
    for text, seconds in (("s3-prod 90m a", 5400), ("s3-prod PT2H b", 7200), ("s3-prod c", 3600)):
        assert slack.command(text).status_code == 200
    assert sorted(r.duration_seconds for r in requests_of("s3-access")) == [3600, 5400, 7200]


def test_unknown_profile_lists_what_they_may_request(slack) -> None:
    answer = slack.command("s3-dev 1h testing")
    assert answer.json["response_type"] == "ephemeral"
    assert "unknown profile 's3-dev'" in answer.json["text"]
    assert "profiles you may request: s3-prod, s3-prod-short" in answer.json["text"]
    assert requests_of("s3-access") == []


def test_bad_duration_and_missing_reason_are_explained(slack) -> None:
    assert "outside what profile s3-prod allows: 15m to 4h" in slack.command("s3-prod 9h too long").json["text"]
    assert "`90m`, `2h`" in slack.command("s3-prod 2hourz oops").json["text"]
    assert "reason is required" in slack.command("s3-prod 1h").json["text"]
    assert requests_of("s3-access") == []


def test_an_unmapped_slack_user_is_told_how_to_get_mapped(slack) -> None:
    answer = slack.command("s3-prod 1h test", as_="U09STRANGER")
    assert "`U09STRANGER` is not in access-broker's catalog" in answer.json["text"]
    assert "slack_user_id: U09STRANGER" in answer.json["text"]


def test_help_and_list(slack) -> None:
    assert "/request-access <profile> [duration] <reason>" in slack.command("help").json["text"]
    assert "no requests yet" in slack.command("list").json["text"]
    request_id = slack.create()
    listing = slack.command("list").json["text"]
    assert f"`{request_id}` *s3-prod* for 1h: waiting for approval" in listing
    assert "Waiting for your decision" not in listing
    for_bob = slack.command("list", as_="bob").json["text"]
    assert "You have no requests yet" in for_bob
    assert f"*Waiting for your decision:*\n• `{request_id}` *s3-prod* for 1h from <@U01S3ACCESS>" in for_bob


def test_alone_it_opens_a_form_with_the_profiles_they_may_request(slack) -> None:
    answer = slack.command("")
    assert answer.status_code == 200 and answer.text == ""
    slack.drain()
    [opened] = slack.calls("views.open")
    assert opened.body["trigger_id"]
    seen = slack.seen("views.open")
    assert "[Request access]" in seen
    assert "Profile: S3 prod (s3-prod) / S3 prod (short) (s3-prod-short)" in seen
    assert "Duration" in seen and "Reason" in seen


def test_slack_retries_never_create_a_second_request(slack) -> None:
    body = slack.command_body("s3-prod 1h retried by slack")
    first = slack.send("/slack/commands", body)
    again = slack.send("/slack/commands", body, retry=1)
    third = slack.send("/slack/commands", body, retry=2)
    assert first.json["text"] == again.json["text"] == third.json["text"]
    assert len(requests_of("s3-access")) == 1
    slack.drain()
    assert len(slack.calls("chat.postMessage", "C01APPROVALS")) == 1


def test_unsigned_stale_or_tampered_is_a_bare_401_writing_nothing(slack) -> None:
    body = slack.command_body("s3-prod 1h sneaky")
    now = int(slack.clock().timestamp())
    for response in (
        slack.send("/slack/commands", body, headers={"Content-Type": "application/x-www-form-urlencoded"}),
        slack.send("/slack/commands", body, timestamp=now - 301),
        slack.send("/slack/commands", body, secret="not-the-signing-secret"),
        slack.send("/slack/commands", body.replace(b"1h", b"4h"), headers=slack_headers_for(body, now)),
        slack.send("/slack/interactions", b"payload=%7B%7D", headers={"Content-Type": "text/plain"}),
    ):
        assert (response.status_code, response.text) == (401, "")
    assert requests_of("s3-access") == []
    slack.drain()
    assert slack.calls() == []


def test_a_signed_but_malformed_command_is_400(slack) -> None:
    answer = slack.send("/slack/commands", b"text=s3-prod+1h+test&user_id=")
    assert answer.status_code == 400
    assert "Slack user id" in answer.text


def slack_headers_for(body: bytes, stamp: int) -> dict[str, str]:
    from tools.slack_cli import signed_headers

    return signed_headers(SIGNING_SECRET, body, stamp)
