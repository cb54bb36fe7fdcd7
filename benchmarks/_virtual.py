"""Helpers shared by the benchmarks: virtual loop time, tables."""

from __future__ import annotations

import asyncio
import bisect
import statistics
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiohttp
import looptime

T = TypeVar("T")


def run_virtual(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main()`` on an event loop with virtual time (sleeps pass instantly)."""
    loop = looptime.new_event_loop(start=0.0)  # enabled from the start
    try:
        return loop.run_until_complete(main())
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0-1) by linear interpolation."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean (NaN for no values)."""
    return statistics.fmean(values) if values else float("nan")


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub-flavoured Markdown table."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    body = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in cells
    ]
    return "\n".join([line, rule, *body])


def get_tracer() -> tuple[aiohttp.TraceConfig, list[float]]:
    """An aiohttp trace that records the loop time of every GET sent (client side)."""
    loop = asyncio.get_running_loop()
    sent: list[float] = []

    async def on_request_start(_session: Any, _ctx: Any, params: Any) -> None:
        if params.method == "GET":
            sent.append(loop.time())

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    return trace, sent


def busiest_second(times: Sequence[float]) -> int:
    """The most events in any window of one second (``times`` sorted)."""
    return max((bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)), default=0)
