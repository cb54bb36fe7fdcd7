"""The package on uvloop, the event loop uvicorn picks when it is installed.

These tests run their own uvloop loop, outside pytest-asyncio's (and so outside looptime's
virtual time): the emulator and the cadence share one speed-up instead, so a 3.5 h training
takes a fraction of a second and every request is still real loopback HTTP.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tavus_async import TavusClient
from tavus_async._policies import scaled_policy
from tavus_async.emulator import Emulator, Rule, Scenario

from .conftest import API_KEY

uvloop = pytest.importorskip("uvloop")

#: Emulated seconds per real second, for the emulator and the cadence alike.
SPEED = 20_000.0


def _on_uvloop(main: Callable[[], Awaitable[None]]) -> None:
    async def checked() -> None:
        assert isinstance(asyncio.get_running_loop(), uvloop.Loop)
        await main()
        # Nothing the package started outlives the client.
        assert asyncio.all_tasks() == {asyncio.current_task()}

    uvloop.run(checked())


def _client(emu: Emulator) -> TavusClient:
    return TavusClient(
        api_key=API_KEY, base_url=emu.url, poll=scaled_policy(SPEED), max_polls_per_second=None
    )


def test_a_training_is_awaited_resumed_and_listed_on_uvloop() -> None:
    async def main() -> None:
        rule = Rule(name_contains="uv", scenario=Scenario(curve="realistic", duration=3.5 * 3600))
        async with Emulator(api_key=API_KEY, speed=SPEED, rules=[rule]) as emu, _client(emu) as c:
            job = await c.faces.create(train_video_url="https://cdn.test/v.mp4", face_name="uv")
            face = await job
            assert face.status.is_success
            # A worker that holds only the state picks the job up where it stood.
            again = await c.faces.job(job.face_id, state=job.state).poll_once()
            assert again.done
            assert again.face.face_id == job.face_id
            assert [f.face_id async for f in c.faces.list()] == [job.face_id]
            # Hours of training, read in tens of requests, not thousands.
            assert 5 < len(emu.calls("GET", f"/v2/faces/{job.face_id}")) < 200

    _on_uvloop(main)


def test_a_cancelled_wait_leaves_the_training_alone_on_uvloop() -> None:
    async def main() -> None:
        async with Emulator(api_key=API_KEY, speed=SPEED) as emu, _client(emu) as c:
            job = await c.faces.create(train_video_url="https://cdn.test/v.mp4", face_name="uv")
            waiting = asyncio.ensure_future(c.faces.job(job.face_id).wait())
            await asyncio.sleep(0.01)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            assert emu.calls("DELETE") == []
            face = await job  # the training went on and completes for the other waiter
            assert face.status.is_success

    _on_uvloop(main)
