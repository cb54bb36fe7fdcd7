"""Emulator clocks: real time, scaled time, or a virtual clock shared with a client.

The emulator asks a clock two things: ``time()`` (emulated seconds, monotonic) and
``wait_until(t)`` (used by callback delivery). Training state is computed from ``time()`` at
request time, so no timer runs per face and any clock works.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from typing import Protocol, runtime_checkable

__all__ = ["EmulatorClock", "LoopClock", "VirtualClock"]

#: Shortest loop-time sleep of :meth:`LoopClock.wait_until`, in seconds.
MIN_SLEEP = 1e-3


@runtime_checkable
class EmulatorClock(Protocol):
    """What the emulator needs from a clock."""

    def time(self) -> float:
        """Emulated seconds (monotonic; the origin is arbitrary)."""
        ...

    async def wait_until(self, deadline: float) -> None:
        """Return once ``time()`` has reached ``deadline``."""
        ...


class LoopClock:
    """The event loop's clock, optionally sped up: ``speed=600`` makes 3.5 h last 21 s.

    Under virtual loop time (e.g. the ``looptime`` pytest plugin) it is virtual too, and
    then agrees with a client whose :class:`~tavus_async.PollPolicy` keeps its default
    (loop) clock.
    """

    def __init__(self, speed: float = 1.0) -> None:
        if isinstance(speed, bool) or not isinstance(speed, (int, float)):
            msg = f"speed must be a number, got {type(speed).__name__}"
            raise TypeError(msg)
        if not math.isfinite(speed) or speed <= 0:
            msg = f"speed must be a finite number > 0, got {speed!r}"
            raise ValueError(msg)
        self.speed = float(speed)
        self._origin: float | None = None

    def _loop_time(self) -> float:
        now = asyncio.get_running_loop().time()
        if self._origin is None:
            self._origin = now
        return now

    def time(self) -> float:
        """Emulated seconds since first use."""
        now = self._loop_time()
        assert self._origin is not None
        return (now - self._origin) * self.speed

    async def wait_until(self, deadline: float) -> None:
        """Sleep (in loop time) until emulated ``deadline``; never returns before it."""
        remaining = deadline - self.time()
        if remaining > 0:
            await asyncio.sleep(remaining / self.speed)
        # A timer may fire a hair early (the loop's clock resolution). A sleep of that hair
        # could return at once again on a virtual loop clock, so the top-up is 1 ms more.
        remaining = deadline - self.time()
        if remaining > 0:
            await asyncio.sleep(remaining / self.speed + MIN_SLEEP)

    def __repr__(self) -> str:
        return f"LoopClock(speed={self.speed:g})"


class VirtualClock:
    """A clock that moves only when told to: by :meth:`advance` or by :meth:`sleep`.

    Share one between the emulator and a client to simulate hours in milliseconds::

        clock = VirtualClock()
        policy = PollPolicy(clock=clock.time, sleep=clock.sleep)
        async with Emulator(clock=clock) as emu:
            ...

    :meth:`sleep` *advances* the clock by its argument (then yields to the loop), so it
    suits one waiter at a time; for many concurrent waits, prefer virtual loop time
    (``looptime``) with :class:`LoopClock`. :meth:`wait_until` waits passively for
    someone else to move the clock, which is what the emulator's callbacks do.
    """

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)
        self._waiters: list[tuple[float, int, asyncio.Future[None]]] = []
        self._counter = itertools.count()

    def time(self) -> float:
        """Current virtual time in seconds."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds`` and release every waiter that is due."""
        if seconds < 0:
            msg = "a clock cannot go backwards"
            raise ValueError(msg)
        self._now += seconds
        while self._waiters and self._waiters[0][0] <= self._now:
            _, _, future = heapq.heappop(self._waiters)
            if not future.done():
                future.set_result(None)

    async def sleep(self, seconds: float) -> None:
        """Advance the clock by ``seconds``, then let other tasks run (a ``PollPolicy`` sleep)."""
        self.advance(max(0.0, seconds))
        # Let callbacks released by the advance, and I/O, make progress before returning.
        for _ in range(3):
            await asyncio.sleep(0)

    async def wait_until(self, deadline: float) -> None:
        """Wait until someone moves the clock to ``deadline`` or beyond."""
        if self._now >= deadline:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (deadline, next(self._counter), future))
        await future

    def __repr__(self) -> str:
        return f"VirtualClock(t={self._now:g})"
