"""Import time: ``python -c "import tavus_async"`` against ``python -c "import aiohttp"``.

Both in fresh interpreters, alternated, median of several runs; the target is at most 1.3x.
Both are measured as installed, with their bytecode cached: a warm-up import of each writes
it (``PYTHONDONTWRITEBYTECODE`` is dropped for these interpreters). Otherwise, in an
environment that sets it, our sources would be compiled on every run while aiohttp's
bytecode, written when pip installed it, is read.

Run alone: ``python benchmarks/import_time.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

import attrs

TARGET = 1.3


@attrs.frozen
class ImportResult:
    """Median seconds to start Python and import each module."""

    runs: int
    ours: float
    aiohttp: float

    @property
    def ratio(self) -> float:
        """Ours over aiohttp."""
        return self.ours / self.aiohttp


#: The interpreters' environment: as a user's, who lets Python cache bytecode.
_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _once(module: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True, env=_ENV)
    return time.perf_counter() - start


def measure(runs: int = 21) -> ImportResult:
    """Alternate fresh imports of both; a warm-up run of each primes the caches."""
    _once("aiohttp")
    _once("tavus_async")
    ours: list[float] = []
    baseline: list[float] = []
    for _ in range(runs):
        baseline.append(_once("aiohttp"))
        ours.append(_once("tavus_async"))
    return ImportResult(runs, statistics.median(ours), statistics.median(baseline))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    result = measure(runs=7 if args.quick else 21)
    print(
        f"import tavus_async {result.ours * 1000:.0f} ms, import aiohttp "
        f"{result.aiohttp * 1000:.0f} ms (median of {result.runs}): {result.ratio:.2f}x "
        f"(target <= {TARGET}x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
