"""The demo: the whole face flow on the embedded emulator, with no key and no setup."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

from ._client import TavusClient
from ._errors import TrainingFailedError
from ._policies import scaled_policy
from ._progress import choose_display, clock_text, live
from .emulator import Emulator, LoopClock, Rule, Scenario

__all__ = ["DEMO_KEY", "run_demo"]

DEMO_KEY = "demo-key-not-secret"
SAMPLE_VIDEO = "https://cdn.example.com/samples/rio-train.mp4"
BROKEN_VIDEO = "https://cdn.example.com/samples/screen-recording.mov"


async def run_demo(
    *,
    speed: float = 630.0,
    duration: float = 3.5 * 3600,
    out: Callable[[str], None] = print,
    stream: TextIO | None = None,
    env: dict[str, str] | None = None,
) -> int:
    """Train faces on an embedded emulator and narrate it. Returns the exit code (0)."""
    started = time.perf_counter()
    emulator = Emulator(
        api_key=DEMO_KEY,
        clock=LoopClock(speed=speed),
        scenario=Scenario(duration=duration, curve="realistic"),
        rules=[
            Rule(
                url_contains="screen-recording",
                scenario=Scenario.failure("video_codec", at=0.01, duration=duration),
            )
        ],
    )
    async with (
        emulator,
        TavusClient(api_key=DEMO_KEY, base_url=emulator.url, poll=scaled_policy(speed)) as client,
    ):
        out(f"tavus-async demo: an embedded Tavus emulator at {emulator.url} (time x{speed:g})")
        out("")
        out("1. A training that fails: a screen recording instead of a camera video.")
        broken = await client.faces.create(train_video_url=BROKEN_VIDEO, face_name="Screen rec")
        try:
            await broken
        except TrainingFailedError as err:
            out(f"   {broken.face_id} failed: {err.error_message}")
        out("")
        out("2. A real training: about 3.5 hours of progress with plateaus.")
        job = await client.faces.create(train_video_url=SAMPLE_VIDEO, face_name="Rio")
        out(f"   created {job.face_id}; waiting...")
        display = choose_display(stream or sys.stdout, env or {})
        async with live(display, job, every=0.1):
            face = await job.wait(on_update=lambda f: display.changed(job, f))
        polls = len(emulator.calls("GET", f"/v2/faces/{job.face_id}"))
        took = clock_text(job.age)
        out(f"   {face.face_id} {face.status} after {took} of training, {polls} polls")
        out("")
        out("3. A conversation with the trained face.")
        conversation = await client.conversations.create(face=face, conversation_name="Hello")
        out(f"   join at: {conversation.conversation_url}")
        await client.conversations.end(conversation.conversation_id)
        out(f"   ended {conversation.conversation_id}")
        out("")
        out(
            f"Done in {time.perf_counter() - started:.1f}s: {client.requests_sent} requests "
            "for a failed training, a 3.5 h training and a conversation."
        )
        out("Against the real API:")
        out("  export TAVUS_API_KEY=...")
        out("  tavus-async faces create --video-url https://…/train.mp4 --name Rio --wait")
    return 0
