"""Every benchmark runs (at a tiny size): the suite keeps benchmarks/ from rotting.

Numbers are not checked here: no timing assertions in the suite. They are measured and
reported by ``python benchmarks/run.py``.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import foreign_server
import held_out
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


def test_the_held_out_benchmark_runs_and_names_its_verdicts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tiny = ["--seed", "5", "--shapes", "2", "--trainings", "1", "--baseline", "1"]
    assert held_out.main(tiny) == 0
    out = capsys.readouterr().out
    for shape in held_out.family(5, 2):
        assert shape.name in out
    assert "held-out family 5: 2 shapes; the floor held on" in out
    assert "stateless" not in out  # no stateless worker measured, no columns for it


def test_the_foreign_server_benchmark_runs_every_clock_and_way(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert foreign_server.main(["--trainings", "1", "--shapes", "linear"]) == 0
    out = capsys.readouterr().out
    for clock in foreign_server.CLOCKS:
        for way in foreign_server.WAYS:
            assert f"| linear | {clock}" in out
            assert way in out
    assert "rows no worse than a fixed 120 s poller on both axes" in out
    with pytest.raises(SystemExit):
        foreign_server.main(["--shapes", "zigzag"])


@pytest.mark.parametrize("seed", range(8))
def test_a_held_out_family_is_the_same_for_its_seed_and_every_curve_is_servable(
    seed: int,
) -> None:
    family = held_out.family(seed, 12)
    assert [s.name for s in family] == [s.name for s in held_out.family(seed, 12)]
    assert [s.name for s in family] != [s.name for s in held_out.family(seed + 100, 12)]
    for shape in family:
        points = shape.scenario.points(random.Random(0))
        times = [t for t, _ in points]
        assert times == sorted(times), shape.name
        assert times[0] >= 0.0, shape.name
        assert times[-1] < 1.0, shape.name
        assert all(0 <= p <= 100 for _, p in points), shape.name
