"""Page-by-page listing shared by every list endpoint (``limit``/``page`` from 1)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Generator, Mapping
from typing import Any, TypeVar

from ._converter import structure_page
from ._errors import APIStatusError, ResponseValidationError
from ._http import HTTPSession, Response

__all__ = ["MAX_PAGES", "Listing", "paginate"]

T = TypeVar("T")

#: Pages are followed lazily; this many is a runaway server, not a large account.
MAX_PAGES = 10_000


class Listing(AsyncIterator[T]):
    """Every item of a list endpoint: ``async for`` fetches pages lazily, ``await`` collects.

    ``async for face in client.faces.list():`` reads one page at a time, as you go (it is an
    async iterator: ``anext()`` and ``aclose()`` work as on a generator, and it is read
    once); ``faces = await client.faces.list()`` reads every page from the first and returns
    a list (mind very large accounts).
    """

    __slots__ = ("_iterator", "_pages")

    def __init__(self, pages: Callable[[], AsyncIterator[T]]) -> None:
        self._pages = pages
        self._iterator: AsyncIterator[T] | None = None

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        if self._iterator is None:
            self._iterator = self._pages()
        return await self._iterator.__anext__()

    async def aclose(self) -> None:
        """Stop reading pages (as ``aclose()`` on an async generator)."""
        iterator = self._iterator
        if iterator is not None and hasattr(iterator, "aclose"):
            await iterator.aclose()

    def __await__(self) -> Generator[Any, None, list[T]]:
        return self._collect().__await__()

    async def _collect(self) -> list[T]:
        return [item async for item in self._pages()]

    def __repr__(self) -> str:
        return "Listing(...)  # async for item in it, or: items = await it"


async def paginate(
    http: HTTPSession,
    path: str,
    model: type[T],
    *,
    params: Mapping[str, Any],
    page_size: int,
    key: Callable[[T], Any],
    on_page: Callable[[Response], None] | None = None,
) -> AsyncIterator[T]:
    """Yield every item of a ``{"data": [...], "total_count": n}`` listing, lazily.

    Servers often cap pages below the ``limit`` asked for, so a short page is never taken
    as the last one: the listing stops once ``total_count`` items have been read (on a page
    shorter than the ``limit`` asked for: after a full one, the next page is read whatever
    the total says), or, when there is no ``total_count``, on an empty page (one request
    more than a listing that trusts short pages, and no item missed behind a server's
    cap). It also stops on a page
    that repeats the previous one (a server that ignores ``page``). An item seen on an
    earlier page (one that moved when an item was added while we read) is not yielded again,
    nor counted towards ``total_count`` (a total that has not caught up with the addition
    would otherwise end the listing one item early).

    Pages count from 1, as Tavus's do. A listing that ends on an empty page short of its
    ``total_count``, or whose first page is empty with no total, reads ``page=0`` once more,
    in case the server counts from 0 (as Tavus's video listing does): its items not yet seen
    come last. A server that refuses page 0, with any status or a body that is no page, has
    nothing more to say (a connection error there raises, as on any page).

    ``on_page`` sees each page's response before its items are yielded (its ``Date``, say).

    Raises:
        ResponseValidationError: a page that does not fit.
        APIError: as for any read, after retries.
    """
    yielded: set[Any] = set()
    total: int | None = None
    previous: tuple[Any, ...] | None = None
    for page in range(1, MAX_PAGES + 1):
        items, total = await _page(http, path, model, params, page_size, page, on_page)
        keys = tuple(key(item) for item in items)
        if keys == previous and items:
            return  # a server that ignores `page`: page 0 would be this page again
        if not items:
            break
        previous = keys
        for item, item_key in zip(items, keys, strict=True):
            if item_key not in yielded:
                yielded.add(item_key)
                yield item
        # A full page is no proof of the end, whatever the total says: a server that counts
        # the page (not the listing) in total_count would end it after one page otherwise.
        if total is not None and len(yielded) >= total and len(items) < page_size:
            return
    short = len(yielded) < total if total is not None else page == 1
    if not short:
        return
    try:
        items, _ = await _page(http, path, model, params, page_size, 0, on_page)
    except (APIStatusError, ResponseValidationError):
        # A server counting from 1 that refuses page 0, or chokes on it: the listing it
        # served is whole as far as it can tell, and is not lost for one speculative read.
        return
    for item in items:
        item_key = key(item)
        if item_key not in yielded:
            yielded.add(item_key)
            yield item


async def _page(
    http: HTTPSession,
    path: str,
    model: type[T],
    params: Mapping[str, Any],
    page_size: int,
    page: int,
    on_page: Callable[[Response], None] | None,
) -> tuple[list[T], int | None]:
    """One page's items and its ``total_count`` (``None`` when it has none)."""
    response = await http.request("GET", path, params={**params, "limit": page_size, "page": page})
    if on_page is not None:
        on_page(response)
    return structure_page(
        response.data, model, method=response.method, url=response.url, status=response.status
    )
