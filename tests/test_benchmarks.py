"""Every benchmark runs (at a tiny size): the suite keeps benchmarks/ from rotting.

Numbers are not checked here: no timing assertions in the suite. They are measured and
reported by ``python benchmarks/run.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import run
from _virtual import table


def test_every_benchmark_runs_at_a_tiny_size() -> None:
    rows = run.collect(run.TINY)
    benchmarks = {row.benchmark.split(" (")[0] for row in rows}
    assert benchmarks == {
        "request economy", "per-call cost", "scale", "import time", "model parsing",
        "fault soak", "durable trainings",
    }  # fmt: skip
    durable = [row for row in rows if row.benchmark.startswith("durable")]
    assert durable, "the Temporal benchmark is missing"
    assert all(row.result != "not measured" for row in durable), durable
    rendered = table(run.HEADERS, [row.cells() for row in rows])
    assert rendered.count("\n") == len(rows) + 1
    # Targets are stated on the rows that have one, with a verdict.
    for row in rows:
        if row.target:
            assert row.result, row
    assert "Python" in run.machine()
