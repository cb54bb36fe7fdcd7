"""Lint, format and strict typing are part of the suite, so CI fails on any of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
