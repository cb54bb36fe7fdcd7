"""The cadence against a Tavus server written apart from the emulator, on its clocks.

Every other benchmark runs against ``tavus_async.emulator``, which keeps its clocks the way
the cadence expects: ``created_at`` and ``Date`` on one emulated wall clock. A test server
someone else writes may not. This one is a few lines of aiohttp that the package never
saw: progress from the event loop's clock (virtual time), and one of

* **loop clock**: ``created_at`` and ``Date`` both stamped from the loop's clock (a
  server that keeps time with its trainings);
* **real clock**: ``created_at`` stamped from the machine's real clock and ``Date`` left
  to aiohttp (also the real clock): on virtual time neither moves while hours pass, so a
  face picked up hours in looks just created;
* **no Date**: ``created_at`` from the real clock, no ``Date`` at all.

Each training is waited for four ways: by the client that created it, by another client
that picks it up from its id at 0-90 % of the training, and by a stateless worker (a new
client for every ``poll_once``) that starts from the create's state or from the id alone
mid-way. Beside it, a fixed 120 s poller on the same trainings (created here, or picked up
at the same moments). Every row runs on a loop of its own, as a process would.

The property: on every clock, each way of waiting is no worse than that fixed poller on
both axes (requests and mean latency), up to the noise of the rows' trainings, and the
stateless worker matches the client it stands in for.

Run: ``python benchmarks/foreign_server.py [--trainings 40] [--shapes silent,stall]``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import email.utils
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _virtual import mean, run_virtual, table

from tavus_async import APIError, PollPolicy, TavusClient

HOUR = 3600.0
KEY = "benchmark-key-0123456789"
VIDEO = "https://example.com/train.mp4"
CLOCKS = ("loop clock", "real clock", "no Date")
WAYS = ("created here", "picked up mid-way", "stateless", "stateless, picked up mid-way")
#: Progress as a function of the fraction of the training done.
SHAPES: dict[str, Callable[[float], int]] = {
    "silent": lambda _done: 0,
    "stall": lambda done: min(99, int(100 * done / 0.6)),  # 99/100 from 60 %
    "linear": lambda done: int(100 * done),
}
HEADERS = ("shape", "clock", "way", "default req", "mean s", "fixed 120 s", "verdict")


def duration(i: int) -> float:
    """The ``i``-th training's length: spread evenly over 2.8-4.2 h."""
    return (2.8 + 1.4 * ((0.3 + i * 0.618034) % 1.0)) * HOUR


def pickup(i: int) -> float:
    """When the ``i``-th training is picked up mid-way (a fraction of it, 0-90 %)."""
    return 0.9 * ((0.37 + i * 0.7320508) % 1.0)


class Server:
    """The foreign server: faces that train for :func:`duration`, on one of :data:`CLOCKS`."""

    def __init__(self, shape: Callable[[float], int], clock: str) -> None:
        self.shape, self.clock = shape, clock
        self.faces: dict[str, tuple[float, float, dt.datetime]] = {}
        self.gets: dict[str, int] = {}
        self.epoch = dt.datetime.now(dt.timezone.utc)
        self.url = ""
        self._runner: web.AppRunner | None = None

    def _stamp(self, at: float) -> dt.datetime:
        if self.clock == "loop clock":
            return self.epoch + dt.timedelta(seconds=at)
        return dt.datetime.now(dt.timezone.utc)

    async def _create(self, request: web.Request) -> web.Response:
        face_id = f"f{len(self.faces):07x}"
        now = asyncio.get_running_loop().time()
        self.faces[face_id] = (now, duration(len(self.faces)), self._stamp(now))
        self.gets[face_id] = 0
        return web.json_response({"face_id": face_id, "status": "started"})

    async def _get(self, request: web.Request) -> web.Response:
        face_id = request.match_info["face_id"]
        created, length, stamp = self.faces[face_id]
        self.gets[face_id] += 1
        now = asyncio.get_running_loop().time()
        done = (now - created) / length
        body = {
            "face_id": face_id,
            "status": "completed" if done >= 1.0 else "started",
            "training_progress": "100/100" if done >= 1.0 else f"{self.shape(done)}/100",
            "created_at": stamp.isoformat().replace("+00:00", "Z"),
        }
        response = web.json_response(body)
        if self.clock == "loop clock":
            response.headers["Date"] = email.utils.format_datetime(
                self.epoch + dt.timedelta(seconds=now), usegmt=True
            )
        elif self.clock == "no Date":
            response.headers["Date"] = ""  # aiohttp sends its own unless one is set
        return response

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v2/faces", self._create)
        app.router.add_get("/v2/faces/{face_id}", self._get)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def finished(self, face_id: str) -> float:
        created, length, _ = self.faces[face_id]
        return created + length


async def _stateless(server: Server, face_id: str, state: str | None, policy: PollPolicy) -> None:
    """A worker that opens a new client for every poll and passes only the state along."""
    while True:
        try:
            async with TavusClient(api_key=KEY, base_url=server.url, poll=policy) as client:
                result = await client.faces.job(face_id, state=state).poll_once()
        except APIError:  # transient: poll again later with the same state
            await asyncio.sleep(10.0)
            continue
        if result.done:
            return
        state = result.state
        await asyncio.sleep(result.next_delay)


async def _one(server: Server, way: str, policy: PollPolicy, i: int) -> tuple[int, float]:
    """Requests (after the pickup) and detection latency of the ``i``-th training."""
    loop = asyncio.get_running_loop()
    async with TavusClient(api_key=KEY, base_url=server.url, poll=policy) as client:
        job = await client.faces.create(train_video_url=VIDEO, face_name=f"t{i}")
        face_id, state = job.face_id, job.state
        if way == "created here":
            await job
            return server.gets[face_id], loop.time() - server.finished(face_id)
    mid_way = way.endswith("mid-way")
    length = server.faces[face_id][1]
    await asyncio.sleep(pickup(i) * length if mid_way else policy.initial_interval)
    server.gets[face_id] = 0
    if way.startswith("stateless"):
        await _stateless(server, face_id, None if mid_way else state, policy)
    else:
        async with TavusClient(api_key=KEY, base_url=server.url, poll=policy) as other:
            await other.faces.job(face_id)
    return server.gets[face_id], loop.time() - server.finished(face_id)


def measure(shape: str, clock: str, way: str, policy: PollPolicy, n: int) -> tuple[float, float]:
    """Mean requests and latency of ``n`` trainings, on a loop of their own."""

    async def main() -> tuple[float, float]:
        server = Server(SHAPES[shape], clock)
        await server.start()
        try:
            results = await asyncio.gather(*(_one(server, way, policy, i) for i in range(n)))
        finally:
            await server.close()
        return mean([r for r, _ in results]), mean([lat for _, lat in results])

    return run_virtual(main)


def rows(shapes: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """One row per shape, clock and way of waiting (see the module docstring)."""
    out: list[tuple[str, ...]] = []
    for shape in shapes:
        for clock in CLOCKS:
            fixed = {
                way: measure(shape, clock, way, PollPolicy.fixed(120.0), n)
                for way in ("created here", "picked up mid-way")
            }
            for way in WAYS:
                requests, latency = measure(shape, clock, way, PollPolicy(), n)
                base_req, base_lat = fixed[
                    "picked up mid-way" if "mid-way" in way else "created here"
                ]
                both = requests <= base_req and latency <= base_lat
                out.append(
                    (
                        shape,
                        clock,
                        way,
                        f"{requests:.1f}",
                        f"{latency:.1f}",
                        f"{base_req:.0f} / {base_lat:.0f} s",
                        "better on both" if both else "WORSE on one",
                    )
                )
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainings", type=int, default=40, help="trainings per row")
    parser.add_argument("--shapes", default="silent,stall", help=f"of {', '.join(SHAPES)}")
    args = parser.parse_args(argv)
    shapes = [s for s in args.shapes.split(",") if s]
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        parser.error(f"unknown shapes: {', '.join(unknown)}")
    measured = rows(shapes, args.trainings)
    print(table(HEADERS, measured))
    held = sum(row[-1] == "better on both" for row in measured)
    print(f"\n{held} of {len(measured)} rows no worse than a fixed 120 s poller on both axes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
