"""A pytest plugin for testing *your* code against the Tavus emulator, on virtual time.

Opt in from your ``conftest.py``::

    pytest_plugins = ["tavus_async.testing"]

and use the fixtures (async tests need pytest-asyncio; ``pip install tavus-async[pytest]``)::

    async def test_onboarding(tavus_client, tavus_emulator):
        job = await tavus_client.faces.create(train_video_url="https://x.test/v.mp4")
        face = await job  # a 3.5 h training, in milliseconds
        assert tavus_emulator.calls("POST", "/v2/faces")

Time: when the ``looptime`` plugin is installed (it comes with the ``pytest`` extra), every
test using these fixtures runs on virtual loop time, so sleeps, timeouts and the emulator's
trainings take no real time and many concurrent jobs behave exactly as they would in
production. Without looptime, the fixtures share a :class:`~tavus_async.emulator.VirtualClock`
between the emulator and the client's polling, which serves one wait at a time well.

The plugin also closes the event loop that looptime 0.9 creates, and never closes, around
synchronous tests (it would fail a ``-W error`` suite with a ResourceWarning).

Configure the emulator per test with the ``tavus`` marker (keyword arguments of
:class:`~tavus_async.emulator.Emulator`) or by overriding the ``tavus_emulator_options``
fixture::

    @pytest.mark.tavus(scenario="failure")
    async def test_failed_training_is_reported(tavus_client): ...
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import AsyncIterator, Generator
from typing import Any

import pytest
import pytest_asyncio

from ._client import TavusClient
from ._policies import PollPolicy, RetryPolicy
from .emulator import Emulator, LoopClock, VirtualClock

__all__ = [
    "TEST_API_KEY",
    "tavus_client",
    "tavus_clock",
    "tavus_emulator",
    "tavus_emulator_options",
]

#: The key the emulator fixture accepts and the client fixture sends.
TEST_API_KEY = "tavus-test-key"
"""The key the emulator fixture accepts and the client fixture sends."""
_FIXTURES = {"tavus_client", "tavus_emulator", "tavus_clock"}


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``tavus`` marker."""
    config.addinivalue_line(
        "markers", "tavus(**options): keyword arguments for the Tavus emulator of this test"
    )


def _looptime_loaded(config: pytest.Config) -> bool:
    # looptime registers its pytest plugin under the entry-point name "looptime_plugin".
    manager = config.pluginmanager
    return manager.hasplugin("looptime_plugin") or manager.hasplugin("looptime._internal.plugin")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run tests that use the Tavus fixtures on virtual loop time, when looptime is present."""
    if not _looptime_loaded(config):
        return
    for item in items:
        if _FIXTURES & set(getattr(item, "fixturenames", ())) and not any(
            item.iter_markers("looptime")
        ):
            item.add_marker(pytest.mark.looptime)


def _looptime_active(config: pytest.Config) -> bool:
    return _looptime_loaded(config) and config.getoption("looptime", None) is not False


def _current_loop() -> asyncio.AbstractEventLoop | None:
    local = getattr(asyncio.get_event_loop_policy(), "_local", None)
    return getattr(local, "_loop", None)


#: From Python 3.14 a policy no longer makes a loop on demand (looptime's call raises, which it
#: handles), so there is no loop to close; and reading the policy is deprecated there.
_LOOP_ON_DEMAND = sys.version_info < (3, 14)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, Any, Any]:
    """Give *sync* tests an event loop that is closed afterwards.

    looptime 0.9's ``pytest_pyfunc_call`` calls ``policy.get_event_loop()`` for every test,
    which makes a new loop when none is set and never closes it; under ``-W error`` that loop's
    ResourceWarning then fails an unrelated test. With a loop of ours already set, looptime
    reuses it, and we close it whatever the test did (``asyncio.run`` inside a test unsets
    the current loop without closing it).
    """
    if (
        not _LOOP_ON_DEMAND
        or inspect.iscoroutinefunction(pyfuncitem.obj)
        or _current_loop() is not None
    ):
        return (yield)
    guard = asyncio.new_event_loop()
    asyncio.set_event_loop(guard)
    try:
        return (yield)
    finally:
        guard.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def tavus_emulator_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Options for :func:`tavus_emulator` (from the ``tavus`` marker). Override to customise."""
    options: dict[str, Any] = {}
    for marker in reversed(list(request.node.iter_markers("tavus"))):
        options.update(marker.kwargs)
    return options


@pytest.fixture
def tavus_clock(request: pytest.FixtureRequest) -> VirtualClock | None:
    """The shared virtual clock when looptime is not in use, else ``None`` (loop time)."""
    return None if _looptime_active(request.config) else VirtualClock()


@pytest_asyncio.fixture
async def tavus_emulator(
    tavus_emulator_options: dict[str, Any], tavus_clock: VirtualClock | None
) -> AsyncIterator[Emulator]:
    """A started :class:`~tavus_async.emulator.Emulator` accepting :data:`TEST_API_KEY`."""
    options = {"api_key": TEST_API_KEY, "seed": 0, **tavus_emulator_options}
    options.setdefault("clock", tavus_clock if tavus_clock is not None else LoopClock())
    async with Emulator(**options) as emulator:
        yield emulator


@pytest_asyncio.fixture
async def tavus_client(
    tavus_emulator: Emulator, tavus_clock: VirtualClock | None
) -> AsyncIterator[TavusClient]:
    """A :class:`~tavus_async.TavusClient` bound to :func:`tavus_emulator`."""
    options: dict[str, Any] = {}
    if tavus_clock is not None:
        options["poll"] = PollPolicy(clock=tavus_clock.time, sleep=tavus_clock.sleep)
        options["retry"] = RetryPolicy(sleep=tavus_clock.sleep)
    async with TavusClient(
        api_key=tavus_emulator.api_key or TEST_API_KEY, base_url=tavus_emulator.url, **options
    ) as client:
        yield client
