"""What every part of the emulator shares: its state, its clock, its background tasks."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from collections.abc import Awaitable
from typing import Any, Literal

import aiohttp
import attrs

from ._clock import EmulatorClock
from ._scenarios import Rule, Scenario
from ._state import ConversationRecord, FaceRecord

__all__ = ["CallbackDelivery", "CallbackMode", "EmulatorBase"]

CallbackMode = Literal["deliver", "drop", "duplicate"]


@attrs.define(kw_only=True)
class CallbackDelivery:
    """One attempt to POST a training callback."""

    url: str
    payload: dict[str, Any]
    time: float
    attempt: int
    status: int | None
    error: str | None = None


class EmulatorBase:
    """The state the emulator's parts read, declared once; :class:`Emulator` sets it."""

    api_key: str | None
    clock: EmulatorClock
    scenario: Scenario
    rules: list[Rule]
    seed: int | None
    epoch: dt.datetime
    date_skew: float | None
    real_date: bool
    page_cap: int | None
    total_count: bool
    callback_mode: CallbackMode
    faces: dict[str, FaceRecord]
    conversations: dict[str, ConversationRecord]
    deliveries: list[CallbackDelivery]
    _rng: random.Random
    _tasks: set[asyncio.Task[Any]]
    _session: aiohttp.ClientSession | None

    def now(self) -> float:
        """Current emulated time in seconds."""
        return self.clock.time()

    def wall(self, t: float | None = None) -> dt.datetime:
        """Wall-clock time (UTC) at emulated time ``t`` (default: now)."""
        return self.epoch + dt.timedelta(seconds=self.now() if t is None else t)

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
