"""Wiring: a Temporal client with the SDK's payloads, a worker, callbacks as signals."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from tavus_async._callbacks import Forwarder
from tavus_async._client import TavusClient
from tavus_async._converter import prepare
from tavus_async._errors import InvalidArgumentError
from tavus_async._models import TrainingCallback

from ._activities import TavusActivities
from ._converter import DATA_CONVERTER, PayloadConverter
from ._types import PAYLOAD_TYPES, WORKFLOW_PARAMETER
from ._workflow import TrainFace

__all__ = ["build_worker", "connect", "signal_workflows"]

logger = logging.getLogger("tavus_async")

#: Temporal's default sticky queue timeout, in seconds.
STICKY_TIMEOUT = 10.0


async def connect(target_host: str, *, namespace: str = "default", **options: Any) -> Client:
    """Connect to Temporal with the data converter :class:`TrainFace` needs.

    Args:
        target_host: ``host:port`` of the Temporal frontend (``localhost:7233`` for
            ``temporal server start-dev``).
        namespace: The Temporal namespace.
        **options: Passed to :meth:`temporalio.client.Client.connect`.

    Raises:
        RuntimeError: Temporal cannot be reached (temporalio's own error).
    """
    return await Client.connect(
        target_host, namespace=namespace, data_converter=DATA_CONVERTER, **options
    )


def _check_converter(client: Client) -> None:
    if not issubclass(client.data_converter.payload_converter_class, PayloadConverter):
        msg = (
            "this Temporal client cannot carry the SDK's models: connect with "
            "tavus_async.temporal.connect(), or pass data_converter=DATA_CONVERTER"
        )
        raise InvalidArgumentError(msg)


def build_worker(
    client: Client,
    tavus: TavusClient,
    *,
    task_queue: str,
    time_scale: float = 1.0,
    **options: Any,
) -> Worker:
    """A worker that runs :class:`TrainFace` and its activities with ``tavus``.

    ``async with build_worker(...)`` or ``await worker.run()``. The Tavus client must stay
    open while the worker runs (and belongs to the worker's event loop).

    Args:
        client: A Temporal client from :func:`connect` (or with :data:`DATA_CONVERTER`).
        tavus: The client the activities use: its key, base URL and poll policy.
        task_queue: The task queue to serve; start workflows on the same one.
        time_scale: Against an emulator running N times faster than real time, N: the
            workflow's timers are then N times shorter than the cadence's delays.
        **options: Passed to :class:`temporalio.worker.Worker`.

    Raises:
        InvalidArgumentError: a Temporal client without the SDK's data converter, or a bad
            ``time_scale``.
    """
    _check_converter(client)
    activities = TavusActivities(tavus, time_scale=time_scale)
    # The sandbox re-imports workflow modules per run; the SDK's models must stay the very
    # classes the payload converter knows, so the package and its (un)structuring libraries
    # pass through (deterministic where workflows touch them: models and pure functions),
    # and the converter is built now rather than at first use inside the sandbox.
    prepare(*PAYLOAD_TYPES)
    options.setdefault(
        "workflow_runner",
        SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(
                "tavus_async", "attr", "attrs", "cattrs"
            )
        ),
    )
    if time_scale != 1.0:
        # After a worker dies, its workflows' next tasks wait this long on its sticky queue
        # before any worker takes them: 10 s against Tavus, as short in emulated time.
        options.setdefault(
            "sticky_queue_schedule_to_start_timeout",
            dt.timedelta(seconds=max(0.5, STICKY_TIMEOUT / time_scale)),
        )
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[TrainFace],
        activities=[activities.create_face, activities.poll_face, activities.recover_face],
        **options,
    )


def signal_workflows(client: Client) -> Forwarder:
    """A forwarder for :meth:`~tavus_async.CallbackReceiver.forward` that signals workflows.

    A callback whose URL names a workflow (the workflow adds its id to ``callback_url``) is
    sent to that workflow as a ``training_callback`` signal; the workflow then reads the face
    once. Callbacks for workflows that ended are dropped with a log line.

    Raises:
        InvalidArgumentError: a Temporal client without the SDK's data converter.
    """
    _check_converter(client)

    async def forward(callback: TrainingCallback, params: Mapping[str, str]) -> int:
        workflow_id = params.get(WORKFLOW_PARAMETER)
        if not workflow_id:
            return 0
        handle = client.get_workflow_handle(workflow_id)
        try:
            await handle.signal(TrainFace.training_callback, callback)
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            logger.info("callback for %s: workflow %s is over", callback.face_id, workflow_id)
            return 0
        return 1

    return forward
