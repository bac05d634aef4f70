"""The directory fixture: IAM groups of tagged users in the world's source account, and the same people in the Slack
stub, for catalogs that take people from the directory (CONTRACT.md "People and groups from the directory";
chalicelib/catalog/demo-directory.yaml).

`seed_directory(emulator)` puts the IAM side into a running world, idempotently; `slack_users()` and
`SLACK_USERGROUPS` are the Slack side, for `SlackStub.set_directory`. `make run` does both."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from tools.slack_stub import SlackUser
from tools.world import SOURCE_ACCOUNT, Emulator, Keys, aws_client

EMAIL_TAG, SLACK_ID_TAG = "email", "slack-user-id"  # the contract's default tag names


@dataclass(frozen=True)
class DirectoryUser:
    """An IAM user of the source account in directory groups, and who they are in Slack (if anyone)."""

    name: str  # the IAM user name: the person's id
    groups: tuple[str, ...]
    email_tag: str | None = None  # the value of its `email` tag, None for no tag
    slack_id_tag: str | None = None  # the value of its `slack-user-id` tag, None for no tag
    slack_id: str | None = None  # their Slack user id, in the Slack stub; None: not in Slack
    slack_email: str | None = None  # the email of their Slack account (users.lookupByEmail finds them by it)


# Who is who, and what each case is for (the lead's rules: issue 21, "Resolution" and "Bad input").
DIRECTORY_USERS: tuple[DirectoryUser, ...] = (
    # Both tags: the Slack id comes from the tag, no Slack call needed.
    DirectoryUser("dave", ("engineers",), "dave@example.com", "U02DAVE", "U02DAVE", "dave@example.com"),
    DirectoryUser("erin", ("engineers", "sre"), "erin@example.com", "U02ERIN", "U02ERIN", "erin@example.com"),
    # An email only: the Slack id is found with users.lookupByEmail.
    DirectoryUser("frank", ("engineers", "sre"), "frank@example.com", None, "U02FRANK", "frank@example.com"),
    # An email only, and not in Slack (users_not_found): a person over HTTP only.
    DirectoryUser("grace", ("engineers",), "grace@example.com"),
    # Neither tag: a person over HTTP only, though she is in Slack (nothing joins her account to her).
    DirectoryUser("heidi", ("engineers",), None, None, "U02HEIDI", "heidi@example.com"),
    # Malformed tags (not an email, not a Slack id): ignored with a notice; he is in Slack, but nothing joins him.
    DirectoryUser("ivan", ("engineers",), "ivan at example.com", "ivan", "U02IVAN", "ivan@example.com"),
    # A demo `people` entry in a directory group too: the `people` entry wins for its IAM user.
    DirectoryUser("carol", ("sre",), "carol@example.com", "U01CAROL", "U01CAROL", "carol@example.com"),
    # One email on two IAM users: it joins neither (one human, one person). In a group no demo catalog names.
    DirectoryUser("judy", ("contractors",), "judy@example.com", "U02JUDY", "U02JUDY", "judy@example.com"),
    DirectoryUser("judy-admin", ("contractors",), "judy@example.com"),
)
DIRECTORY_GROUPS = ("engineers", "sre", "contractors")
UNKNOWN_GROUP = "no-such-group"  # no group of this name exists in the world

# The Slack side beyond the directory users: the demo's people (chalicelib/catalog/demo.yaml), someone in Slack
# with no IAM user, and a deactivated account (users.lookupByEmail answers users_not_found for it, as Slack does).
OTHER_SLACK_USERS: tuple[SlackUser, ...] = (
    SlackUser("U01S3ACCESS", "s3-access", "s3-access@example.com"),
    SlackUser("U01ALICE", "alice", "alice@example.com"),
    SlackUser("U01BOB", "bob", "bob@example.com"),
    SlackUser("U02MALLORY", "mallory", "mallory@example.com"),  # in Slack only: never a person
    SlackUser("U02OLIVER", "oliver", "oliver@example.com", deleted=True),  # deactivated
)
# Slack user groups by id: db-approvers holds two directory people, a demo person, and someone in Slack only (who
# counts for nothing until joined to a person).
SLACK_USERGROUPS: dict[str, tuple[str, ...]] = {
    "S0DBAPPROVE": ("U02ERIN", "U02FRANK", "U01BOB", "U02MALLORY"),
}
UNKNOWN_USERGROUP = "S0NOSUCHGRP"  # no user group of this id exists in the stub


def slack_users() -> list[SlackUser]:
    """Everyone in the Slack stub's workspace: the directory users who are in Slack, and OTHER_SLACK_USERS."""
    mine = [SlackUser(u.slack_id, u.name, u.slack_email) for u in DIRECTORY_USERS if u.slack_id]
    return [*mine, *OTHER_SLACK_USERS]


def seed_directory(emulator: Emulator, users: tuple[DirectoryUser, ...] = DIRECTORY_USERS) -> dict[str, Keys]:
    """Creates the IAM groups and users (with their tags and memberships) in the source account of a running,
    enforced world; safe to run again (tags are set again, existing users and groups kept). Returns access keys for
    the users it created, by user name (for .local/aws-credentials); none for those that were already there."""
    emulator.enforce_iam(False)
    try:
        return _seed(aws_client(emulator.endpoint, "iam", account=SOURCE_ACCOUNT), users)
    finally:
        emulator.enforce_iam(True)


def _seed(iam: Any, users: tuple[DirectoryUser, ...]) -> dict[str, Keys]:
    keys: dict[str, Keys] = {}
    for group in sorted({g for u in users for g in u.groups}):
        _unless_exists(lambda: iam.create_group(GroupName=group))
    for user in users:
        if _unless_exists(lambda: iam.create_user(UserName=user.name)):
            key = iam.create_access_key(UserName=user.name)["AccessKey"]
            keys[user.name] = Keys(key["AccessKeyId"], key["SecretAccessKey"])
        tags = {EMAIL_TAG: user.email_tag, SLACK_ID_TAG: user.slack_id_tag}
        if any(value is not None for value in tags.values()):
            iam.tag_user(UserName=user.name, Tags=[{"Key": k, "Value": v} for k, v in tags.items() if v is not None])
        for group in user.groups:
            iam.add_user_to_group(GroupName=group, UserName=user.name)  # a member already: IAM answers success
    return keys


def _unless_exists(create: Any) -> bool:
    """True when `create()` made the entity, False when it was there already."""
    try:
        create()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "EntityAlreadyExists":
            raise
        return False
    return True
