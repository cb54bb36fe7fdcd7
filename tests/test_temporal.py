"""The Temporal workflow tests (``tests/temporal``), run in a subprocess of their own.

Why a subprocess: temporalio's Rust bridge can abort the interpreter at exit
("PyGILState_Release: thread state ... must be current when releasing",
temporalio/sdk-python#300) once a runtime has been created. In this process that would turn
a green run red after the last test, or hide a red one. The child runs the tests with
pytest, then leaves with ``os._exit(status)``: the status is pytest's own, decided before any
interpreter teardown the bridge could break. The child runs on real time (``--no-looptime``),
since Temporal's timers are the server's.

The pure parts (the request's checks, the payload converter, the face name) are tested here,
in the main process, without a server.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload

from tavus_async import Face, FaceStatus, InvalidArgumentError
from tavus_async.temporal import DATA_CONVERTER, TrainFaceRequest, TrainingProgress, face_name_for

ROOT = Path(__file__).resolve().parent.parent
#: Real seconds the whole Temporal suite may take before it counts as hung.
BUDGET = 600

CHILD = (
    "import os, sys, pytest\n"
    "status = pytest.main(sys.argv[1:])\n"
    "sys.stdout.flush(); sys.stderr.flush()\n"
    "os._exit(int(status))\n"
)


def test_the_temporal_suite_passes_on_a_real_server() -> None:
    env = {**os.environ, "TAVUS_TEMPORAL_TESTS": "1"}
    args = ["tests/temporal", "--no-looptime", "-p", "no:cacheprovider", "-q", "-x"]
    done = subprocess.run(
        [sys.executable, "-c", CHILD, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUDGET,
        check=False,
    )
    summary = done.stdout.strip().splitlines()[-1:] or ["(no output)"]
    assert done.returncode == 0, f"{summary[0]}\n{done.stdout}\n{done.stderr}"
    assert " passed" in summary[0], summary[0]
    assert "skipped" not in summary[0], summary[0]


def test_a_request_is_checked_where_it_is_made() -> None:
    with pytest.raises(InvalidArgumentError, match="exactly one"):
        TrainFaceRequest()
    with pytest.raises(InvalidArgumentError, match="voice"):
        TrainFaceRequest(train_image_url="https://cdn.test/a.png")
    with pytest.raises(InvalidArgumentError, match="until"):
        TrainFaceRequest(train_video_url="https://cdn.test/v.mp4", until="soon")
    with pytest.raises(InvalidArgumentError, match="poll_timeout"):
        TrainFaceRequest(train_video_url="https://cdn.test/v.mp4", poll_timeout=0)
    with pytest.raises(InvalidArgumentError, match="callback_url"):
        TrainFaceRequest(train_video_url="https://cdn.test/v.mp4", callback_url="not a url")


async def test_models_travel_as_the_apis_json() -> None:
    face = Face(
        face_id="r123",
        status=FaceStatus.STARTED,
        face_name="x #0a1b2c3d",
        training_progress="40/100",
        created_at=dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone.utc),
    )
    progress = TrainingProgress(phase="training", face_id="r123", face=face, eta=600.0)
    (payload,) = await DATA_CONVERTER.encode([progress])
    assert isinstance(payload, Payload)
    assert b'"training_progress":"40/100"' in payload.data.replace(b" ", b"")
    (back,) = await DATA_CONVERTER.decode([payload], [TrainingProgress])
    assert back == progress
    # An unknown status from a newer Tavus survives the trip (lenient in what we receive).
    (alone,) = await DATA_CONVERTER.encode([face])
    raw = alone.data.replace(b'"started"', b'"queued"')
    (odd,) = await DATA_CONVERTER.decode([Payload(metadata=alone.metadata, data=raw)], [Face])
    assert odd.status.value == "queued"
    assert not odd.status.is_known
    assert odd.training_progress == "40/100"


def test_face_names_are_unique_per_workflow_and_fit() -> None:
    assert face_name_for("demo", "wf-1") == face_name_for("demo", "wf-1")
    assert face_name_for("demo", "wf-1") != face_name_for("demo", "wf-2")
    assert face_name_for(None, "wf-1").startswith("tavus-async #")
    long = face_name_for("x" * 400, "wf-1")
    assert len(long) == 255
    assert long.endswith(face_name_for("", "wf-1").split(" ")[-1])
