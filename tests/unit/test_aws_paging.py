"""IAM's paging as every adapter reads it (chalicelib/aws/paging.py): a listing IAM answers in several pages is read
whole, in order, each page asked for with the Marker the previous one returned; a listing of one page is one call.
The listing here answers as IAM does (IsTruncated and Marker only while more follows; an unknown parameter is
refused), milliseconds each. (Mutants the world's tests, whose listings fit one page, could not notice.)"""
from __future__ import annotations

from itertools import chain, islice
from typing import Any

import pytest

from chalicelib.aws.paging import marker_pages


class Listing:
    """IAM's ListUsers over `users`, `size` to a page: the calls made, and their Markers."""

    def __init__(self, users: list[str], size: int) -> None:
        self.users, self.size = users, size
        self.markers: list[str | None] = []

    def __call__(self, *, PathPrefix: str, Marker: str | None = None) -> dict[str, Any]:  # noqa: N803 (IAM's names)
        assert PathPrefix == "/people/"
        self.markers.append(Marker)
        start = int(Marker.removeprefix("after-")) if Marker else 0
        end = start + self.size
        page: dict[str, Any] = {"Users": self.users[start:end]}
        if end < len(self.users):
            page.update(IsTruncated=True, Marker=f"after-{end}")
        else:
            page["IsTruncated"] = False
        return page


@pytest.mark.parametrize("count, size, pages", [(7, 3, 3), (6, 3, 2), (2, 3, 1), (0, 3, 1)])
def test_a_listing_is_read_whole_in_order_one_call_a_page(count: int, size: int, pages: int) -> None:
    users = [f"user-{i}" for i in range(count)]
    listing = Listing(users, size)
    read = list(islice(chain.from_iterable(marker_pages(listing, "Users", PathPrefix="/people/")), count + size))
    assert read == users
    assert listing.markers == [None] + [f"after-{size * i}" for i in range(1, pages)]
