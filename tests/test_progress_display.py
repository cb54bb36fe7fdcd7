"""The live bar: whole fields only, whatever width the terminal reports."""

from __future__ import annotations

import io
import re

import pytest

from tavus_async import Face, FaceStatus, TavusClient
from tavus_async._progress import LiveBar
from tavus_async.emulator import Emulator

from .conftest import API_KEY

FIELD = re.compile(
    r"^(r[0-9a-f]+ )?(\[[#-]+\] )?\s*\d+% [\w/ ]+$|^elapsed [\d:?]+$|^ETA (~[\d:]+|\?|done)$"
    r"|^checked [\d:?]+ ago$|^\d+%$"
)


@pytest.mark.parametrize("columns", [200, 100, 80, 60, 45, 30, 12, 4])
async def test_the_bar_drops_fields_rather_than_cutting_one(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, columns: int
) -> None:
    # shutil.get_terminal_size reads COLUMNS first: a terminal of that width (a terminal
    # reporting no size falls back to 100, the defect's case).
    monkeypatch.setenv("COLUMNS", str(columns))
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as client:
        job = await client.faces.create(train_video_url="https://cdn.test/v.mp4")
        face = await job.refresh()
        await job.poll_once()
        stream = io.StringIO()
        bar = LiveBar(stream)
        bar.changed(job, face)
        bar.changed(job, Face(face_id=job.face_id, status=FaceStatus.STARTED,
                              training_progress="45/100", finetune_status=None))  # fmt: skip
    for line in stream.getvalue().split("\r\x1b[2K")[1:]:
        assert len(line) <= max(columns - 1, 3), line
        for field in line.split(" | "):
            assert FIELD.match(field), (field, line)
