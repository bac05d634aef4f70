"""Slack's side of the directory: who an email is in Slack (users.lookupByEmail), who a Slack id is (users.info), and
who is in a Slack user group (usergroups.users.list), through the app's Web API client (web.py).

"Not found" is an answer (None); everything else Slack says (ratelimited, missing_scope, invalid_auth, down) is
DirectoryUnavailable, never an empty answer. A short `ratelimited` is waited out once by SlackWeb."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from chalicelib.domain.directory_reads import DirectoryUnavailable
from chalicelib.slack.web import SlackFailure, SlackWeb


@dataclass(frozen=True)
class SlackAccount:
    """A Slack user as users.info describes them."""

    id: str
    email: str | None  # present with the users:read.email scope, when the account has one
    deleted: bool  # a deactivated account


class SlackDirectory:
    def __init__(self, web: SlackWeb | Callable[[], SlackWeb]) -> None:
        """`web`, or a function giving it on first use (the bot token is a secret, read only when needed)."""
        self._web = web

    def lookup_by_email(self, email: str) -> str | None:
        """The Slack user id of the active account with this email; None when Slack has none (users_not_found, which
        Slack also answers for a deactivated account)."""
        found = self._read("users.lookupByEmail", "users_not_found", email=email)
        return None if found is None else _user(found, "users.lookupByEmail")["id"]

    def user(self, slack_user_id: str) -> SlackAccount | None:
        """The account with this id, deactivated ones included; None when Slack has none (user_not_found)."""
        found = self._read("users.info", "user_not_found", user=slack_user_id)
        if found is None:
            return None
        user = _user(found, "users.info")
        email = (user.get("profile") or {}).get("email")
        return SlackAccount(user["id"], str(email) if email else None, bool(user.get("deleted")))

    def user_group_members(self, usergroup_id: str) -> list[str] | None:
        """The Slack user ids in the user group; None when Slack has no such group (no_such_subteam)."""
        found = self._read("usergroups.users.list", "no_such_subteam", usergroup=usergroup_id)
        if found is None:
            return None
        members = found.get("users")
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise DirectoryUnavailable("Slack", "usergroups.users.list", "unexpected answer", "no list of user ids")
        return list(members)

    def _read(self, method: str, not_found: str, **arguments: str) -> dict[str, Any] | None:
        try:
            web = self._web if isinstance(self._web, SlackWeb) else self._web()
            return web.read(method, **arguments)
        except SlackFailure as failure:
            if failure.error == not_found:
                return None
            raise DirectoryUnavailable("Slack", method, failure.error, retry_after=failure.retry_after) from None


def _user(answer: dict[str, Any], method: str) -> dict[str, Any]:
    """The answer's user object, which must carry a string id (an answer without one is not taken for anyone)."""
    user = answer.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
        raise DirectoryUnavailable("Slack", method, "unexpected answer", "no user id")
    return user
