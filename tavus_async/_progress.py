"""How the CLI shows a wait: a live bar on a terminal, plain or JSON lines elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import shutil
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol, TextIO

from ._converter import unstructure
from ._jobs import TrainingJob
from ._models import Face

__all__ = [
    "Display",
    "JsonLines",
    "LiveBar",
    "PlainLines",
    "choose_display",
    "clock_text",
    "fit",
    "live",
]

BAR_WIDTH = 24


def clock_text(seconds: float | None) -> str:
    """``1:02:03`` (or ``2:03``); ``?`` when unknown."""
    if seconds is None:
        return "?"
    whole = int(max(seconds, 0))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Display(Protocol):
    """Receives every change of a waiting job, and renders it."""

    def changed(self, job: TrainingJob[Any], face: Face) -> None:
        """A read brought a new status, progress or tuning stage."""

    def redraw(self, job: TrainingJob[Any]) -> None:
        """Time passed (called about once a second while waiting)."""

    def finish(self) -> None:
        """The wait is over (whatever its outcome)."""


class LiveBar:
    """A progress bar redrawn in place: status, elapsed time, ETA, time of the last check."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._face: Face | None = None
        self._drawn = False

    def changed(self, job: TrainingJob[Any], face: Face) -> None:
        self._face = face
        self.redraw(job)

    def redraw(self, job: TrainingJob[Any]) -> None:
        face = self._face
        fraction = face.progress if face is not None and face.progress is not None else 0.0
        status = str(face.status) if face is not None else "waiting"
        if face is not None and face.finetune_status is not None:
            status += f"/tuning {face.finetune_status}"
        eta = job.eta
        if face is not None and face.status.is_terminal:
            eta_text = "done"
        else:
            eta_text = "~" + clock_text(eta) if eta is not None else "?"
        width = shutil.get_terminal_size((100, 24)).columns - 1
        elapsed = f"elapsed {clock_text(job.age)}"
        eta_field = f"ETA {eta_text}"
        checked = f"checked {clock_text(job.since_check)} ago"
        line = fit(
            width,
            heads=[
                f"{job.face_id} {_bar(fraction, BAR_WIDTH)} {fraction:4.0%} {status}",
                f"{job.face_id} {_bar(fraction, 10)} {fraction:4.0%} {status}",
                f"{_bar(fraction, 10)} {fraction:4.0%} {status}",
                f"{fraction:4.0%} {status}",
                f"{fraction:.0%}",
            ],
            # When they do not all fit: the time since the last check goes first, then the
            # elapsed time; the ETA stays longest.
            tails=[[elapsed, eta_field, checked], [elapsed, eta_field], [eta_field]],
        )
        self._stream.write("\r\x1b[2K" + line)
        self._stream.flush()
        self._drawn = True

    def finish(self) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()


def _bar(fraction: float, width: int) -> str:
    filled = round(fraction * width)
    return f"[{'#' * filled}{'-' * (width - filled)}]"


def fit(width: int, *, heads: list[str], tails: list[list[str]]) -> str:
    """The fullest status line within ``width`` columns, made of whole fields only.

    ``heads`` are the leading field from the fullest to the shortest; ``tails`` the sets of
    fields to follow it, from the most wanted to the least. The first head that fits leads,
    with the first tail that still fits; a field is dropped, never cut in half. A terminal
    too narrow for any head gets the shortest one.
    """
    head = next((h for h in heads if len(h) <= width), heads[-1])
    for tail in tails:
        line = " | ".join([head, *tail])
        if len(line) <= width:
            return line
    return head


class PlainLines:
    """One plain line per change, for logs and pipes."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def changed(self, job: TrainingJob[Any], face: Face) -> None:
        progress = face.training_progress or "-"
        tuning = f" tuning={face.finetune_status}" if face.finetune_status is not None else ""
        self._stream.write(f"{_now()} {face.face_id} {face.status} {progress}{tuning}\n")
        self._stream.flush()

    def redraw(self, job: TrainingJob[Any]) -> None:
        """Nothing to redraw."""

    def finish(self) -> None:
        """Nothing to close."""


class JsonLines:
    """One JSON object per change (``{"event": "update", "face": …}``)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def changed(self, job: TrainingJob[Any], face: Face) -> None:
        event = {"event": "update", "time": _now(), "face": unstructure(face)}
        self._stream.write(json.dumps(event) + "\n")
        self._stream.flush()

    def redraw(self, job: TrainingJob[Any]) -> None:
        """Nothing to redraw."""

    def finish(self) -> None:
        """Nothing to close."""


def choose_display(stream: TextIO, env: Mapping[str, str], *, as_json: bool = False) -> Display:
    """JSON lines if asked; a live bar on a terminal unless ``TAVUS_NO_PROGRESS`` is set;
    plain lines otherwise."""
    if as_json:
        return JsonLines(stream)
    if stream.isatty() and env.get("TAVUS_NO_PROGRESS", "") in ("", "0"):
        return LiveBar(stream)
    return PlainLines(stream)


@contextlib.asynccontextmanager
async def live(display: Display, job: TrainingJob[Any], every: float = 1.0) -> AsyncIterator[None]:
    """Redraw ``display`` every ``every`` seconds (real time) while the block runs."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(every)
            display.redraw(job)

    task = asyncio.ensure_future(tick())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        display.finish()
