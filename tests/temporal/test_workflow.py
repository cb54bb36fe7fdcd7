"""``tavus.TrainFace`` on a real Temporal dev server, against the emulator on fast time."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from tavus_async import (
    Face,
    FaceStatus,
    InvalidArgumentError,
    TavusClient,
    TrainingCallback,
    parse_training_callback,
)
from tavus_async._policies import scaled_policy
from tavus_async.emulator import ERROR_MESSAGES, Emulator, Fault, Rule, Scenario
from tavus_async.emulator._state import FaceRecord
from tavus_async.temporal import (
    TrainFace,
    TrainFaceRequest,
    TrainingProgress,
    build_worker,
    face_name_for,
    signal_workflows,
)
from tests.conftest import API_KEY

from .conftest import SHORT

VIDEO = "https://cdn.test/train.mp4"
VIDEO_REQUEST = TrainFaceRequest(train_video_url=VIDEO)
#: Real seconds any one workflow may take here (a training lasts a few seconds).
PATIENCE = 90.0


async def _start(
    temporal: Client, task_queue: str, request: TrainFaceRequest
) -> WorkflowHandle[Any, Face]:
    return await temporal.start_workflow(
        TrainFace.run, request, id=f"train-{uuid.uuid4().hex[:10]}", task_queue=task_queue
    )


async def _failure(handle: WorkflowHandle[Any, Face]) -> ApplicationError:
    """The application error a workflow ended with."""
    with pytest.raises(WorkflowFailureError) as caught:
        await asyncio.wait_for(handle.result(), PATIENCE)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.non_retryable
    return cause


async def _trained_face(
    temporal: Client, task_queue: str, request: TrainFaceRequest
) -> tuple[WorkflowHandle[Any, Face], Face]:
    """Start a workflow and return its handle and the face it trained."""
    handle = await _start(temporal, task_queue, request)
    return handle, await asyncio.wait_for(handle.result(), PATIENCE)


def _requests(emulator: Emulator, method: str, path: str) -> int:
    return sum(1 for r in emulator.requests if r.method == method and r.path == path)


def _reads(emulator: Emulator, face_id: str) -> int:
    return _requests(emulator, "GET", f"/v2/faces/{face_id}")


def _trained(emulator: Emulator) -> list[FaceRecord]:
    return [record for record in emulator.faces.values() if record.face_type == "user"]


def _faces_named(emulator: Emulator, name: str) -> list[str]:
    return [record.face_id for record in _trained(emulator) if record.name == name]


async def test_a_video_training_completes_and_its_progress_can_be_read(
    temporal: Client, emulator: Emulator, worker: TavusClient, task_queue: str
) -> None:
    handle = await _start(temporal, task_queue, TrainFaceRequest(train_video_url=VIDEO))
    seen: list[TrainingProgress] = []

    async def watch() -> Face:
        while not (seen and seen[-1].phase == "done"):
            seen.append(await handle.query(TrainFace.progress))
            await asyncio.sleep(0.25)
        return await handle.result()

    face = await asyncio.wait_for(watch(), PATIENCE)

    assert face.status.is_success
    assert face.face_name == face_name_for(None, handle.id)
    during = [p for p in seen if p.phase == "training" and p.face is not None]
    assert during, "the query never answered while the face trained"
    assert during[0].face_id == face.face_id
    assert during[0].face is not None
    assert during[0].face.status is FaceStatus.STARTED
    assert during[0].eta is not None
    assert during[0].eta > 0
    assert seen[-1].face == face
    assert _requests(emulator, "POST", "/v2/faces") == 1
    assert _faces_named(emulator, face.face_name) == [face.face_id]


async def test_an_image_training_completes(
    temporal: Client, emulator: Emulator, worker: TavusClient, task_queue: str
) -> None:
    request = TrainFaceRequest(
        train_image_url="https://cdn.test/face.png", voice_name="anna", face_name="portrait"
    )
    _, face = await _trained_face(temporal, task_queue, request)
    assert face.status.is_success
    assert face.face_name is not None
    assert face.face_name.startswith("portrait #")
    (record,) = _trained(emulator)
    assert record.request["train_image_url"] == "https://cdn.test/face.png"
    assert record.request["voice_name"] == "anna"


async def test_a_failed_training_ends_the_workflow_with_its_message(
    temporal: Client, emulator: Emulator, worker: TavusClient, task_queue: str
) -> None:
    broken = Scenario(duration=SHORT.duration, fail="video_codec", fail_at=0.2)
    emulator.rules.append(Rule(scenario=broken, url_contains="broken"))
    request = TrainFaceRequest(train_video_url="https://cdn.test/broken.mp4")
    handle = await _start(temporal, task_queue, request)
    cause = await _failure(handle)
    assert cause.type == "TrainingFailedError"
    assert ERROR_MESSAGES["video_codec"] in cause.message
    progress = await handle.query(TrainFace.progress)
    assert progress.face is not None
    assert progress.face.status is FaceStatus.ERROR


async def test_a_training_past_the_timeout_ends_the_workflow_not_the_training(
    temporal: Client, emulator: Emulator, worker: TavusClient, task_queue: str
) -> None:
    emulator.rules.append(Rule(scenario=Scenario(duration=10 * 3600), url_contains="slow"))
    request = TrainFaceRequest(train_video_url="https://cdn.test/slow.mp4", timeout=1200)
    handle = await _start(temporal, task_queue, request)
    cause = await _failure(handle)
    assert cause.type == "TrainingTimeoutError"
    assert "the training goes on" in cause.message
    assert not [r for r in emulator.requests if r.method == "DELETE"]
    (record,) = _trained(emulator)
    assert not record.deleted


async def test_a_create_whose_answer_was_lost_is_found_not_repeated(
    temporal: Client, emulator: Emulator, worker: TavusClient, task_queue: str
) -> None:
    # The face is stored, then the connection is cut: the create may have reached Tavus.
    emulator.faults.add(Fault(kind="store_then_reset", route="POST /v2/faces", times=1))
    handle, face = await _trained_face(temporal, task_queue, VIDEO_REQUEST)
    assert face.status.is_success
    assert _requests(emulator, "POST", "/v2/faces") == 1
    assert _faces_named(emulator, face_name_for(None, handle.id)) == [face.face_id]
    assert _requests(emulator, "GET", "/v2/faces") >= 1  # found by listing, by its name


async def test_a_create_that_provably_started_nothing_is_sent_again(
    temporal: Client, emulator: Emulator, worker: TavusClient, task_queue: str
) -> None:
    # A 429 refuses the create before any training starts: sending it again is safe.
    emulator.faults.add(Fault(kind="rate_limit", route="POST /v2/faces", times=1))
    handle, face = await _trained_face(temporal, task_queue, VIDEO_REQUEST)
    assert _requests(emulator, "POST", "/v2/faces") == 2
    assert _faces_named(emulator, face_name_for(None, handle.id)) == [face.face_id]


async def test_a_face_unknown_just_after_its_create_is_read_again(
    temporal: Client, emulator: Emulator, worker: TavusClient, task_queue: str
) -> None:
    # A store that lags its writes: the first reads of the face the workflow created say
    # "Invalid face_id". That is lag (the id came from the create's answer), not a wrong id.
    emulator.faults.add(Fault(kind="not_yet_visible", route="GET /v2/faces/*", times=2))
    _handle, face = await _trained_face(temporal, task_queue, VIDEO_REQUEST)
    assert face.status.is_success
    assert _requests(emulator, "POST", "/v2/faces") == 1
    faulted = [r for r in emulator.requests if r.fault == "not_yet_visible"]
    assert len(faulted) == 2


async def test_a_face_unknown_once_mid_training_is_read_again(
    temporal: Client, emulator: Emulator, worker: TavusClient, task_queue: str
) -> None:
    # Read, then "Invalid face_id" once (a proxy, a lagging replica): asked again, the face
    # is there, and the workflow goes on to the end of the training.
    start = emulator.now() + SHORT.duration * 0.3
    emulator.faults.add(
        Fault(kind="not_yet_visible", route="GET /v2/faces/*", times=1, start=start)
    )
    _handle, face = await _trained_face(temporal, task_queue, VIDEO_REQUEST)
    assert face.status.is_success
    faulted = [r for r in emulator.requests if r.fault == "not_yet_visible"]
    assert len(faulted) == 1
    assert _reads(emulator, face.face_id) > 2  # read before the fault, and after it


async def test_a_face_gone_mid_training_fails_the_workflow_when_asked_again(
    temporal: Client, emulator: Emulator, worker: TavusClient, task_queue: str
) -> None:
    emulator.faults.add(
        Fault(kind="not_yet_visible", route="GET /v2/faces/*", start=emulator.now() + 540)
    )
    handle = await _start(temporal, task_queue, VIDEO_REQUEST)
    cause = await _failure(handle)
    assert cause.type == "InvalidIdError"
    faulted = [r for r in emulator.requests if r.fault == "not_yet_visible"]
    assert len(faulted) == 2
    assert not [r for r in emulator.requests if r.method == "DELETE"]


async def test_a_refused_create_fails_the_workflow_without_a_retry(
    temporal: Client, emulator: Emulator, worker: TavusClient, task_queue: str
) -> None:
    request = TrainFaceRequest(train_video_url=VIDEO, voice_name="no such voice at all")
    handle = await _start(temporal, task_queue, request)
    cause = await _failure(handle)
    assert cause.type == "BadRequestError"
    assert _requests(emulator, "POST", "/v2/faces") == 1
    assert not _trained(emulator)


async def test_callbacks_reach_the_workflow_as_signals(
    temporal: Client, emulator: Emulator, worker: TavusClient, task_queue: str
) -> None:
    # The web app's client receives Tavus's callbacks and forwards them to the workflows.
    async with (
        TavusClient(api_key=API_KEY, base_url=emulator.url) as web,
        web.callbacks.serve(host="127.0.0.1", port=0) as url,
    ):
        web.callbacks.forward(signal_workflows(temporal))
        request = TrainFaceRequest(train_video_url=VIDEO, callback_url=web.callbacks.url(url))
        handle = await _start(temporal, task_queue, request)
        face = await asyncio.wait_for(handle.result(), PATIENCE)
        assert face.status.is_success
        assert web.callbacks.accepted == 1
        # The create, a first look, and the read the callback asked for.
        assert len([r for r in emulator.requests if r.path.startswith("/v2/faces")]) <= 3
        progress = await handle.query(TrainFace.progress)
        assert progress.callbacks == 1
        (delivery,) = emulator.deliveries
        assert f"tavus_workflow={handle.id}" in delivery.url
        # The read that saw the face completed came after the callback, and long before the
        # safety net's first poll (4 h after creation; this training lasts 30 minutes).
        reads = [r.time for r in emulator.requests if r.path == f"/v2/faces/{face.face_id}"]
        assert len(reads) == 2
        assert reads[0] < delivery.time <= reads[1] < 4 * 3600
        # A callback for a workflow that is over is dropped quietly.
        forward = signal_workflows(temporal)
        assert await forward(_callback(face.face_id), {"tavus_workflow": handle.id}) == 0
        assert await forward(_callback(face.face_id), {}) == 0


def _callback(face_id: str) -> TrainingCallback:
    return parse_training_callback({"face_id": face_id, "status": "ready"})


async def test_a_worker_needs_the_sdks_data_converter(
    temporal_address: str, temporal: Client
) -> None:
    plain = await Client.connect(temporal_address)
    async with TavusClient(api_key=API_KEY, base_url="http://127.0.0.1:9") as tavus:
        with pytest.raises(InvalidArgumentError, match="DATA_CONVERTER"):
            build_worker(plain, tavus, task_queue="q")
        with pytest.raises(InvalidArgumentError, match="DATA_CONVERTER"):
            signal_workflows(plain)
        with pytest.raises(InvalidArgumentError, match="time_scale"):
            build_worker(temporal, tavus, task_queue="q", time_scale=0)


# --------------------------------------------------------------------------- worker restarts

#: The restart test trains for real-length hours at this speed (3.5 h in 42 s).
#: Durable timers fire a few ms late, more on a loaded machine, and each late millisecond
#: skips this many emulated ones: at 300x one CI run saw 62 reads against 73 (usually 67
#: against 69); at 150x, 68-70 against 69-72 with the machine's two cores busy.
RESTART_SPEED = 150.0


@asynccontextmanager
async def _worker_process(
    address: str, task_queue: str, emulator: Emulator
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``tavus-async temporal worker`` in its own process, ready when it says so."""
    env = {
        **os.environ,
        "TAVUS_API_KEY": API_KEY,
        "TAVUS_BASE_URL": emulator.url,
        "TAVUS_TIME_SCALE": str(RESTART_SPEED),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tavus_async", "temporal", "worker",
        "--address", address, "--task-queue", task_queue,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        ready = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert b"worker for task queue" in ready, ready
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


async def test_a_killed_worker_loses_nothing(temporal_address: str, temporal: Client) -> None:
    """SIGKILL the worker mid-training, start another: one create, and as many reads as one
    process awaiting the same training (within 10 %)."""
    task_queue = f"restart-{uuid.uuid4().hex[:8]}"
    scenario = Scenario(duration=3.5 * 3600, curve="linear")
    async with (
        Emulator(api_key=API_KEY, seed=5, speed=RESTART_SPEED, scenario=scenario) as emulator,
        TavusClient(
            api_key=API_KEY, base_url=emulator.url, poll=scaled_policy(RESTART_SPEED)
        ) as alone,
    ):
        async with _worker_process(temporal_address, task_queue, emulator) as first:
            # A killed worker is noticed after poll_timeout (real seconds): at 150x, the
            # default 60 s would be 2.5 emulated hours without reads if the kill landed
            # mid-activity. 2 s is five emulated minutes, one or two reads at most.
            request = TrainFaceRequest(train_video_url=VIDEO, poll_timeout=2.0)
            handle = await _start(temporal, task_queue, request)
            # The same training, awaited in one process, alongside.
            job = await alone.faces.create(train_video_url=VIDEO, face_name="in-process")
            in_process = asyncio.ensure_future(job.wait())
            face_id = await _face_id(handle)

            async def twenty_reads() -> None:
                # The emulator offers no event per request: look at its log now and then.
                # Polls the emulator's count on virtual time:
                while _reads(emulator, face_id) < 20:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)

            await asyncio.wait_for(twenty_reads(), PATIENCE)
            await asyncio.sleep(0.1)  # let the read's result reach Temporal
            first.send_signal(signal.SIGKILL)
            await first.wait()
        async with _worker_process(temporal_address, task_queue, emulator):
            face = await asyncio.wait_for(handle.result(), PATIENCE)
            await asyncio.wait_for(in_process, PATIENCE)
        assert face.status.is_success
        assert _requests(emulator, "POST", "/v2/faces") == 2  # this one and the in-process one
        assert _faces_named(emulator, face_name_for(None, handle.id)) == [face_id]
        durable, baseline = _reads(emulator, face_id), _reads(emulator, job.face_id)
        assert abs(durable - baseline) <= 0.1 * baseline, (durable, baseline)


async def _face_id(handle: WorkflowHandle[Any, Face]) -> str:
    async def first_id() -> str:
        while True:
            progress = await handle.query(TrainFace.progress)
            if progress.face_id is not None:
                return progress.face_id
            await asyncio.sleep(0.05)

    return await asyncio.wait_for(first_id(), PATIENCE)


async def test_a_worker_from_the_command_line_is_stopped_by_sigterm(
    temporal_address: str, emulator: Emulator
) -> None:
    async with _worker_process(temporal_address, "idle", emulator) as proc:
        proc.send_signal(signal.SIGTERM)
        assert proc.stdout is not None
        rest = await asyncio.wait_for(proc.stdout.read(), 30)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
        assert b"worker stopped" in rest
