"""Slack's directory methods (issue 21): the stub answers users.lookupByEmail, users.info and usergroups.users.list as
Slack does (checked through slack-sdk's own WebClient methods), and the broker's adapter (chalicelib/slack/directory.py)
turns "not found" into None and every other failure into DirectoryUnavailable, never into an empty answer."""
from __future__ import annotations

from typing import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from chalicelib.domain.directory_reads import DirectoryUnavailable
from chalicelib.slack.directory import SlackAccount, SlackDirectory
from chalicelib.slack.web import SlackWeb
from tools.slack_stub import SlackStub, manifest_scopes
from tools.world_directory import SLACK_USERGROUPS, UNKNOWN_USERGROUP, slack_users

TOKEN = "xoxb-test-directory"


@pytest.fixture(scope="module")
def stub() -> Iterator[SlackStub]:
    started = SlackStub().start()
    yield started
    started.stop()


@pytest.fixture
def workspace(stub: SlackStub) -> SlackStub:
    """The stub holding the directory fixture's workspace, with the manifest's scopes and no failures planted."""
    stub.reset()
    stub.scopes = manifest_scopes()
    stub.set_directory(slack_users(), SLACK_USERGROUPS)
    return stub


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def directory(workspace: SlackStub, waits: list[float]) -> SlackDirectory:
    return SlackDirectory(SlackWeb(TOKEN, workspace.api_url, sleep=waits.append))


def sdk(stub: SlackStub) -> WebClient:
    return WebClient(token=TOKEN, base_url=stub.api_url)


# -- the stub, as slack-sdk's own methods see it

def test_the_stub_answers_slack_sdks_lookup_by_email_with_a_user_object(workspace: SlackStub) -> None:
    user = sdk(workspace).users_lookupByEmail(email="frank@example.com")["user"]
    assert (user["id"], user["name"], user["deleted"], user["is_bot"]) == ("U02FRANK", "frank", False, False)
    assert user["profile"]["email"] == "frank@example.com" and user["team_id"].startswith("T")
    [call] = workspace.calls("users.lookupByEmail")
    assert call.arguments == {"email": "frank@example.com"}, "slack-sdk sends the email in the query string"


def test_the_stub_answers_each_read_methods_not_found_with_slacks_error(workspace: SlackStub) -> None:
    client = sdk(workspace)
    for call, error in [(lambda: client.users_lookupByEmail(email="nobody@example.com"), "users_not_found"),
                        (lambda: client.users_lookupByEmail(email="oliver@example.com"), "users_not_found"),
                        (lambda: client.users_info(user="U0NOBODY"), "user_not_found"),
                        (lambda: client.usergroups_users_list(usergroup=UNKNOWN_USERGROUP), "no_such_subteam")]:
        with pytest.raises(SlackApiError) as refused:
            call()
        assert (refused.value.response.status_code, refused.value.response["error"]) == (200, error)


def test_the_stub_shows_a_deactivated_account_to_users_info_only(workspace: SlackStub) -> None:
    user = sdk(workspace).users_info(user="U02OLIVER")["user"]
    assert (user["id"], user["deleted"], user["profile"]["email"]) == ("U02OLIVER", True, "oliver@example.com")


def test_the_stub_lists_a_user_groups_members(workspace: SlackStub) -> None:
    answer = sdk(workspace).usergroups_users_list(usergroup="S0DBAPPROVE")
    assert answer["users"] == ["U02ERIN", "U02FRANK", "U01BOB", "U02MALLORY"]


def test_the_stub_rate_limits_with_429_and_retry_after(workspace: SlackStub) -> None:
    workspace.fail("usergroups.users.list", "ratelimited", retry_after=30)
    with pytest.raises(SlackApiError) as limited:
        sdk(workspace).usergroups_users_list(usergroup="S0DBAPPROVE")
    response = limited.value.response
    assert (response.status_code, response["error"], response.headers.get("Retry-After")) == (429, "ratelimited", "30")


def test_the_stub_answers_missing_scope_for_a_scope_the_app_lacks(workspace: SlackStub) -> None:
    workspace.scopes = frozenset({"commands", "chat:write", "users:read"})
    with pytest.raises(SlackApiError) as refused:
        sdk(workspace).users_lookupByEmail(email="frank@example.com")
    assert refused.value.response.data == {"ok": False, "error": "missing_scope", "needed": "users:read.email",
                                           "provided": "chat:write,commands,users:read"}
    user = sdk(workspace).users_info(user="U02FRANK")["user"]
    assert "email" not in user["profile"], "without users:read.email, users.info shows no email"


def test_like_slack_the_read_methods_do_not_read_json_arguments(workspace: SlackStub) -> None:
    with pytest.raises(SlackApiError) as refused:
        sdk(workspace).api_call("users.lookupByEmail", json={"email": "frank@example.com"})
    assert refused.value.response["error"] == "invalid_arguments"


# -- the adapter

def test_an_email_is_looked_up_to_its_slack_id(directory: SlackDirectory) -> None:
    assert directory.lookup_by_email("frank@example.com") == "U02FRANK"
    assert directory.lookup_by_email("Frank@Example.com") == "U02FRANK"  # Slack compares emails without case


def test_an_email_slack_does_not_know_or_a_deactivated_account_is_none(directory: SlackDirectory) -> None:
    assert directory.lookup_by_email("grace@example.com") is None
    assert directory.lookup_by_email("oliver@example.com") is None


def test_a_slack_id_is_read_with_its_email_and_whether_it_is_deactivated(directory: SlackDirectory) -> None:
    assert directory.user("U02ERIN") == SlackAccount("U02ERIN", "erin@example.com", deleted=False)
    assert directory.user("U02OLIVER") == SlackAccount("U02OLIVER", "oliver@example.com", deleted=True)
    assert directory.user("U0NOBODY") is None


def test_a_user_groups_members_are_read_and_an_unknown_group_is_none(directory: SlackDirectory,
                                                                    workspace: SlackStub) -> None:
    assert directory.user_group_members("S0DBAPPROVE") == ["U02ERIN", "U02FRANK", "U01BOB", "U02MALLORY"]
    assert directory.user_group_members(UNKNOWN_USERGROUP) is None
    workspace.set_usergroup("S0EMPTY", [])
    assert directory.user_group_members("S0EMPTY") == [], "an empty group is an empty list, not None"


def test_being_rate_limited_for_long_is_directory_unavailable_with_retry_after(directory: SlackDirectory,
                                                                              workspace: SlackStub) -> None:
    workspace.fail("usergroups.users.list", "ratelimited", retry_after=30)
    with pytest.raises(DirectoryUnavailable) as unavailable:
        directory.user_group_members("S0DBAPPROVE")
    failure = unavailable.value
    assert (failure.source, failure.operation, failure.error, failure.retry_after) == \
        ("Slack", "usergroups.users.list", "ratelimited", 30.0)
    assert "retry after 30 s" in str(failure)


def test_a_short_rate_limit_is_waited_out_once(directory: SlackDirectory, workspace: SlackStub,
                                               waits: list[float]) -> None:
    workspace.fail("users.lookupByEmail", "ratelimited", retry_after=1)
    assert directory.lookup_by_email("dave@example.com") == "U02DAVE"
    assert waits == [1.0] and len(workspace.calls("users.lookupByEmail")) == 2


@pytest.mark.parametrize("error", ["missing_scope", "invalid_auth", "fatal_error"])
def test_any_other_failure_is_directory_unavailable_never_an_empty_answer(directory: SlackDirectory,
                                                                         workspace: SlackStub, error: str) -> None:
    for method, read in [("users.lookupByEmail", lambda: directory.lookup_by_email("dave@example.com")),
                         ("users.info", lambda: directory.user("U02DAVE")),
                         ("usergroups.users.list", lambda: directory.user_group_members("S0DBAPPROVE"))]:
        workspace.fail(method, error)
        with pytest.raises(DirectoryUnavailable, match=f"Slack {method} failed: {error}"):
            read()


def test_a_scope_missing_from_the_app_is_directory_unavailable(directory: SlackDirectory, workspace: SlackStub) -> None:
    workspace.scopes = frozenset({"commands", "chat:write"})
    with pytest.raises(DirectoryUnavailable) as unavailable:
        directory.user_group_members("S0DBAPPROVE")
    assert unavailable.value.error == "missing_scope"


def test_slack_down_is_directory_unavailable() -> None:
    directory = SlackDirectory(SlackWeb(TOKEN, "http://127.0.0.1:9/api/", timeout=2))
    with pytest.raises(DirectoryUnavailable, match=r"Slack users.lookupByEmail failed: unreachable"):
        directory.lookup_by_email("dave@example.com")
