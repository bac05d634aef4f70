"""What every use case is given: the ports, the catalog, the clock, new ids and the public URL, in one object.

bootstrap builds it once per process (tests build it with fakes); the use cases take it as their first argument and
keep nothing else, so any process that holds the same ports can run any use case (no in-process state to share)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

from chalicelib.access_rules import Caller
from chalicelib.domain.catalog import DEFAULT_IAM_PROPAGATION, Catalog
from chalicelib.domain.events import SYSTEM
from chalicelib.domain.ids import new_request_id
from chalicelib.domain.requests import AccessRequest, Event
from chalicelib.ports import (
    Grants,
    IamDirectory,
    MembershipStore,
    Notifier,
    OnCall,
    RequestStore,
    SessionGuard,
    SlackDirectory,
    Tokens,
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


SYSTEM_CALLER = Caller(SYSTEM, None, "system")


class SilentNotifier:
    """Tells nobody: a broker without Slack (the log still says what happened)."""

    def notify(self, request: AccessRequest, event: Event) -> None:
        return None

    def alert(self, text: str) -> None:
        return None

    def resend_due(self, now: datetime) -> list[str]:
        return []


@dataclass(frozen=True)
class Deps:
    catalog: Catalog
    store: RequestStore
    grants: Grants
    tokens: Tokens
    public_url: str  # where console links point: <public_url>/v1/console/<token>
    notifier: Notifier = SilentNotifier()
    clock: Callable[[], datetime] = utcnow
    new_id: Callable[[datetime], str] = new_request_id
    sessions: SessionGuard | None = None  # None: no target account is guarded (open sessions last until they expire)
    on_call: OnCall | None = None  # None: the catalog has no on_call settings (no profile auto-approves)
    # How long an IAM change takes to be in force: the catalog's iam_propagation, or locally the world's modelled
    # delay plus a margin (bootstrap). A grant is usable, and a cut in force, this long after it is written.
    propagation: timedelta = timedelta(seconds=DEFAULT_IAM_PROPAGATION)
    # The directory (the catalog's `directory`): where its membership is kept, and the IAM and Slack it is read from
    memberships: MembershipStore | None = None
    iam_directory: IamDirectory | None = None
    slack_directory: SlackDirectory | None = None

