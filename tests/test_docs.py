"""The documentation site builds, strictly, from a fresh checkout: a broken reference fails CI.

The reference pages are generated from the docstrings (mkdocstrings); a missing or renamed
object, a bad cross-reference or a broken link is a warning, and strict mode turns warnings
into a failed build. Every exported name must have its entry in the reference.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import tavus_async
import tavus_async.emulator
import tavus_async.temporal
import tavus_async.testing

ROOT = Path(__file__).resolve().parent.parent


def test_the_docs_build_strictly_with_every_public_object(tmp_path: Path) -> None:
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output, output
    for module, page in (
        (tavus_async, "tavus_async"),
        (tavus_async.emulator, "emulator"),
        (tavus_async.temporal, "temporal"),
        (tavus_async.testing, "testing"),
    ):
        html = (site / "reference" / page / "index.html").read_text()
        anchors = set(re.findall(r'id="([\w.]+)"', html))
        missing = [
            name
            for name in module.__all__
            if not name.startswith("_") and f"{module.__name__}.{name}" not in anchors
        ]
        assert not missing, f"{page}: {missing}"
