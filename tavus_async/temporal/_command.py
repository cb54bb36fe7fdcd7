"""``tavus-async temporal worker``: serve a task queue until Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable

from tavus_async._client import TavusClient

from ._worker import build_worker, connect

__all__ = ["run_worker"]


async def run_worker(
    tavus: TavusClient,
    *,
    address: str,
    namespace: str,
    task_queue: str,
    time_scale: float,
    out: Callable[[str], None],
) -> None:
    """Run a :class:`~tavus_async.temporal.TrainFace` worker until Ctrl-C or SIGTERM.

    SIGTERM (a redeploy) stops it as Ctrl-C does: workflows carry on with the next worker.

    Raises:
        ConnectionError: Temporal cannot be reached.
    """
    try:
        temporal = await connect(address, namespace=namespace)
    except RuntimeError as exc:  # how temporalio reports a failed connect
        msg = f"cannot reach Temporal at {address}: {exc}"
        raise ConnectionError(msg) from exc
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):  # no signal handlers on Windows
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        async with build_worker(temporal, tavus, task_queue=task_queue, time_scale=time_scale):
            out(f"worker for task queue {task_queue!r} on {address} ({namespace}); Ctrl-C stops")
            await stop.wait()
    finally:
        with contextlib.suppress(NotImplementedError):
            loop.remove_signal_handler(signal.SIGTERM)
    out("worker stopped; running trainings carry on with the next worker")
