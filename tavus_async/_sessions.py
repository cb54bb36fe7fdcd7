"""The aiohttp sessions behind one client, and how long they live.

A client owns its aiohttp session (made lazily, inside the running event loop; closed with the
client or, failing that, with the loop) or borrows the application's, which it never closes.

A request that is not retried once it may have been sent (a create) goes out, on an owned
session, over a connection of its own that is closed after the answer. On a pooled keep-alive
connection, a server that closed the connection while it sat idle, just as the request was
being written, looks exactly like a server that received the request and died: aiohttp
retries that case for idempotent methods only, and for a create all we could do is raise
:class:`~tavus_async.TrainingMayHaveStartedError`. A new connection cannot be stale, and
creates are rare (one per multi-hour training), so the extra handshake costs nothing that
matters. A borrowed session is used as it is: its connector is the application's to set.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Mapping

import aiohttp

from ._errors import ClientClosedError, EventLoopError

__all__ = ["Sessions"]


class Sessions:
    """The owned (or borrowed) aiohttp session, and the owned one for unpooled requests.

    Not public: :class:`~tavus_async.TavusClient` is the way in.
    """

    def __init__(
        self,
        borrowed: aiohttp.ClientSession | None,
        *,
        timeout: aiohttp.ClientTimeout,
        headers: Mapping[str, str],
    ) -> None:
        self.pooled = borrowed
        self.unpooled: aiohttp.ClientSession | None = None
        #: False for a borrowed session, which we neither make nor close.
        self.owned = borrowed is None
        self._timeout = timeout
        self._headers = headers
        #: The event loop the owned sessions were made in (a session cannot change loops).
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lifetime: AsyncGenerator[None, None] | None = None

    def settled(self) -> bool:
        """True when :meth:`ready` has nothing to do (the common case, checked inline)."""
        return self._lifetime is not None and self._loop is asyncio.get_running_loop()

    def get(self, *, unpooled: bool = False) -> aiohttp.ClientSession:
        """The session to send on; ``unpooled`` for a request that must not ride a kept connection.

        Raises:
            ClientClosedError: the borrowed session was closed by its owner.
        """
        if not self.owned:
            assert self.pooled is not None
            if self.pooled.closed:
                msg = "the borrowed aiohttp.ClientSession was closed by its owner"
                raise ClientClosedError(msg)
            return self.pooled
        if unpooled:
            if self.unpooled is None:
                self.unpooled = self._new(aiohttp.TCPConnector(force_close=True))
            return self.unpooled
        if self.pooled is None:
            self.pooled = self._new(None)
        return self.pooled

    def _new(self, connector: aiohttp.BaseConnector | None) -> aiohttp.ClientSession:
        # Made lazily so that it is made inside the running event loop, then reused until
        # close(). Our constant headers and timeout are its defaults: cheaper than merging
        # them into every request.
        self._loop = asyncio.get_running_loop()
        return aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, headers=dict(self._headers)
        )

    def _owned(self) -> list[aiohttp.ClientSession]:
        if not self.owned:
            return []
        return [s for s in (self.pooled, self.unpooled) if s is not None]

    async def ready(self) -> None:
        """Before a request: the right event loop, and the owned sessions watched by it.

        Raises:
            EventLoopError: the sessions were made in another event loop.
        """
        if self._loop is not None and self._loop is not asyncio.get_running_loop():
            await self._other_loop()
        if self._lifetime is None and self.owned:
            self._lifetime = self._watch_loop()
            await self._lifetime.__anext__()

    async def close(self) -> None:
        """Close the owned sessions (a borrowed one is left open)."""
        for session in self._owned():
            await session.close()
        if self._lifetime is not None and self._loop is asyncio.get_running_loop():
            await self._lifetime.aclose()

    async def _watch_loop(self) -> AsyncGenerator[None, None]:
        """Suspended for as long as the owned sessions live in their loop.

        ``asyncio.run()`` finalizes every suspended async generator before it closes its
        loop: a client nobody closed then closes its sessions with the loop, instead of
        leaving sessions and their connections to be reported as leaked.
        """
        try:
            yield
        finally:
            for session in self._owned():
                if not session.closed:
                    await session.close()

    async def _other_loop(self) -> None:
        """Used from a loop other than the sessions': let go of them quietly, then say so."""
        loop = self._loop
        if loop is not None and loop.is_closed():
            # Their loop is gone (a second asyncio.run()): nothing can be sent on them any
            # more. Detached, a session counts as closed; its connector, closed from here,
            # only notes it (its transports died with their loop). No "Unclosed" warnings.
            for stale in self._owned():
                connector = stale.connector
                stale.detach()
                if connector is not None:
                    await connector.close()
        msg = (
            "this TavusClient was started in another event loop (a second asyncio.run()?): "
            "create the client inside the coroutine you run, one per loop, e.g. "
            "`async with TavusClient() as client: ...`"
        )
        raise EventLoopError(msg)
