"""Per-call cost: ``client.faces.get(id)`` against raw aiohttp and the official Tavus client.

All three read the same face from the same loopback server, which runs in its own process so
that the client-side CPU time is the client's alone:

* raw ``aiohttp.ClientSession.get()`` + ``.json()`` (the floor);
* ``tavus_async``'s ``client.faces.get(id)``, which also validates, maps errors and
  structures a typed ``Face``;
* the official client of the ``tavus-cli`` package (``tavus_mcp.sdk.client.http.TavusClient``,
  its ``faces.get``), when installed (``pip install -e ".[bench]"``).

Many short rounds measure every client back to back; a client's ratio is the median of its
per-round ratios to raw aiohttp, which cancels the drift of a busy machine. Target: at most
1.10x raw aiohttp, and below the official client.

Creates are measured apart (no target: the price of a choice, stated). ``faces.create`` goes
out on a connection of its own, never on a kept-alive one the server may have closed (see
``tavus_async/_sessions.py``), so it is set beside a raw aiohttp POST on a kept-alive
connection and one on a new connection each time: what the safety costs on loopback.

Run alone: ``python benchmarks/per_call.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import attrs
from aiohttp import web

from tavus_async import TavusClient

KEY = "bench-key"
FACE_ID = "r90bbd427f71"
TARGET = 1.10
BODY = json.dumps(
    {
        "face_id": FACE_ID,
        "face_name": "My Face",
        "thumbnail_video_url": "https://cdn.test/thumb.mp4",
        "training_progress": "45/100",
        "status": "started",
        "created_at": "2024-01-24T07:14:03.327Z",
        "updated_at": "2024-01-24T07:14:03.327Z",
        "error_message": None,
        "model_name": "phoenix-4",
        "default_voice_id": None,
        "original_voice_id": None,
        "finetune_status": None,
    }
).encode()


CREATED = json.dumps({"face_id": FACE_ID, "status": "started"}).encode()
VIDEO = "https://cdn.test/train.mp4"
#: Creates per round, as a share of reads: each one on a new connection leaves a socket in
#: TIME_WAIT for a minute, and the loopback's ephemeral ports are a few tens of thousands.
CREATE_SHARE = 0.2


async def _serve() -> None:  # pragma: no cover - runs in the server process
    async def get_face(_request: web.Request) -> web.Response:
        return web.Response(body=BODY, content_type="application/json")

    async def create_face(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(body=CREATED, content_type="application/json")

    app = web.Application()
    app.router.add_get("/v2/faces/{id}", get_face)
    app.router.add_post("/v2/faces", create_face)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # started, so bound
    print(port, flush=True)
    await asyncio.Event().wait()


@attrs.frozen
class Client:
    """One measured client: microseconds per call (wall and client CPU), and its ratios to
    raw aiohttp as the median of per-round ratios (rounds are paired back to back)."""

    name: str
    wall_us: float
    cpu_us: float
    wall_ratio: float
    cpu_ratio: float


@attrs.frozen
class PerCallResult:
    """The clients measured, raw aiohttp first."""

    calls: int
    clients: tuple[Client, ...]
    official_error: str | None = None
    creates: tuple[Client, ...] = ()
    """``faces.create`` and raw POSTs, ratios to the raw POST on a kept-alive connection."""

    def by_name(self, name: str) -> Client | None:
        """The client called ``name``, if it was measured (reads, then creates)."""
        return next((c for c in self.clients + self.creates if c.name == name), None)


async def _official(
    base: str,
) -> tuple[Callable[[], Awaitable[Any]], Callable[[], Awaitable[None]]]:
    # Optional (the "bench" extra): imported only when it is there to be measured.
    from tavus_mcp.sdk.auth.session import TavusSession  # noqa: PLC0415
    from tavus_mcp.sdk.client.http import TavusClient as OfficialClient  # noqa: PLC0415 - above
    from tavus_mcp.sdk.env import TavusConfig  # noqa: PLC0415 - above

    config = TavusConfig(
        public_api_base_url=f"{base}/v2",
        portal_api_base_url=f"{base}/portal",
        dev_portal_url=base,
        pal_maker_url=base,
    )
    client = OfficialClient(config, TavusSession(api_key=KEY, source="benchmark"))
    await client.__aenter__()

    async def call() -> Any:
        return await client.faces.get(FACE_ID)

    async def close() -> None:
        await client.aclose()

    return call, close


Contenders = dict[str, Callable[[], Awaitable[Any]]]


async def _rounds(contenders: Contenders, calls: int, rounds: int) -> tuple[Client, ...]:
    """Warm up, then ``rounds`` rounds of ``calls`` calls of each contender back to back;
    ratios to the first contender."""
    for run in contenders.values():  # warm up connections and caches
        for _ in range(50):
            await run()
    samples: dict[str, tuple[list[float], list[float]]] = {n: ([], []) for n in contenders}
    for _ in range(rounds):
        for name, run in contenders.items():
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(calls):
                await run()
            walls, cpus = samples[name]
            walls.append((time.perf_counter() - wall) / calls * 1e6)
            cpus.append((time.process_time() - cpu) / calls * 1e6)
    floor_walls, floor_cpus = next(iter(samples.values()))
    return tuple(
        Client(
            name,
            statistics.median(walls),
            statistics.median(cpus),
            statistics.median(w / r for w, r in zip(walls, floor_walls, strict=True)),
            statistics.median(c / r for c, r in zip(cpus, floor_cpus, strict=True)),
        )
        for name, (walls, cpus) in samples.items()
    )


async def _measure(base: str, calls: int, rounds: int) -> PerCallResult:
    session = aiohttp.ClientSession()
    unpooled = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
    ours = TavusClient(api_key=KEY, base_url=base)
    url = f"{base}/v2/faces/{FACE_ID}"
    headers = {"x-api-key": KEY}
    body = {"train_video_url": VIDEO}

    async def raw() -> Any:
        async with session.get(url, headers=headers) as response:
            return await response.json()

    async def typed() -> Any:
        return await ours.faces.get(FACE_ID)

    async def raw_post() -> Any:
        async with session.post(f"{base}/v2/faces", json=body, headers=headers) as response:
            return await response.json()

    async def raw_post_new() -> Any:
        async with unpooled.post(f"{base}/v2/faces", json=body, headers=headers) as response:
            return await response.json()

    async def create() -> Any:
        return await ours.faces.create(train_video_url=VIDEO)

    contenders: Contenders = {"raw aiohttp": raw, "tavus_async": typed}
    closers: list[Callable[[], Awaitable[None]]] = []
    official_error = None
    try:
        call, close = await _official(base)
        contenders["official tavus-cli"] = call
        closers.append(close)
    except ImportError as exc:
        official_error = f"not installed ({exc.name}); pip install -e '.[bench]'"
    try:
        clients = await _rounds(contenders, calls, rounds)
        creators: Contenders = {
            "raw aiohttp POST": raw_post,
            "raw aiohttp POST, new connection": raw_post_new,
            "tavus_async create": create,
        }
        creates = await _rounds(creators, max(1, round(calls * CREATE_SHARE)), rounds)
    finally:
        for close in closers:
            await close()
        await ours.close()
        await session.close()
        await unpooled.close()
    return PerCallResult(calls, clients, official_error, creates)


def measure(calls: int = 500, rounds: int = 25) -> PerCallResult:
    """Start the server process, measure every client, stop the server."""
    server = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        return asyncio.run(_measure(f"http://127.0.0.1:{port}", calls, rounds))
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:  # pragma: no cover - the server process
        asyncio.run(_serve())
        return 0
    result = measure(calls=300 if args.quick else 500, rounds=5 if args.quick else 25)
    for client in result.clients + result.creates:
        wall, cpu = client.wall_ratio, client.cpu_ratio
        print(
            f"{client.name:32s} {client.wall_us:7.1f} µs/call ({wall:.2f}x)"
            f"  client CPU {client.cpu_us:7.1f} µs/call ({cpu:.2f}x)"
        )
    if result.official_error:
        print(f"official tavus-cli: {result.official_error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
