"""Fault soak: many concurrent jobs through simulated 4 h trainings with 20 % of polls faulted.

Every job must end with its right outcome (completed, or failed with its training error), no
exception may escape other than the documented ones, no request may be sent while a
``Retry-After`` is in force, and the client's poll budget must hold in every one-second window.
The suite runs this at 100 jobs (``tests/test_reliability.py``); run it in full here:

    python benchmarks/fault_soak.py [--jobs 1000] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _virtual import busiest_second, get_tracer, run_virtual

from tavus_async import TavusClient, TrainingFailedError
from tavus_async.emulator import ERROR_MESSAGES, Emulator, Fault, Rule, Scenario

KEY = "soak-key"
HOURS_4 = 4 * 3600.0
BUDGET = 5.0  # polls per second, client-wide
RATE_LIMIT_RETRY_AFTER = 20.0
UNAVAILABLE_RETRY_AFTER = 5.0
POLLS = "GET /v2/faces/*"

#: 20 % of polls faulted, across every kind the issue lists. Faults are tried in turn, so
#: the share is 1 - prod(1 - rate), not the sum: these rates give 0.200.
FAULTS = [
    Fault(kind="server_error", rate=0.072, route=POLLS, statuses=(500, 502, 503),
          retry_after=UNAVAILABLE_RETRY_AFTER),
    Fault(kind="rate_limit", rate=0.034, route=POLLS, retry_after=RATE_LIMIT_RETRY_AFTER),
    Fault(kind="reset", rate=0.034, route=POLLS),
    Fault(kind="slow", rate=0.02, route=POLLS, delay=90.0),  # beyond the 60 s timeout
    Fault(kind="truncated", rate=0.034, route=POLLS),
    Fault(kind="not_json", rate=0.024, route=POLLS),
]  # fmt: skip
FAILURES = ("video_codec", "face_or_obstruction_detected", "video_fps", "download_link")


@attrs.define
class SoakReport:
    """What the soak saw; :meth:`problems` lists every broken promise."""

    jobs: int
    completed: int = 0
    failed_as_expected: int = 0
    wrong_outcomes: list[str] = attrs.Factory(list)
    unexpected_exceptions: list[str] = attrs.Factory(list)
    polls: int = 0
    faults: dict[str, int] = attrs.Factory(dict)
    retry_after_violations: list[str] = attrs.Factory(list)
    max_polls_in_a_second: int = 0
    """Polls the SDK sent, client-side (aiohttp trace): the budget applies to these."""
    max_arrivals_in_a_second: int = 0
    """GETs the server saw: also counts aiohttp's own one-time re-send after a reset."""
    borrowed_session_open: bool = True
    other_methods: list[str] = attrs.Factory(list)
    pending_tasks: int = 0
    virtual_hours: float = 0.0
    wall_seconds: float = 0.0

    @property
    def fault_share(self) -> float:
        """Share of polls that were faulted."""
        return sum(self.faults.values()) / self.polls if self.polls else 0.0

    def problems(self) -> list[str]:
        """Every broken promise, as text (empty when the soak passed)."""
        found = [*self.wrong_outcomes, *self.unexpected_exceptions, *self.retry_after_violations]
        if self.completed + self.failed_as_expected != self.jobs:
            found.append(f"{self.jobs - self.completed - self.failed_as_expected} jobs unfinished")
        if self.max_polls_in_a_second > BUDGET:
            found.append(f"budget exceeded: {self.max_polls_in_a_second} polls in one second")
        if self.other_methods:
            found.append(f"unexpected requests: {sorted(set(self.other_methods))}")
        if self.pending_tasks:
            found.append(f"{self.pending_tasks} tasks left after close")
        if not self.borrowed_session_open:
            found.append("the borrowed session was closed by the client")
        return found


def _expected_failure(index: int) -> str | None:
    return FAILURES[index % len(FAILURES)] if index % 5 == 0 else None


async def soak(jobs: int, *, seed: int = 1) -> SoakReport:
    """Run the soak on the current loop (which should have virtual time)."""
    wall = time.perf_counter()
    report = SoakReport(jobs=jobs)
    rules = [
        Rule(
            name_contains=f"[fail:{kind}]",
            scenario=Scenario.failure(kind, at=0.1 + 0.2 * i, duration=HOURS_4),
        )
        for i, kind in enumerate(FAILURES)
    ]
    emulator = Emulator(
        api_key=KEY,
        seed=seed,
        scenario=Scenario(duration=HOURS_4),
        rules=rules,
        faults=[attrs.evolve(f) for f in FAULTS],
    )
    loop = asyncio.get_running_loop()
    start = loop.time()
    trace, sent = get_tracer()
    async with emulator, aiohttp.ClientSession(trace_configs=[trace]) as session:
        client = TavusClient(
            api_key=KEY, base_url=emulator.url, session=session, max_polls_per_second=BUDGET
        )
        created = []
        for i in range(jobs):
            failure = _expected_failure(i)
            name = f"job {i}" + (f" [fail:{failure}]" if failure else "")
            created.append(
                (failure, await client.faces.create(train_video_url="https://x.test/v.mp4",
                                                    face_name=name))
            )  # fmt: skip
        outcomes = await asyncio.gather(*(job.wait() for _, job in created), return_exceptions=True)
        for (failure, job), outcome in zip(created, outcomes, strict=True):
            _judge(report, job.face_id, failure, outcome)
        await client.close()
        report.borrowed_session_open = not session.closed
        await asyncio.sleep(0)
        current = asyncio.current_task()
        report.pending_tasks = sum(
            1
            for t in asyncio.all_tasks()
            if t is not current
            and not t.done()
            and getattr(t.get_coro(), "__qualname__", "") != "RequestHandler.start"
        )
        _audit(report, emulator)
        report.max_polls_in_a_second = busiest_second(sorted(sent))
    report.virtual_hours = (asyncio.get_running_loop().time() - start) / 3600
    report.wall_seconds = time.perf_counter() - wall
    return report


def _judge(report: SoakReport, face_id: str, failure: str | None, outcome: Any) -> None:
    if isinstance(outcome, TrainingFailedError):
        if failure is not None and outcome.error_message == ERROR_MESSAGES[failure]:
            report.failed_as_expected += 1
        else:
            report.wrong_outcomes.append(f"{face_id}: failed unexpectedly: {outcome}")
    elif isinstance(outcome, BaseException):
        report.unexpected_exceptions.append(f"{face_id}: {type(outcome).__name__}: {outcome}")
    elif failure is not None:
        report.wrong_outcomes.append(f"{face_id}: completed, expected {failure}")
    elif outcome.status.is_success:
        report.completed += 1
    else:
        report.wrong_outcomes.append(f"{face_id}: returned status {outcome.status}")


def _audit(report: SoakReport, emulator: Emulator) -> None:
    polls = [r for r in emulator.requests if r.method == "GET"]
    report.polls = len(polls)
    report.faults = dict(Counter(r.fault for r in polls if r.fault))
    report.other_methods = [r.method for r in emulator.requests if r.method not in ("GET", "POST")]
    times = sorted(r.loop_time for r in polls)
    report.max_arrivals_in_a_second = busiest_second(times)
    # Every answer that carried a Retry-After: nothing may arrive until it has passed.
    for answer in polls:
        if answer.status == 429:
            pause = RATE_LIMIT_RETRY_AFTER
        elif answer.status == 503 and answer.fault == "server_error":
            pause = UNAVAILABLE_RETRY_AFTER
        else:
            continue
        low = bisect.bisect_right(times, answer.loop_time + 1e-6)
        high = bisect.bisect_left(times, answer.loop_time + pause - 1e-3)
        if high > low:
            report.retry_after_violations.append(
                f"{high - low} request(s) within {pause:g}s of a Retry-After at "
                f"t={answer.loop_time:.3f}"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    report = run_virtual(lambda: soak(args.jobs, seed=args.seed))
    print(
        f"jobs {report.jobs}: {report.completed} completed, {report.failed_as_expected} failed "
        f"as expected; {report.polls} polls, {report.fault_share:.1%} faulted {report.faults}; "
        f"max {report.max_polls_in_a_second} polls sent in a second (budget {BUDGET:g}; "
        f"{report.max_arrivals_in_a_second} arrivals with aiohttp's re-sends); "
        f"{report.virtual_hours:.2f} virtual hours in {report.wall_seconds:.1f}s"
    )
    problems = report.problems()
    for problem in problems[:20]:
        print("PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
