"""The demo: the whole face flow on the embedded emulator, with no key and no setup."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from ._client import TavusClient
from ._policies import PollPolicy
from .emulator import Emulator, LoopClock, Rule, Scenario

__all__ = ["DEMO_KEY", "run_demo", "scaled_policy"]

DEMO_KEY = "demo-key-not-secret"
SAMPLE_VIDEO = "https://cdn.example.com/samples/rio-train.mp4"
BROKEN_VIDEO = "https://cdn.example.com/samples/screen-recording.mov"


def scaled_policy(clock: LoopClock, **overrides: float) -> PollPolicy:
    """A PollPolicy living in the emulator's accelerated time.

    Cadence, deadline and request count are those of the real multi-hour wait; only the
    sleeps are shortened by the clock's speed.
    """

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds / clock.speed)

    return PollPolicy(clock=clock.time, sleep=sleep, **overrides)


def _hms(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m{seconds % 60:02d}s"


async def run_demo(
    *,
    speed: float = 630.0,
    duration: float = 3.5 * 3600,
    out: Callable[[str], None] = print,
) -> int:
    """Train a face on the embedded emulator and narrate it. Returns an exit code (0)."""
    clock = LoopClock(speed=speed)
    emulator = Emulator(
        api_key=DEMO_KEY,
        clock=clock,
        scenario=Scenario(duration=duration, curve="realistic"),
        rules=[Rule(url_contains="screen-recording", scenario=Scenario.failure("video_codec"))],
    )
    started = time.perf_counter()
    async with (
        emulator,
        TavusClient(api_key=DEMO_KEY, base_url=emulator.url, poll=scaled_policy(clock)) as client,
    ):
        out(f"Embedded Tavus emulator at {emulator.url} (time x{speed:g})")
        job = await client.faces.create(train_video_url=SAMPLE_VIDEO, face_name="Rio")
        out(f"created face {job.face_id} ({job.status})")
        face = await client.faces.get(job.face_id)
        out(f"get: {face.face_name!r} status={face.status} progress={face.training_progress}")
        names = [f.face_name async for f in client.faces.list(face_type="user")]
        out(f"list: your faces: {names}")
        out("waiting for training (a realistic ~3.5 h curve, accelerated)...")
        face = await job.wait(
            on_update=lambda f: out(
                f"  [{_hms(clock.time())} emulated] {f.status} {f.training_progress}"
            )
        )
        polls = len(emulator.calls("GET", f"/v2/faces/{job.face_id}"))
        out(
            f"completed: {face.face_id} after {_hms(clock.time())} emulated, "
            f"{time.perf_counter() - started:.1f}s real, {polls} polls"
        )
    return 0
