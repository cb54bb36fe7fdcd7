"""Request economy of waiting: requests per job and detection latency, in virtual time.

Each policy waits for the same set of trainings (same seed, same curves) on the emulator, on
virtual loop time, so hours pass in milliseconds and every policy sees identical trainings:

* ``default``: tavus_async's default :class:`PollPolicy`;
* ``finish 10 s``: the default with denser polling around the estimated finish
  (``finish_interval=10``, the knob that trades requests for latency);
* ``fixed 30 s`` and ``fixed 120 s``: a plain poller, the baseline;
* ``callback``: a job whose callback reaches this client's receiver (polling as safety net).

Detection latency is the time from the moment the face completed (or failed) on the emulator
to the moment ``await job`` returned. Each job trains for 3.5 h give or take 3 minutes (drawn
from the seed), so a fixed poller's grid does not line up with the finish by construction.

The targets (<= 100 requests, <= 15 s mean latency) are for the three curves with plateaus and
uneven steps (``TARGET_SHAPES``; the "target curves" rows). ``jump_finish`` completes from
90/100 without ever showing 99/100: it shows what the cadence's last-step rule costs when a
training skips that step. ``early_failure`` fails 50 s in.

Run alone: ``python benchmarks/request_economy.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _virtual import mean, percentile, run_virtual, table

from tavus_async import PollPolicy, TavusClient, TrainingError
from tavus_async.emulator import Emulator, Rule, Scenario

KEY = "bench-key"
DURATION = 3.5 * 3600

#: Curve shapes: name -> scenario. "realistic" draws a different curve for every face.
SHAPES: dict[str, Scenario] = {
    "realistic": Scenario(duration=DURATION, curve="realistic"),
    "plateaus": Scenario(duration=DURATION, curve="plateaus"),
    "slow_finish": Scenario(duration=DURATION, curve="slow_finish"),
    "jump_finish": Scenario(duration=DURATION, curve=tuple((i / 100, i) for i in range(0, 91, 5))),
    "early_failure": Scenario.failure("download_link", at=0.004, duration=DURATION),
}
#: The curves the targets are measured on.
TARGET_SHAPES = ("realistic", "plateaus", "slow_finish")
TARGET_ROW = "target curves"


def fixed(interval: float) -> PollPolicy:
    """A plain fixed-interval poller (no ramp, no estimate, no jitter)."""
    return PollPolicy(
        initial_interval=interval,
        min_interval=interval,
        max_interval=interval,
        backoff_factor=1.0,
        jitter=0.0,
    )


CALLBACK = "callback"

POLICIES: dict[str, Callable[[], PollPolicy]] = {
    "default": PollPolicy,
    CALLBACK: PollPolicy,  # the default policy, with a callback to this client's receiver
    "finish 10 s": lambda: PollPolicy(finish_interval=10.0),
    "fixed 30 s": lambda: fixed(30.0),
    "fixed 120 s": lambda: fixed(120.0),
}


@attrs.frozen
class Result:
    """Per-job outcome."""

    shape: str
    policy: str
    requests: int
    latency: float


async def _measure(
    policy_name: str, make_policy: Callable[[], PollPolicy], jobs_per_shape: int, seed: int
) -> list[Result]:
    # The client's jitter draws from the global generator: seed it too, for a replayable run.
    random.seed(seed)
    draw = random.Random(seed)
    rules = [
        Rule(
            name_contains=f"[{name}] {i};",
            scenario=attrs.evolve(scenario, duration=draw.uniform(DURATION - 180, DURATION + 180)),
        )
        for name, scenario in SHAPES.items()
        for i in range(jobs_per_shape)
    ]
    results: list[Result] = []
    async with (
        # Per-route counters, not a request log: the log would cost memory and scans.
        Emulator(api_key=KEY, seed=seed, rules=rules, record_requests=False) as emu,
        TavusClient(
            api_key=KEY, base_url=emu.url, poll=make_policy(), max_polls_per_second=None
        ) as client,
    ):
        entries: list[tuple[str, Any]] = []
        receiver = client.callbacks.serve(host="127.0.0.1", port=0)
        callback_url = await receiver.__aenter__() if policy_name == CALLBACK else None
        for shape in SHAPES:
            for i in range(jobs_per_shape):
                job = await client.faces.create(
                    train_video_url="https://cdn.test/v.mp4",
                    face_name=f"[{shape}] {i};",
                    callback_url=callback_url,
                )
                entries.append((shape, job))

        async def wait(shape: str, job: Any) -> None:
            with contextlib.suppress(TrainingError):  # failures are timed like successes
                await job
            returned = emu.now()
            finished = emu.finish_time(job.face_id)
            assert finished is not None
            # The create counts too: "requests per job" is everything the job cost.
            requests = 1 + emu.counters[f"GET /v2/faces/{job.face_id}"]
            results.append(Result(shape, policy_name, requests, returned - finished))

        try:
            await asyncio.gather(*(wait(shape, job) for shape, job in entries))
        finally:
            if callback_url is not None:
                await receiver.__aexit__(None, None, None)
    return results


def measure(*, quick: bool = False, seed: int = 1) -> list[Result]:
    """Run every policy over every shape; same seed, so the same trainings."""
    return measure_sizes(jobs_per_shape=5 if quick else 100, seed=seed)


def measure_sizes(*, jobs_per_shape: int, seed: int = 1) -> list[Result]:
    """Run every policy over ``jobs_per_shape`` trainings of every shape."""
    jobs = jobs_per_shape
    results: list[Result] = []
    for name, make in POLICIES.items():
        results += run_virtual(lambda name=name, make=make: _measure(name, make, jobs, seed))
    return results


def summarise(results: Sequence[Result]) -> list[list[Any]]:
    """Rows: policy, shape, requests/job, mean and p95 latency."""
    rows: list[list[Any]] = []
    for policy in dict.fromkeys(r.policy for r in results):
        for shape in [*SHAPES, TARGET_ROW]:
            chosen = [
                r
                for r in results
                if r.policy == policy
                and (r.shape == shape or (shape == TARGET_ROW and r.shape in TARGET_SHAPES))
            ]
            rows.append(
                [
                    policy,
                    shape,
                    f"{mean([r.requests for r in chosen]):.1f}",
                    f"{mean([r.latency for r in chosen]):.1f}",
                    f"{percentile([r.latency for r in chosen], 0.95):.1f}",
                ]
            )
    return rows


HEADERS = ["policy", "curve", "requests/job", "mean latency s", "p95 latency s"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer jobs per curve")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    print(table(HEADERS, summarise(measure(quick=args.quick, seed=args.seed))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
