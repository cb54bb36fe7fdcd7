"""One task's wait on a job: its deadline, ``until``, ``on_update`` hook and outcome.

The driver (:mod:`tavus_async._driver`) polls for every waiter of a job; each waiter keeps
what is its own. Its hook runs on a task of the waiter's own, so a slow hook never delays
polling, and a cancelled wait cancels the hook calls left.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from ._models import Face
from ._outcome import Until

__all__ = ["Finished", "OnUpdate", "Waiter"]

logger = logging.getLogger("tavus_async")

OnUpdate = Callable[[Any], "Awaitable[None] | None"]


class Finished:
    """A wait that was over before it began (the job's outcome was already known)."""

    __slots__ = ("outcome",)

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome


class Waiter:
    """One task's wait: its deadline, ``until``, hook, and where its outcome goes.

    Its ``on_update`` hook is called as faces arrive; what an async hook returns is awaited
    on a task of the waiter's own, one call after another in the order of the faces (a slow
    hook never delays polling, and never sees 46 % after 47 %). :meth:`result` returns once
    the last call has finished; a cancelled wait cancels the calls left.
    """

    __slots__ = (
        "_calls",
        "_runner",
        "deadline",
        "future",
        "on_update",
        "queue",
        "timeout",
        "until",
    )

    def __init__(
        self,
        *,
        deadline: float,
        timeout: float,
        until: Until,
        on_update: OnUpdate | None,
        queue: asyncio.Queue[Any] | None,
    ) -> None:
        self.deadline = deadline
        self.timeout = timeout
        self.until = until
        self.on_update = on_update
        self.queue = queue
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._calls: deque[Awaitable[Any]] = deque()
        self._runner: asyncio.Task[None] | None = None

    def finish(self, outcome: Any) -> None:
        """Hand the waiter its outcome (a face or an exception)."""
        if self.queue is not None:
            # An updates() iterator reads its outcome from its queue.
            self.queue.put_nowait(Finished(outcome))
        elif self.future.done():
            return
        elif isinstance(outcome, BaseException):
            self.future.set_exception(outcome)
        else:
            self.future.set_result(outcome)

    async def result(self) -> Any:
        """The wait's outcome (a face, or its exception raised) once the hook is done with
        every face it was given."""
        try:
            outcome = await self.future
        except asyncio.CancelledError:
            self._drop_hooks()
            raise
        except BaseException:
            await self._hooks_done()  # the hook sees the failed face before the error is raised
            raise
        await self._hooks_done()
        return outcome

    # ------------------------------------------------------------------ the hook

    def notify(self, face: Face) -> None:
        """Call the ``on_update`` hook with a face; queue what an async hook returns."""
        if self.on_update is None:
            return
        try:
            result = self.on_update(face)
        except Exception:
            logger.exception("on_update hook raised; the wait continues")
            return
        if inspect.isawaitable(result):
            self._calls.append(result)
            if self._runner is None or self._runner.done():
                self._runner = asyncio.ensure_future(self._run_hooks())

    async def _run_hooks(self) -> None:
        while self._calls:
            call = self._calls.popleft()
            try:
                await call
            except Exception:
                logger.exception("on_update hook raised; the wait continues")

    async def _hooks_done(self) -> None:
        """Return once every hook call queued so far has finished (cancelled with them)."""
        runner = self._runner
        if runner is None:
            return
        try:
            # A runner that ends on an exception has logged it; waiting is all we do here.
            await asyncio.wait({runner})
        except asyncio.CancelledError:
            self._drop_hooks()
            raise

    def _drop_hooks(self) -> None:
        """Cancel the hook call under way and discard those not begun (the wait was cancelled)."""
        while self._calls:
            call = self._calls.popleft()
            if inspect.iscoroutine(call):
                call.close()  # never begun: closed, or it warns that it was never awaited
            elif isinstance(call, asyncio.Future):
                call.cancel()
        if self._runner is not None:
            self._runner.cancel()
