"""Lint, format, strict typing and the declared lower bounds are part of the suite, so CI
fails on any of them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


def test_ruff_lint() -> None:
    result = _run("ruff", "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = _run("ruff", "format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    # Configuration (strict; files: the package, the suite and the benchmarks) lives in
    # pyproject.toml.
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout


#: A suppression, and what may follow it on its line: a reason (``# why`` or `` - why``).
_SUPPRESSION = re.compile(
    r"#\s*(?:type:\s*ignore\[[\w-]+(?:,\s*[\w-]+)*\]|noqa:\s*[A-Z0-9, ]+)(.*)$"
)


def test_every_suppression_says_why() -> None:
    # A lint or type ignore with no reason is a question left to the next reader: the reason
    # sits after it on its line (``# why`` or ``- why``), or in a comment on the line above.
    unexplained = []
    for path in sorted(ROOT.glob("*/**/*.py")):
        if path.parts[len(ROOT.parts)] not in {"tavus_async", "tests", "benchmarks"}:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            found = _SUPPRESSION.search(line)
            if found is None or path == Path(__file__):
                continue
            after = found.group(1).strip()
            above = lines[number - 1].strip() if number else ""
            if not re.match(r"(#|-+)\s*\w", after) and not above.startswith("#"):
                unexplained.append(f"{path.relative_to(ROOT)}:{number + 1}")
    assert not unexplained, unexplained


def _lower_bounds(requirements: list[str]) -> dict[str, Version]:
    bounds = {}
    for requirement in requirements:
        found = re.match(r"([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*>=\s*([^,;\s]+)", requirement)
        if found:
            bounds[found.group(1).lower()] = Version(found.group(2))
    return bounds


def test_the_lowest_versions_file_follows_the_lower_bounds() -> None:
    # tests/lowest-versions.txt is how anyone checks that the bounds users get still hold;
    # a bound raised or added without it would check the wrong releases.
    tomllib = pytest.importorskip("tomllib")  # 3.11+, as the suite is
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    wanted = _lower_bounds(project["dependencies"] + extras["pytest"] + extras["temporal"])
    pinned = {}
    for line in (ROOT / "tests" / "lowest-versions.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pinned[name.strip().lower()] = Version(version)
    assert pinned == wanted
    assert {"aiohttp", "attrs", "cattrs", "backoff", "temporalio"} <= set(pinned)
