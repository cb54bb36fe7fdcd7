"""How tavus_async.temporal reads to a type checker (checked by mypy --strict, never run)."""

from __future__ import annotations

from temporalio.client import Client, WorkflowHandle
from temporalio.worker import Worker
from typing_extensions import assert_type

from tavus_async import Face, TavusClient
from tavus_async.temporal import (
    TrainFace,
    TrainFaceRequest,
    TrainingProgress,
    build_worker,
    connect,
    signal_workflows,
)


async def durable(tavus: TavusClient) -> None:
    temporal = await connect("localhost:7233")
    assert_type(temporal, Client)
    worker = build_worker(temporal, tavus, task_queue="faces", time_scale=600)
    assert_type(worker, Worker)
    tavus.callbacks.forward(signal_workflows(temporal))
    request = TrainFaceRequest(train_video_url="https://cdn.test/v.mp4", face_name="Rio")
    handle = await temporal.start_workflow(TrainFace.run, request, id="f1", task_queue="faces")
    _ = assert_type(handle, WorkflowHandle[TrainFace, Face])
    progress = await handle.query(TrainFace.progress)
    assert_type(progress, TrainingProgress)
    assert_type(progress.eta, float | None)
    assert_type(await handle.result(), Face)
