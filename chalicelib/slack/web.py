"""The Slack Web API and response_url replies through slack-sdk, with Slack's errors made explicit.

`ratelimited` is retried once after Retry-After when that is short; every other failure (and a long
Retry-After) is raised as SlackFailure for the caller to record and retry later."""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, cast

from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError, SlackClientError

log = logging.getLogger(__name__)
WAIT_AT_MOST_S = 3.0  # longer waits go back to the outbox instead of holding a Lambda


class SlackFailure(Exception):
    def __init__(self, method: str, error: str, retry_after: float | None = None) -> None:
        super().__init__(f"{method}: {error}")
        self.method, self.error, self.retry_after = method, error, retry_after


class SlackWeb:
    def __init__(self, token: str, base_url: str, sleep: Callable[[float], None] = time.sleep,
                 timeout: int = 10) -> None:
        self._client = WebClient(token=token, base_url=base_url if base_url.endswith("/") else base_url + "/",
                                 timeout=timeout)
        self._sleep, self._timeout = sleep, timeout

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One Web API call (chat.postMessage, chat.update, views.open, ...) with JSON params."""
        return self._answer(method, lambda: self._client.api_call(method, json=params))

    def read(self, method: str, **params: str) -> dict[str, Any]:
        """One of Slack's read methods (users.info, users.lookupByEmail, usergroups.users.list): Slack takes their
        arguments in the query string, not as JSON (slack-sdk's own users_info & co. send them so)."""
        return self._answer(method, lambda: self._client.api_call(method, http_verb="GET", params=params))

    def _answer(self, method: str, send: Callable[[], Any]) -> dict[str, Any]:
        for attempt in (1, 2):
            try:
                return dict(cast(dict[str, Any], send().data))
            except SlackApiError as exc:
                error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
                retry_after = _retry_after(exc.response.headers) if error == "ratelimited" else None
                log.warning("slack %s failed: %s%s", method, error,
                            f" (retry after {retry_after}s)" if retry_after is not None else "")
                if attempt == 1 and retry_after is not None and retry_after <= WAIT_AT_MOST_S:
                    self._sleep(retry_after)
                    continue
                raise SlackFailure(method, error, retry_after) from None
            except (SlackClientError, OSError) as exc:
                log.warning("slack %s unreachable: %s", method, type(exc).__name__)
                raise SlackFailure(method, f"unreachable ({type(exc).__name__})") from None
        raise AssertionError("unreachable")

    def respond(self, response_url: str, message: dict[str, Any]) -> None:
        """A reply through an interaction's response_url (ephemeral, or replacing the original message)."""
        try:
            answer = WebhookClient(response_url, timeout=self._timeout).send_dict(message)
        except (SlackClientError, OSError) as exc:
            raise SlackFailure("response_url", f"unreachable ({type(exc).__name__})") from None
        if answer.status_code >= 300:
            raise SlackFailure("response_url", f"http_{answer.status_code} {answer.body[:80]}")


def _retry_after(headers: Any) -> float:
    for name in ("Retry-After", "retry-after"):
        value = (headers or {}).get(name)
        if value:
            value = value[0] if isinstance(value, list) else value
            try:
                return float(value)
            except ValueError:
                break
    return 30.0
