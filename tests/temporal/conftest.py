"""A real Temporal dev server for the workflow tests, and the emulator on accelerated time.

These tests run on real time (``--no-looptime``): Temporal's timers are the server's. They
run in a subprocess of the main suite (see ``tests/test_temporal.py``), never in its process.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.client import Client

from tavus_async import PollPolicy, TavusClient
from tavus_async._policies import scaled_policy
from tavus_async.emulator import Emulator, Scenario
from tavus_async.temporal import build_worker
from tavus_async.temporal._devserver import connect_when_ready, dev_server
from tests.conftest import API_KEY

#: How long the server may take to accept a client (seconds of real time).
STARTUP = 60.0
#: Emulated seconds per real second: a 30-minute training lasts 7.5 s.
SPEED = 240.0
#: The short trainings of these tests, and what the workers' cadence expects of them.
SHORT = Scenario(duration=1800.0, curve="linear")
EXPECTED = (1200.0, 2400.0)


def short_policy() -> PollPolicy:
    """The cadence of a worker (or an in-process job) against :data:`SHORT` trainings."""
    return scaled_policy(SPEED, expected_duration=EXPECTED)


@pytest.fixture(scope="session")
def temporal_address() -> Iterator[str]:
    """``host:port`` of a ``temporal server start-dev`` (in memory) for the whole session."""
    with dev_server(startup=STARTUP) as address:
        yield address


@pytest.fixture
async def temporal(temporal_address: str) -> Client:
    """A Temporal client with the SDK's data converter."""
    return await connect_when_ready(temporal_address, startup=STARTUP)


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
