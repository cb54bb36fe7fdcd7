"""Durable face trainings on Temporal (``pip install "tavus-async[temporal]"``).

A ``tavus.TrainFace`` workflow trains one face end to end: it creates the face exactly once
(finding the training again, by a name unique to the workflow, when a create may have reached
Tavus), then polls with the SDK's cadence on durable timers, so a worker that dies or is
redeployed loses nothing. Training callbacks can reach the workflow as signals, and a
``progress`` query reads the last known face without I/O.

Run a worker::

    from tavus_async import TavusClient
    from tavus_async.temporal import build_worker, connect

    temporal = await connect("localhost:7233")
    async with TavusClient() as tavus:
        await build_worker(temporal, tavus, task_queue="faces").run()

(or ``tavus-async temporal worker --address localhost:7233 --task-queue faces``), and start
trainings from anywhere::

    handle = await temporal.start_workflow(
        TrainFace.run, TrainFaceRequest(train_video_url=...), id="face-42", task_queue="faces"
    )
    progress = await handle.query(TrainFace.progress)
    face = await handle.result()
"""

try:
    import temporalio  # noqa: F401 -- only to turn a missing extra into a clear message
except ImportError as exc:  # pragma: no cover - exercised without the extra
    msg = 'tavus_async.temporal needs temporalio: pip install "tavus-async[temporal]"'
    raise ImportError(msg) from exc

from ._activities import TavusActivities
from ._converter import DATA_CONVERTER, PayloadConverter
from ._types import TrainFaceRequest, TrainingProgress
from ._worker import build_worker, connect, signal_workflows
from ._workflow import TrainFace, face_name_for

__all__ = [
    "DATA_CONVERTER",
    "PayloadConverter",
    "TavusActivities",
    "TrainFace",
    "TrainFaceRequest",
    "TrainingProgress",
    "build_worker",
    "connect",
    "face_name_for",
    "signal_workflows",
]
