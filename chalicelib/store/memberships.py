"""The directory's membership in the table: one item, (DIRECTORY, MEMBERS), written by the refresh and read by every
process (once per `refresh` at most; once at a cold start). An older refresh never overwrites a newer one."""
from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PutError

from chalicelib.domain.directory import Membership
from chalicelib.store.models import DirectoryItem

_KEY = ("DIRECTORY", "MEMBERS")


class StoredMemberships:
    def read(self) -> Membership | None:
        try:
            item = DirectoryItem.get(*_KEY, consistent_read=True)
        except DoesNotExist:
            return None
        return Membership.from_json(item.body)

    def save(self, membership: Membership) -> bool:
        """Stores `membership` unless a refresh checked later already stored its own (False then)."""
        checked = int(membership.checked.timestamp())
        try:
            DirectoryItem(*_KEY, checked_at=checked, body=membership.to_json()).save(
                condition=DirectoryItem.pk.does_not_exist() | (DirectoryItem.checked_at <= checked))
        except PutError as exc:
            if exc.cause_response_code != "ConditionalCheckFailedException":
                raise
            return False
        return True
