"""Every benchmark, one table: ``python benchmarks/run.py [--quick]`` (the request economy
shape by shape goes to stderr).

Each row compares tavus_async with a baseline measured in the same run and states the target.
``--quick`` (smaller sizes) finishes in a few minutes (3.6 on 2 cores); the full run takes
about half an hour.
Each benchmark also runs alone (``python benchmarks/<name>.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import attrs

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fault_soak
import import_time
import parsing
import per_call
import request_economy
import scale
import temporal_economy
from _virtual import mean, run_virtual, table


@attrs.frozen
class Sizes:
    """How big each benchmark runs."""

    economy: request_economy.Sizes
    per_call_calls: int
    per_call_rounds: int
    scale_jobs: int
    scale_window: float
    import_runs: int
    parsing_objects: int
    parsing_rounds: int
    soak_jobs: int
    durable: str


FULL = Sizes(request_economy.FULL, 500, 25, 10_000, 1800.0, 21, 10_000, 7, 1000, "full")
QUICK = Sizes(request_economy.QUICK, 300, 5, 1000, 600.0, 7, 10_000, 3, 100, "quick")
# The suite's smoke test.
TINY = Sizes(request_economy.TINY, 20, 1, 20, 60.0, 1, 100, 1, 10, "tiny")


@attrs.frozen
class Row:
    """One line of the table."""

    benchmark: str
    measure: str
    ours: str
    baseline: str
    ratio: str
    target: str
    result: str

    def cells(self) -> list[str]:
        """The row as table cells."""
        return [self.benchmark, self.measure, self.ours, self.baseline, self.ratio,
                self.target, self.result]  # fmt: skip


def _verdict(met: bool, missed_by: str = "") -> str:
    return "met" if met else f"MISSED{' by ' + missed_by if missed_by else ''}"


def _floor_row(name: str, what: str, chosen: Sequence[request_economy.Row]) -> Row:
    """Rows reported without a target, held to the floor only."""
    named = ", ".join(
        f"{r.shape.name} {r.default[0]:.0f} req, {r.default[1]:.0f} s" for r in chosen
    )
    return Row(
        name,
        f"{what}: no worse than fixed at as many requests",
        named,
        "fixed 30/60/120 s, interpolated",
        "",
        "every row",
        _verdict(all(r.meets_floor for r in chosen)),
    )


def _economy(sizes: Sizes) -> list[Row]:
    economy = request_economy
    results = economy.measure(sizes.economy)
    shapes = economy.rows(results)
    # The shape by shape table goes to stderr, so that one run documents both.
    print(table(economy.HEADERS, economy.summarise(results)), file=sys.stderr)
    name = "request economy"

    def kind(*kinds: str) -> list[economy.Row]:
        return [r for r in shapes if r.shape.kind in kinds]

    def averaged(chosen: Sequence[economy.Row], index: int, which: str = "default") -> float:
        return mean([getattr(r, which)[index] for r in chosen])

    out: list[Row] = []
    informative = kind(economy.INFORMATIVE)
    if informative:
        req, lat = averaged(informative, 0), averaged(informative, 1)
        fixed = [r.fixed["fixed 30 s"] for r in informative]
        base_req, base_lat = mean([f[0] for f in fixed]), mean([f[1] for f in fixed])
        worst = max(informative, key=lambda r: max(r.default[0] / 100, r.default[1] / 15))
        out += [
            Row(
                name,
                f"informative progress ({len(informative)} shapes, 2.8-4.2 h): requests",
                f"{req:.1f}",
                f"{base_req:.1f} (fixed 30 s)",
                f"{req / base_req:.2f}x",
                "<= 100",
                _verdict(req <= 100, f"{req - 100:.1f}"),
            ),
            Row(
                name,
                "informative progress: mean detection latency",
                f"{lat:.1f} s",
                f"{base_lat:.1f} s (fixed 30 s)",
                f"{lat / base_lat:.2f}x",
                "<= 15 s",
                _verdict(lat <= 15, f"{lat - 15:.1f} s"),
            ),
            Row(
                name,
                f"informative, hardest alone ({worst.shape.name})",
                f"{worst.default[0]:.1f} req, {worst.default[1]:.1f} s",
                "",
                "",
                "<= 100, <= 15 s",
                _verdict(bool(worst.meets_target)),
            ),
        ]
    silent = kind(economy.SILENT)
    if silent:
        row = silent[0]
        fixed120 = row.fixed["fixed 120 s"]
        out.append(
            Row(
                name,
                "silent progress (0/100 to the end): requests, mean latency",
                f"{row.default[0]:.1f} req, {row.default[1]:.1f} s",
                f"{fixed120[0]:.1f} req, {fixed120[1]:.1f} s (fixed 120 s)",
                f"{row.default[1] / fixed120[1]:.2f}x",
                "<= 100, <= 60 s (aim 45 s)",
                _verdict(bool(row.meets_target)),
            )
        )
    target = kind(economy.INFORMATIVE, economy.SILENT, economy.HARD, economy.CLOCK)
    if target:
        most = max(target, key=lambda r: r.default[0])
        slowest = max(target, key=lambda r: r.default[1])
        ok = most.default[0] <= 105 and slowest.default[1] <= 60
        out.append(
            Row(
                name,
                f"every target shape ({len(target)}): most requests, slowest mean",
                f"{most.default[0]:.1f} ({most.shape.name}), {slowest.default[1]:.1f} s "
                f"({slowest.shape.name})",
                "",
                "",
                "<= 105, <= 60 s",
                _verdict(ok),
            )
        )
        floor_ok = [r for r in target if r.meets_floor]
        out.append(
            Row(
                name,
                "no worse than a fixed poller spending as many requests",
                f"{len(floor_ok)}/{len(target)} shapes",
                "fixed 30/60/120 s, interpolated",
                "",
                "every shape",
                _verdict(len(floor_ok) == len(target)),
            )
        )
    sweep = kind(economy.SWEEP)
    for what, chosen in (
        ("past the window (5-6 h trainings)", [r for r in sweep if r.shape.hours[0] >= 4.5]),
        ("all of one length (2.8 or 4.2 h)", [r for r in sweep if 2.5 <= r.shape.hours[0] < 4.5]),
    ):
        if chosen:
            out.append(_floor_row(name, what, chosen))
    req_ratio, lat_ratio = economy.stateless_ratios(shapes)
    out.append(
        Row(
            name,
            "stateless worker (new client per poll, state passed along)",
            f"{req_ratio:.2f}x requests, {lat_ratio:.2f}x latency",
            "one long-lived process",
            "",
            "within 10 %",
            _verdict(abs(req_ratio - 1) <= 0.1 and abs(lat_ratio - 1) <= 0.1),
        )
    )
    failure = kind(economy.FAILURE)
    if failure:
        row = failure[0]
        out.append(
            Row(
                name,
                "failure at 30 % of the training: mean detection",
                f"{row.default[1]:.0f} s",
                f"{row.fixed['fixed 120 s'][1]:.0f} s (fixed 120 s)",
                "",
                "a few minutes",
                _verdict(row.default[1] <= 300),
            )
        )
    callbacks = economy.measure_callbacks(max(1, sizes.economy.ours // 4))
    cb_req = max(r.requests for r in callbacks)
    cb_lat = max(r.latency for r in callbacks)
    out.append(
        Row(
            name,
            "with a callback: requests, latency",
            f"{cb_req} req, {cb_lat:.2f} s",
            "",
            "",
            "<= 3, <= 1 s",
            _verdict(cb_req <= 3 and cb_lat <= 1),
        )
    )
    return out  # fmt: skip


def _per_call(sizes: Sizes) -> list[Row]:
    result = per_call.measure(calls=sizes.per_call_calls, rounds=sizes.per_call_rounds)
    floor, ours = result.by_name("raw aiohttp"), result.by_name("tavus_async")
    official = result.by_name("official tavus-cli")
    assert floor is not None
    assert ours is not None
    ratio = ours.wall_ratio
    rows = [
        Row("per-call cost", "faces.get round trip (wall; ratio: median of paired rounds)",
            f"{ours.wall_us:.0f} µs",
            f"{floor.wall_us:.0f} µs (raw aiohttp)", f"{ratio:.2f}x", "<= 1.10x",
            _verdict(ratio <= 1.10, f"{ratio - 1.10:.2f}x")),
        Row("per-call cost", "client CPU per call (ratio: median of paired rounds)",
            f"{ours.cpu_us:.0f} µs",
            f"{floor.cpu_us:.0f} µs (raw aiohttp)", f"{ours.cpu_ratio:.2f}x", "", ""),
    ]  # fmt: skip
    if official is not None:
        rows.append(
            Row("per-call cost", "official client (tavus-cli) faces.get", f"{ours.wall_us:.0f} µs",
                f"{official.wall_us:.0f} µs (official)",
                f"{ours.wall_ratio / official.wall_ratio:.2f}x",
                "below official", _verdict(ours.wall_us < official.wall_us))
        )  # fmt: skip
    else:
        rows.append(Row("per-call cost", "official client", "", result.official_error or "",
                        "", "below official", "not measured"))  # fmt: skip
    create = result.by_name("tavus_async create")
    pooled = result.by_name("raw aiohttp POST")
    fresh = result.by_name("raw aiohttp POST, new connection")
    if create is not None and pooled is not None and fresh is not None:
        rows += [
            Row("per-call cost", "faces.create, on a connection of its own (no target: the "
                "price of never riding a kept-alive one)", f"{create.wall_us:.0f} µs",
                f"{pooled.wall_us:.0f} µs (raw POST, kept-alive)", f"{create.wall_ratio:.2f}x",
                "", ""),
            Row("per-call cost", "faces.create against a raw POST on a new connection",
                f"{create.wall_us:.0f} µs", f"{fresh.wall_us:.0f} µs (raw POST, new connection)",
                f"{create.wall_ratio / fresh.wall_ratio:.2f}x", "", ""),
        ]  # fmt: skip
    return rows


def _scale(sizes: Sizes) -> list[Row]:
    report = scale.measure(sizes.scale_jobs, window=sizes.scale_window)
    kb = report.bytes_per_job / 1024
    name = f"scale ({report.jobs:,} jobs)"
    return [
        Row(name, "peak RSS growth per job", f"{kb:.1f} KB", "", "", "<= 10 KB",
            _verdict(kb <= 10, f"{kb - 10:.1f} KB")),
        Row(name, "CPU per 1,000 polls", f"{report.cpu_per_1000_polls:.3f} s",
            f"{report.cpu_per_1000_raw:.3f} s (hand-written pollers)",
            f"{report.cpu_ratio:.2f}x", "", ""),
        Row(name, "most polls in one second", f"{report.max_polls_in_a_second}",
            f"{report.budget:g} (budget)", "", "never above budget",
            _verdict(report.max_polls_in_a_second <= report.budget)),
        Row(name, "event-loop lag (longest callback)",
            f"p99 {report.lag_p99_ms:.2f} ms, max {report.lag_max_ms:.1f} ms",
            f"longest GC pause {report.gc_max_ms:.1f} ms", "", "", ""),
    ]  # fmt: skip


def _import(sizes: Sizes) -> list[Row]:
    result = import_time.measure(runs=sizes.import_runs)
    return [
        Row("import time", "python -c 'import …' (median)", f"{result.ours * 1000:.0f} ms",
            f"{result.aiohttp * 1000:.0f} ms (aiohttp)", f"{result.ratio:.2f}x", "<= 1.30x",
            _verdict(result.ratio <= 1.3, f"{result.ratio - 1.3:.2f}x")),
    ]  # fmt: skip


def _parsing(sizes: Sizes) -> list[Row]:
    result = parsing.measure(objects=sizes.parsing_objects, rounds=sizes.parsing_rounds)
    return [
        Row("model parsing", f"structure {result.objects:,} Face dicts, per object",
            f"{result.ours_us:.1f} µs", f"{result.floor_us:.2f} µs (plain dict access)",
            f"{result.ratio:.1f}x", "", ""),
    ]  # fmt: skip


def _soak(sizes: Sizes) -> list[Row]:
    report = run_virtual(lambda: fault_soak.soak(sizes.soak_jobs))
    problems = report.problems()
    return [
        Row(f"fault soak ({report.jobs:,} jobs, 4 h)", "right outcomes under faulted polls",
            f"{report.completed + report.failed_as_expected}/{report.jobs}",
            f"{report.fault_share:.0%} of {report.polls:,} polls faulted", "",
            "all right, no Retry-After or budget breach",
            _verdict(not problems, f"{len(problems)} problems")),
    ]  # fmt: skip


def _durable(sizes: Sizes) -> list[Row]:
    report = temporal_economy.measure(sizes.durable)
    name = f"durable trainings ({len(report.pairs)} on Temporal)"
    if report.error:
        return [Row(name, "workflow vs one process", "", report.error, "", "", "not measured")]
    reads, latency = report.reads_ratio, report.latency_ratio
    speed = f"{temporal_economy.SPEED:g}x time"
    return [
        Row(name, f"reads per training ({speed})", f"{reads:.2f}x",
            "one process awaiting the same trainings", f"{reads:.2f}x", "<= 1.10x",
            _verdict(reads <= 1.10, f"{reads - 1.10:.2f}x")),
        Row(name, f"mean detection latency ({speed}: timers late x{temporal_economy.SPEED:g})",
            f"{latency:.2f}x", "one process awaiting the same trainings", f"{latency:.2f}x",
            "", ""),
    ]  # fmt: skip


BENCHMARKS = (_economy, _per_call, _scale, _import, _parsing, _soak, _durable)
HEADERS = [
    "benchmark",
    "measure",
    "tavus_async",
    "baseline (same run)",
    "ratio",
    "target",
    "result",
]


def machine() -> str:
    """A line describing where the numbers came from."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    return (
        f"{dt.datetime.now(dt.timezone.utc).date().isoformat()}, {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def collect(sizes: Sizes) -> list[Row]:
    """Run every benchmark at ``sizes``."""
    rows: list[Row] = []
    for benchmark in BENCHMARKS:
        rows += benchmark(sizes)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (under a minute)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    rows = collect(QUICK if args.quick else FULL)
    print(table(HEADERS, [row.cells() for row in rows]))
    print()
    kind = "quick" if args.quick else "full"
    print(f"{kind} run, {time.perf_counter() - started:.0f}s: {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
