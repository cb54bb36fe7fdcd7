"""Scale: 10,000 concurrent TrainingJobs on one event loop, against the emulator, in virtual time.

Measured over a window of polling (every job resumed by id, so each polls at once and then
follows the cadence, all through the client's poll budget):

* **memory**: peak RSS growth per waiting job, over a baseline taken after the emulator's
  10,000 faces exist and the client is warm (target <= 10 KB per job);
* **CPU**: process CPU seconds per 1,000 polls, against as many hand-written aiohttp pollers
  (sleep, GET, decode) at the same total rate over the same virtual window, in the same run
  (the in-process emulator's work and virtual time's cost per timer are in both);
* **rate**: the most polls sent in any one second, against the client's budget (never above);
* **event-loop lag**: the longest single callback (task step), p99 and max, timed over a
  further two minutes of the same load.

Run alone: ``python benchmarks/scale.py [--quick] [--jobs N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _virtual import busiest_second, get_tracer, percentile, run_virtual

from tavus_async import ClientClosedError, TavusClient
from tavus_async.emulator import Emulator, Scenario

KEY = "scale-key"
BUDGET = 10.0
LAG_WINDOW = 120.0
TARGET_BYTES_PER_JOB = 10 * 1024


def rss_bytes() -> int:
    """Current resident set size (Linux /proc; peak RSS elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # pragma: no cover - not Linux
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@attrs.frozen
class ScaleReport:
    """What one run measured."""

    jobs: int
    window: float
    polls: int
    bytes_per_job: float
    cpu_per_1000_polls: float
    cpu_per_1000_raw: float
    max_polls_in_a_second: int
    budget: float
    lag_p99_ms: float
    lag_max_ms: float
    gc_max_ms: float
    """Longest garbage collection in the lag window (a callback that triggers one waits)."""
    wall_seconds: float

    @property
    def cpu_ratio(self) -> float:
        """CPU per poll over CPU per raw GET."""
        return self.cpu_per_1000_polls / self.cpu_per_1000_raw


class _CallbackTimer:
    """Times every callback the loop runs (task steps included), while installed."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self._original: Any = None

    def __enter__(self) -> _CallbackTimer:
        handle = asyncio.events.Handle
        original = handle._run
        durations = self.durations
        clock = time.perf_counter

        def timed(self: Any) -> None:
            start = clock()
            original(self)
            durations.append(clock() - start)

        self._original = original
        handle._run = timed  # type: ignore[method-assign]  # timing every callback
        return self

    def __exit__(self, *exc: object) -> None:
        asyncio.events.Handle._run = self._original  # type: ignore[method-assign]  # put back


async def scale(jobs: int, *, window: float = 1800.0, budget: float = BUDGET) -> ScaleReport:
    """Run on the current loop (which should have virtual time)."""
    wall = time.perf_counter()
    trace, sent = get_tracer()
    emulator = Emulator(api_key=KEY, record_requests=False, scenario=Scenario(duration=4 * 3600))
    async with emulator, aiohttp.ClientSession(trace_configs=[trace]) as session:
        ids = [emulator.add_face(name=f"face {i}") for i in range(jobs)]
        client = TavusClient(
            api_key=KEY, base_url=emulator.url, session=session, max_polls_per_second=budget
        )
        url = f"{emulator.url}/v2/faces/{ids[0]}"
        headers = {"x-api-key": KEY}
        for _ in range(50):  # warm up: connection, converter, caches
            await client.faces.get(ids[0])
        # The floor: as many hand-written pollers (sleep, GET, decode) at the same total
        # rate, over the same virtual window. Virtual time has a cost per timer, and the
        # floor pays it too.
        interval = jobs / budget

        async def raw_poller(offset: float) -> None:
            await asyncio.sleep(offset)
            while True:
                async with session.get(url, headers=headers) as response:
                    await response.json()
                await asyncio.sleep(interval)

        sent.clear()
        cpu = time.process_time()
        pollers = [asyncio.ensure_future(raw_poller(i / budget)) for i in range(jobs)]
        await asyncio.sleep(window)
        raw_cpu, raw_polls = time.process_time() - cpu, len(sent)
        for poller in pollers:
            poller.cancel()
        await asyncio.gather(*pollers, return_exceptions=True)
        cpu_per_1000_raw = raw_cpu / max(raw_polls, 1) * 1000

        gc.collect()
        baseline = peak = rss_bytes()
        cpu = time.process_time()
        sent.clear()
        waits = [asyncio.ensure_future(client.faces.job(i).wait()) for i in ids]

        async def sample() -> None:
            nonlocal peak
            while True:
                peak = max(peak, rss_bytes())
                await asyncio.sleep(5)

        sampler = asyncio.ensure_future(sample())
        await asyncio.sleep(window)
        sampler.cancel()
        cpu_used = time.process_time() - cpu
        polls = len(sent)
        # Lag is timed in a window of its own: the timer's own cost stays out of the CPU figure.
        gc_pauses: list[float] = []
        gc_started = 0.0

        def on_gc(phase: str, _info: dict[str, Any]) -> None:
            nonlocal gc_started
            if phase == "start":
                gc_started = time.perf_counter()
            else:
                gc_pauses.append(time.perf_counter() - gc_started)

        gc.callbacks.append(on_gc)
        try:
            with _CallbackTimer() as timer:
                await asyncio.sleep(LAG_WINDOW)
        finally:
            gc.callbacks.remove(on_gc)
        await asyncio.sleep(0)  # close() below runs in task steps of its own, untimed
        await client.close()
        outcomes = await asyncio.gather(*waits, return_exceptions=True)
        assert all(isinstance(o, ClientClosedError) for o in outcomes), "a wait ended early"
    sent.sort()
    busiest = busiest_second(sent)
    lags = sorted(timer.durations)
    return ScaleReport(
        jobs=jobs,
        window=window,
        polls=polls,
        bytes_per_job=(peak - baseline) / jobs,
        cpu_per_1000_polls=cpu_used / max(polls, 1) * 1000,
        cpu_per_1000_raw=cpu_per_1000_raw,
        max_polls_in_a_second=busiest,
        budget=budget,
        lag_p99_ms=percentile(lags, 0.99) * 1000,
        lag_max_ms=(lags[-1] if lags else 0.0) * 1000,
        gc_max_ms=max(gc_pauses, default=0.0) * 1000,
        wall_seconds=time.perf_counter() - wall,
    )


def measure(jobs: int = 10_000, window: float = 1800.0) -> ScaleReport:
    """One run on a fresh virtual-time loop."""
    return run_virtual(lambda: scale(jobs, window=window))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 jobs, 10 minutes")
    parser.add_argument("--jobs", type=int)
    args = parser.parse_args(argv)
    jobs = args.jobs or (1000 if args.quick else 10_000)
    report = measure(jobs, window=600.0 if args.quick else 1800.0)
    print(
        f"{report.jobs} jobs over {report.window / 60:.0f} virtual min: {report.polls} polls; "
        f"{report.bytes_per_job / 1024:.1f} KB per job (target <= 10); "
        f"{report.cpu_per_1000_polls:.3f} CPU s per 1000 polls vs {report.cpu_per_1000_raw:.3f} "
        f"for hand-written pollers ({report.cpu_ratio:.2f}x); max {report.max_polls_in_a_second} "
        f"polls in a second (budget {report.budget:g}); longest callback "
        f"{report.lag_max_ms:.1f} ms (p99 {report.lag_p99_ms:.2f} ms; longest garbage "
        f"collection {report.gc_max_ms:.1f} ms); "
        f"{report.wall_seconds:.1f}s wall"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
