"""HTTP helpers of the emulator: JSON answers, request bodies, paging, cut connections."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from aiohttp import web

__all__ = [
    "abort",
    "error",
    "is_http_url",
    "json_body",
    "json_response",
    "list_response",
    "paging",
    "retry_after_seconds",
    "truncated",
]

T = TypeVar("T")


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


def error(message: str, status: int = 400) -> web.Response:
    return json_response({"error": message}, status=status)


def retry_after_seconds(value: float) -> str:
    # Retry-After is whole seconds (RFC 9110); round up so a client never comes back early.
    whole = int(value)
    return str(whole if whole == value else whole + 1)


def is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


async def json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def paging(
    query: Any, *, default_limit: int, maximum: int, cap: int | None = None
) -> tuple[int, int]:
    """``(limit, page)`` from a list request; ``cap`` serves at most that many per page.

    Raises:
        ValueError: a limit or page out of range (a 400 for the client).
    """
    try:
        limit = int(query.get("limit", default_limit))
        page = int(query.get("page", 1))
    except ValueError:
        msg = "limit and page must be integers"
        raise ValueError(msg) from None
    if not 1 <= limit <= maximum:
        msg = f"limit must be between 1 and {maximum}"
        raise ValueError(msg)
    if page < 1:
        msg = "page must be >= 1"
        raise ValueError(msg)
    # Like many servers, one that caps pages answers with fewer items than asked for, and
    # the same total_count: pages are then numbered in units of the cap.
    return (min(limit, cap) if cap is not None else limit), page


def list_response(
    rows: Sequence[T],
    *,
    limit: int,
    page: int,
    render: Callable[[T], Any],
    extra: dict[str, Any] | None = None,
    total: bool = True,
) -> web.Response:
    """Page ``page`` of ``rows`` as ``{"data": [...], "total_count": n}`` (plus ``extra``).

    ``total=False`` leaves ``total_count`` out, as some servers do.
    """
    chunk = rows[(page - 1) * limit : page * limit]
    body: dict[str, Any] = {"data": [render(r) for r in chunk]}
    if total:
        body["total_count"] = len(rows)
    return json_response({**body, **(extra or {})})


def abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


async def truncated(request: web.Request, full: web.StreamResponse) -> web.StreamResponse:
    body = full.body if isinstance(full, web.Response) else b"{}"
    data = bytes(body) if isinstance(body, (bytes, bytearray)) else b'{"data": []}'
    response = web.StreamResponse(
        status=full.status,
        headers={"Content-Type": "application/json", "Content-Length": str(len(data) + 64)},
    )
    await response.prepare(request)
    await response.write(data[: max(1, len(data) // 2)])
    abort(request)
    return response
