"""IAM's paging, one way for every adapter: a list call answers a page, `IsTruncated` and the `Marker` to pass for
the next one."""
from __future__ import annotations

from typing import Any, Callable, Iterator


def marker_pages(call: Callable[..., Any], key: str, **kwargs: Any) -> Iterator[list[Any]]:
    """`page[key]` of every page of `call(**kwargs)` (each call the adapter's own: retried, its errors its own)."""
    marker = None
    while True:
        page = call(**kwargs, **({"Marker": marker} if marker else {}))
        yield page[key]
        if not page.get("IsTruncated"):
            return
        marker = page["Marker"]
