"""Shared fixtures: an in-process emulator, a client bound to it, and a scriptable stub server.

Every test runs on virtual loop time (``--looptime`` in pytest's addopts, see pyproject):
sleeps, timeouts and the emulator's clock advance instantly while loopback HTTP still flows.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import pytest
from aiohttp import web

from tavus_async import RetryPolicy, TavusClient
from tavus_async.emulator import Emulator

# The public plugin: its fixtures, and its guard against looptime's leaked loops.
pytest_plugins = ["tavus_async.testing"]

# The Temporal tests run in a child process of their own (see tests/test_temporal.py).
collect_ignore = [] if os.environ.get("TAVUS_TEMPORAL_TESTS") else ["temporal"]

#: A recognisable fake key, so leak tests can search for it.
API_KEY = "tvs-test-key-8f3b2c91d7e0"


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """A started emulator that accepts only :data:`API_KEY`, on loop time."""
    async with Emulator(api_key=API_KEY, seed=7) as emu:
        yield emu


@pytest.fixture
async def client(emulator: Emulator) -> AsyncIterator[TavusClient]:
    """A client bound to :func:`emulator`."""
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as tavus:
        yield tavus


@attrs.define
class Canned:
    """A response the stub server will send."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = attrs.Factory(dict)
    raw: bytes | None = None
    content_type: str = "application/json"


@attrs.define
class Seen:
    """A request the stub server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class Stub:
    """An aiohttp server that answers with queued :class:`Canned` responses, in order.

    When the queue is empty it repeats the last response. It records every request.
    """

    def __init__(self) -> None:
        self.queue: list[Canned] = []
        self.seen: list[Seen] = []
        self.url = ""
        self.handler: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None

    def reply(
        self,
        status: int = 200,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.queue.append(Canned(status, body, headers or {}, raw, content_type))

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(
            Seen(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers=dict(request.headers),
                body=await request.read(),
            )
        )
        if self.handler is not None:
            return await self.handler(request)
        canned = self.queue.pop(0) if len(self.queue) > 1 else self.queue[0]
        if canned.raw is not None:
            data = canned.raw
        else:
            data = b"" if canned.body is None else json.dumps(canned.body).encode()
        return web.Response(
            status=canned.status,
            body=data,
            headers=canned.headers,
            content_type=canned.content_type,
        )


@pytest.fixture
async def stub() -> AsyncIterator[Stub]:
    """A started :class:`Stub` on loopback."""
    server = Stub()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server._handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # started, so bound
    server.url = f"http://127.0.0.1:{port}"
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest.fixture
async def stub_client(stub: Stub) -> AsyncIterator[TavusClient]:
    """A client bound to the stub server, retrying quickly (virtual time anyway)."""
    async with TavusClient(
        api_key=API_KEY, base_url=stub.url, retry=RetryPolicy(max_attempts=3)
    ) as tavus:
        yield tavus


def pending_tasks() -> set[asyncio.Task[Any]]:
    """Unfinished tasks other than the current one and the emulator's server connections.

    The emulator (the far side of the loopback connection) keeps one aiohttp request-handler
    task per keep-alive connection; those belong to the server, not to the SDK under test.
    """
    current = asyncio.current_task()
    return {
        t
        for t in asyncio.all_tasks()
        if t is not current
        and not t.done()
        and getattr(t.get_coro(), "__qualname__", "") != "RequestHandler.start"
    }
