"""Training callbacks: the documented POST at each stage's end, retried with backoff."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

from ._base import CallbackDelivery, EmulatorBase
from ._state import FACE_NAMES, FaceRecord, Names

__all__ = ["CallbackSender"]

logger = logging.getLogger("tavus_async.emulator")


class CallbackSender(EmulatorBase):
    """Delivers training callbacks (the ``callbacks`` mode decides: deliver, drop, duplicate)."""

    async def _deliver_callbacks(self, record: FaceRecord, names: Names) -> None:
        """POST the documented payload at each stage end (one, or two for Phoenix-4.5)."""
        sent_stage: tuple[str, str | None] | None = None
        while True:
            state = record.state(self.now())
            stage = (state.status, state.finetune_status)
            if stage != sent_stage and state.status in ("completed", "error"):
                if record.deleted:
                    return
                payload: dict[str, Any] = {
                    "replica_id": record.face_id,
                    "status": "ready" if state.status == "completed" else "error",
                }
                if names is FACE_NAMES:
                    payload["face_id"] = record.face_id
                if state.error_message:
                    payload["error_message"] = state.error_message
                if state.finetune_status is not None:
                    payload["finetune_status"] = state.finetune_status
                sent_stage = stage
                if self.callback_mode != "drop":
                    assert record.callback_url is not None
                    await self._post_callback(record.callback_url, payload)
                    if self.callback_mode == "duplicate":
                        await self._post_callback(record.callback_url, payload)
            if state.done_at is None:
                return
            await self.clock.wait_until(record.created + state.done_at)

    async def _post_callback(self, url: str, payload: dict[str, Any]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        delay = 1.0
        for attempt in range(1, 6):
            status: int | None = None
            error: str | None = None
            try:
                async with self._session.post(url, json=payload) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:200]
            self.deliveries.append(
                CallbackDelivery(
                    url=url,
                    payload=payload,
                    time=self.now(),
                    attempt=attempt,
                    status=status,
                    error=error,
                )
            )
            if status is not None and 200 <= status < 300:
                return
            logger.info("callback to %s failed (%s); retrying", url, status or error)
            await self.clock.wait_until(self.now() + delay)
            delay *= 2
