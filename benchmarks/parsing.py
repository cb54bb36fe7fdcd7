"""Model parsing: structuring Face dicts with tavus_async's converter, against plain dicts.

The floor is reading every field of the dict into a tuple (what any client must at least do);
the converter also checks types, parses dates and progress, and builds frozen attrs objects.

Run alone: ``python benchmarks/parsing.py [--quick]``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import attrs

from tavus_async import Face
from tavus_async._converter import structure

FIELDS = (
    "face_id", "face_name", "status", "training_progress", "error_message",
    "thumbnail_video_url", "created_at", "updated_at", "model_name", "face_type",
    "default_voice_id", "original_voice_id", "finetune_status",
)  # fmt: skip


def sample(i: int) -> dict[str, Any]:
    """A Get Face body as the API sends it (with a key we do not know)."""
    return {
        "face_id": f"r{i:011x}",
        "face_name": f"Face {i}",
        "status": ("started", "completed", "error")[i % 3],
        "training_progress": f"{i % 101}/100",
        "error_message": None if i % 3 != 2 else "video_codec",
        "thumbnail_video_url": f"https://cdn.test/{i}.mp4",
        "created_at": "2024-01-24T07:14:03.327Z",
        "updated_at": "2024-01-24T09:14:03.327Z",
        "model_name": "phoenix-4",
        "face_type": "user",
        "default_voice_id": None,
        "original_voice_id": None,
        "finetune_status": None,
        "is_recommended": False,
    }


@attrs.frozen
class ParsingResult:
    """Microseconds per object, ours and the floor, median of the rounds."""

    objects: int
    ours_us: float
    floor_us: float

    @property
    def ratio(self) -> float:
        """Ours over the floor."""
        return self.ours_us / self.floor_us


def _floor(bodies: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [tuple(body.get(name) for name in FIELDS) for body in bodies]


def _ours(bodies: Sequence[dict[str, Any]]) -> list[Face]:
    return [structure(body, Face, method="GET", url="bench", status=200) for body in bodies]


def measure(objects: int = 10_000, rounds: int = 5) -> ParsingResult:
    """Time both over ``objects`` dicts, ``rounds`` times each, interleaved."""
    bodies = [sample(i) for i in range(objects)]
    _ours(bodies[:100])  # builds the converter and its hooks
    ours: list[float] = []
    floor: list[float] = []
    for _ in range(rounds):
        for run, store in ((_floor, floor), (_ours, ours)):
            start = time.perf_counter()
            run(bodies)
            store.append((time.perf_counter() - start) / objects * 1e6)
    return ParsingResult(objects, statistics.median(ours), statistics.median(floor))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    result = measure(rounds=3 if args.quick else 7)
    print(
        f"structure {result.objects} Face dicts: {result.ours_us:.1f} µs per object "
        f"(plain dict access {result.floor_us:.2f} µs; {result.ratio:.0f}x the floor)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
