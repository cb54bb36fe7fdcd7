"""Page-by-page listing shared by every list endpoint (``limit``/``page`` from 1)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, TypeVar

from ._converter import structure_page
from ._http import HTTPSession

__all__ = ["MAX_PAGES", "paginate"]

T = TypeVar("T")

#: Pages are followed lazily; this many is a runaway server, not a large account.
MAX_PAGES = 10_000


async def paginate(
    http: HTTPSession,
    path: str,
    model: type[T],
    *,
    params: Mapping[str, Any],
    page_size: int,
    key: Callable[[T], Any],
) -> AsyncIterator[T]:
    """Yield every item of a ``{"data": [...], "total_count": n}`` listing, lazily.

    Stops on an empty page, on a page that repeats the previous one (a server that ignores
    ``page``), on a short page, or once ``total_count`` items have been seen.

    Raises:
        ResponseValidationError: a page that does not fit.
        APIError: as for any read, after retries.
    """
    previous: tuple[Any, ...] | None = None
    seen = 0
    for page in range(1, MAX_PAGES + 1):
        response = await http.request(
            "GET", path, params={**params, "limit": page_size, "page": page}
        )
        items, total = structure_page(
            response.data,
            model,
            method=response.method,
            url=response.url,
            status=response.status,
        )
        keys = tuple(key(item) for item in items)
        if not items or keys == previous:
            return
        previous = keys
        for item in items:
            yield item
        seen += len(items)
        if (total is not None and seen >= total) or len(items) < page_size:
            return
