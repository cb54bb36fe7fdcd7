"""The cadence on progress shapes no one tuned it for: a fresh family drawn from a seed.

``request_economy.py`` measures a fixed family, and every change to the cadence was weighed
on it: a cadence can come to fit that family's curves and no others. This benchmark draws a
new family each time from ``--seed`` (its shapes differ from run to run, and from the
named ones), the same curve for every training of a shape, and measures it the same way:
the default beside fixed 30 s, 60 s and 120 s pollers, on the same trainings (2.8 to 4.2 h).

A shape is one of

* **climb**: a queue at 0 (one time in two), one to five phases of random rates (stalls
  among them), a grain of 1 to 25 points, a last value (40 to 100) reached anywhere from
  40 % of the training on and held to its end, readings off by a few points (one in five);
* **bend**: a power curve (progress as time to a power from 0.3 to 3) to its last value;
* **late**: nothing (0/100) for most of the training, then one to three jumps;
* **restarts**: two to four stages of unequal length, each climbing from 0;

and one in three is waited for by another client from the face id alone: at creation or
mid-way, with ``created_at`` right or hours off either way, or served with no ``Date``.

Verdicts, per shape, as in ``request_economy.py``: the **floor** (the default's mean latency
no worse than what a fixed poller spending as many requests gets) and **fixed 120 s on both
axes** (at most ~105 requests and a mean latency of at most 60 s, as a fixed 120 s poller).
A summary counts the shapes that hold each.

Run: ``python benchmarks/held_out.py [--seed N] [--shapes 30] [--trainings 24]``.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _virtual import table
from request_economy import (
    CLOCK,
    DEFAULT,
    FIXED,
    HARD,
    HEADERS,
    HOUR,
    Row,
    Shape,
    Sizes,
    measure,
    rows,
    summarise,
)

from tavus_async.emulator import Scenario

Points = tuple[tuple[float, int], ...]
#: Fine enough for the emulator's steps to follow any curve drawn here.
SAMPLES = 400
LASTS = (99, 99, 100, 95, 90, 80, 60, 40)
#: The table's stateless worker columns (its requests, and the mean latency after them).
STATELESS_COLUMNS = (HEADERS.index("stateless req"), HEADERS.index("stateless req") + 1)


def _read(level: float, last: int, grain: int) -> int:
    """A level (0-1 of ``last``) as the server reads it: whole steps of ``grain`` points."""
    value = int(level * last + 1e-9)
    return min(last, value // grain * grain)


def _steps(curve: Sequence[float], last: int, grain: int, rng: random.Random, noise: int) -> Points:
    """Sampled levels as (fraction of the training, percent) steps, with reading noise."""
    points: list[tuple[float, int]] = [(0.0, 0)]
    for i, level in enumerate(curve):
        value = _read(level, last, grain)
        if noise and 0 < value < last:
            value = max(0, min(last, value + rng.randint(-noise, noise)))
        if value != points[-1][1]:
            points.append((i / len(curve), value))
    return tuple(points)


def _climb(rng: random.Random) -> tuple[str, list[float]]:
    queue = rng.choice((0.0, rng.uniform(0.0, 0.4)))
    reach = rng.uniform(max(queue + 0.1, 0.4), 1.0)
    rates = [rng.choice((0.0, 0.2, 1.0, 1.0, 3.0)) for _ in range(rng.randint(1, 5))]
    if not any(rates):
        rates[-1] = 1.0
    total, span = sum(rates), (reach - queue) / len(rates)
    curve = []
    for i in range(SAMPLES):
        x = i / SAMPLES
        if x < queue:
            curve.append(0.0)
            continue
        done = min(len(rates), (x - queue) / span)
        whole = int(done)
        level = sum(rates[:whole]) + (rates[whole] * (done - whole) if whole < len(rates) else 0)
        curve.append(min(1.0, level / total))
    rates_text = "/".join(f"{r:g}" for r in rates)
    return f"climb q{queue:.2f} to {reach:.2f} rates {rates_text}", curve


def _bend(rng: random.Random) -> tuple[str, list[float]]:
    power = rng.choice((rng.uniform(0.3, 1.0), rng.uniform(1.0, 3.0)))
    reach = rng.uniform(0.5, 1.0)
    curve = [min(1.0, (i / SAMPLES / reach)) ** power for i in range(SAMPLES)]
    return f"bend x^{power:.2f} to {reach:.2f}", curve


def _late(rng: random.Random) -> tuple[str, list[float]]:
    jumps = sorted(rng.uniform(0.5, 0.98) for _ in range(rng.randint(1, 3)))
    levels = sorted(rng.uniform(0.2, 1.0) for _ in jumps)
    curve = []
    for i in range(SAMPLES):
        x = i / SAMPLES
        reached = [lv for at, lv in zip(jumps, levels, strict=True) if x >= at]
        curve.append(reached[-1] if reached else 0.0)
    return "late " + ",".join(f"{j:.2f}" for j in jumps), curve


def _restarts(rng: random.Random) -> tuple[str, list[float]]:
    cuts = sorted(rng.uniform(0.1, 0.9) for _ in range(rng.randint(1, 3)))
    edges = [0.0, *cuts, 1.0]
    curve = []
    for i in range(SAMPLES):
        x = i / SAMPLES
        k = max(j for j in range(len(edges) - 1) if edges[j] <= x)
        curve.append((x - edges[k]) / (edges[k + 1] - edges[k]))
    return f"restarts x{len(cuts) + 1}", curve


DRAWERS = (_climb, _climb, _bend, _late, _restarts)


def draw_shape(rng: random.Random, k: int) -> Shape:
    """The ``k``-th shape of a held-out family."""
    name, curve = rng.choice(DRAWERS)(rng)
    last, grain = rng.choice(LASTS), rng.choice((1, 1, 2, 5, 10, 25))
    noise = rng.choice((0, 0, 0, 0, 3))
    points = _steps(curve, last, grain, rng, noise)
    name = f"h{k} {name}, last {last}, grain {grain}" + (f", noise {noise}" if noise else "")
    if rng.random() >= 1 / 3:
        return Shape(name, Scenario(curve=points), HARD)
    skew = rng.choice((0.0, 0.0, rng.uniform(-8.0, 3.0)))
    midway, no_date = rng.random() < 0.5, rng.random() < 0.2
    scenario = Scenario(curve=points, created_at_skew=skew * HOUR)
    name += ", resumed" + (" mid-way" if midway else "") + (f", skew {skew:+.1f} h" * bool(skew))
    name += ", no Date" * no_date
    return Shape(name, scenario, CLOCK, resumed=True, midway=midway, no_date=no_date)


def family(seed: int, count: int) -> tuple[Shape, ...]:
    """A held-out family of ``count`` shapes, the same for the same seed."""
    rng = random.Random(seed)
    return tuple(draw_shape(rng, k) for k in range(count))


def verdicts(measured: Sequence[Row]) -> tuple[int, int]:
    """(shapes at or above the floor, shapes no worse than fixed 120 s on both axes)."""
    floor = sum(row.meets_floor for row in measured)
    both = sum(bool(row.meets_target) for row in measured)
    return floor, both


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1, help="which held-out family")
    parser.add_argument("--shapes", type=int, default=30)
    parser.add_argument("--trainings", type=int, default=24, help="per shape, for the default")
    parser.add_argument("--baseline", type=int, default=8, help="per shape, per fixed poller")
    args = parser.parse_args(argv)
    pool = family(args.seed, args.shapes)
    sizes = Sizes(args.trainings, args.baseline, pool=pool, policies=(DEFAULT, *FIXED))
    results = measure(sizes, seed=args.seed)
    # No stateless worker here: its columns go.
    keep = [i for i, h in enumerate(HEADERS) if i not in STATELESS_COLUMNS]
    lines = [[line[i] for i in keep] for line in summarise(results, pool)]
    print(table([HEADERS[i] for i in keep], lines))
    floor, both = verdicts(rows(results, pool))
    print(
        f"\nheld-out family {args.seed}: {len(pool)} shapes; the floor held on {floor}, "
        f"fixed 120 s on both axes on {both}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
