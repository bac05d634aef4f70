"""IAM's pages for GetGroup and ListUserTags, inside the local world's moto server, as IAM pages them.

moto 5.2.5 answers every member of a group and every tag of a user in one page, whatever MaxItems says, so a reader
that forgot to follow `Marker` would pass against the world and miss people on AWS (GetGroup pages at 100 users by
default). Patched point (`install`): `moto.iam.responses.IamResponse.get_group` and `.list_user_tags` answer at most
MaxItems (default 100, as IAM) with `IsTruncated` and an opaque `Marker` for the rest."""

from __future__ import annotations

from typing import Any

DEFAULT_MAX_ITEMS = 100  # IAM's default for GetGroup and ListUserTags
MARKER_PREFIX = "world-page-"


def page(items: list[Any], max_items: int | None, marker: str | None) -> tuple[list[Any], str | None]:
    """The page of `items` that starts at `marker` (None: the first), and the marker of the next page (None: last)."""
    start = 0
    if marker:
        offset = marker.removeprefix(MARKER_PREFIX)
        if not marker.startswith(MARKER_PREFIX) or not offset.isdigit():
            raise ValueError(f"not a marker this world issued: {marker!r}")
        start = int(offset)
    size = max_items or DEFAULT_MAX_ITEMS
    end = start + size
    return items[start:end], (f"{MARKER_PREFIX}{end}" if end < len(items) else None)


def _paged(self: Any, key: str, items: list[Any], result: dict[str, Any]) -> Any:
    from moto.core.responses import ActionResult
    from moto.iam.exceptions import ValidationError

    try:
        shown, following = page(items, self._get_int_param("MaxItems"), self._get_param("Marker"))
    except ValueError as exc:
        raise ValidationError(str(exc)) from None
    return ActionResult({**result, key: shown, "IsTruncated": following is not None,
                         **({"Marker": following} if following else {})})


def _get_group(self: Any) -> Any:
    group = self.backend.get_group(self._get_param("GroupName"))
    return _paged(self, "Users", list(group.users), {"Group": group})


def _list_user_tags(self: Any) -> Any:
    return _paged(self, "Tags", list(self.backend.list_user_tags(self._get_param("UserName"))), {})


def install() -> None:
    from moto.iam.responses import IamResponse

    IamResponse.get_group = _get_group  # type: ignore[method-assign]
    IamResponse.list_user_tags = _list_user_tags  # type: ignore[method-assign]
