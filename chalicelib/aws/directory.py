"""The directory's IAM side: the members of IAM groups in the source account, and each member's tags (iam:GetGroup and
iam:ListUserTags, every page of each).

A group IAM does not know is reported as unknown, and the others are still read. Throttling, 5xx answers and dropped
connections are retried (retry.py); what still fails, and any refusal, is DirectoryUnavailable: never a shorter list
of people than IAM holds, never a user without the tags it has."""
from __future__ import annotations

import random
import time
from typing import Any, Callable, Iterable, Iterator, Sequence

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

from chalicelib.aws import clients
from chalicelib.aws.paging import marker_pages
from chalicelib.aws.retry import error_code, retried
from chalicelib.domain.directory_reads import DirectoryUnavailable, IamGroups

PAGE_SIZE = 100  # IAM's default MaxItems for both calls


class _Gone(Exception):
    """IAM answered NoSuchEntity: the group (or user) does not exist."""


class IamDirectory:
    def __init__(self, client: Any = None, sleep: Callable[[float], None] = time.sleep,
                 jitter: Callable[[], float] = random.random, page_size: int = PAGE_SIZE) -> None:
        self._client, self.sleep, self.jitter, self.page_size = client, sleep, jitter, page_size

    @property
    def iam(self) -> Any:
        if self._client is None:  # built on first use: no client at import or cold start
            self._client = clients.iam()
        return self._client

    def read(self, groups: Sequence[str]) -> IamGroups:
        """Every member of each of `groups` (IAM group names in the source account), with each member's tags read
        once however many groups they are in. A user deleted between the two reads is left out of every group."""
        members: dict[str, tuple[str, ...]] = {}
        unknown: list[str] = []
        for group in dict.fromkeys(groups):  # each once, in the order given
            try:
                members[group] = tuple(sorted({u["UserName"] for u in self._all("get_group", "Users",
                                                                                 GroupName=group)}))
            except _Gone:
                unknown.append(group)
        tags: dict[str, dict[str, str]] = {}
        for user in sorted({u for names in members.values() for u in names}):
            try:
                tags[user] = {t["Key"]: t["Value"] for t in self._all("list_user_tags", "Tags", UserName=user)}
            except _Gone:
                continue
        gone = {u for names in members.values() for u in names} - set(tags)
        return IamGroups({g: tuple(u for u in names if u not in gone) for g, names in members.items()}, tags,
                         tuple(unknown))

    def _all(self, operation: str, key: str, **kwargs: Any) -> Iterable[dict[str, Any]]:
        return [item for page in self._pages(operation, key, **kwargs) for item in page]

    def _pages(self, operation: str, key: str, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
        return marker_pages(lambda **page: self._call(operation, **page), key, MaxItems=self.page_size, **kwargs)

    def _call(self, operation: str, **kwargs: Any) -> Any:
        """One IAM call (retry.py); NoSuchEntity is _Gone, every other failure DirectoryUnavailable."""
        name = "".join(part.title() for part in operation.split("_"))  # get_group -> GetGroup, as IAM names it
        try:
            return retried(lambda: getattr(self.iam, operation)(**kwargs), name,
                           lambda why: DirectoryUnavailable("IAM", name, "unreachable", why), sleep=self.sleep,
                           network=(BotoConnectionError, HTTPClientError), spread=lambda: 0.5 + self.jitter() / 2)
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                raise _Gone() from None
            raise DirectoryUnavailable("IAM", name, error_code(exc) or "error",
                                       str(exc.response.get("Error", {}).get("Message", ""))) from None
