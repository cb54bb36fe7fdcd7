"""The ``tavus.TrainFace`` workflow: create once, then poll on durable timers until done.

Workflow code is replayed after a worker restart, so everything here is deterministic: the
I/O is in the activities (:mod:`._activities`), the time is Temporal's, and the cadence's
memory travels in the workflow's history as a state token. A worker that dies loses nothing:
the next one replays the history and carries on from the last poll's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    # Plain attrs models and pure functions: the sandbox need not re-import them per run.
    import attrs

    from tavus_async._models import Face, TrainingCallback
    from tavus_async._outcome import settle
    from tavus_async._sansio import with_query_param
    from tavus_async._validation import MAX_NAME

    from ._activities import HOLD_BUDGET, TavusActivities
    from ._types import (
        CREATE_NOT_SENT,
        WORKFLOW_PARAMETER,
        Created,
        CreateInput,
        PollInput,
        PollOutcome,
        Recovered,
        RecoverInput,
        TrainFaceRequest,
        TrainingProgress,
    )

__all__ = ["TrainFace", "face_name_for"]
#: Real seconds to wait before each look for a training a create may have started: Tavus
#: lists a face as soon as it is stored, so the first look usually finds it.
RECOVERY_WAITS = (0.0, 10.0, 30.0, 60.0, 120.0)
#: Real seconds to wait before creating again after a create that provably started nothing.
RESEND_WAITS = (5.0, 30.0, 60.0, 120.0)
#: Real seconds a poll activity may spend beyond one read (it holds the short waits).
HOLD_LIMIT = 2 * HOLD_BUDGET

# Reads are idempotent: transient failures are retried by Temporal, with backoff. Errors
# that no retry can cure end the workflow.
_POLL_RETRY = RetryPolicy(
    initial_interval=dt.timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=dt.timedelta(minutes=5),
    non_retryable_error_types=[
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "InvalidIdError",
        "InvalidArgumentError",
        "CadenceStateError",
    ],
)
_RECOVER_RETRY = RetryPolicy(
    initial_interval=dt.timedelta(seconds=2),
    maximum_interval=dt.timedelta(minutes=1),
    maximum_attempts=10,
    non_retryable_error_types=["AuthenticationError", "PermissionDeniedError"],
)
# A create is never retried by Temporal: whether to send another is the workflow's decision.
_ONCE = RetryPolicy(maximum_attempts=1)


def face_name_for(name: str | None, workflow_id: str) -> str:
    """The face's name on Tavus: the request's, tagged with a digest of the workflow id.

    The tag makes the name unique to the workflow, so a training this workflow may have
    started can be found by name (and a name alone tells which workflow trains a face).
    """
    tag = hashlib.sha256(workflow_id.encode()).hexdigest()[:8]
    base = (name or "tavus-async").strip() or "tavus-async"
    suffix = f" #{tag}"
    return base[: MAX_NAME - len(suffix)] + suffix


def _callback_for(url: str | None, workflow_id: str) -> str | None:
    return None if url is None else with_query_param(url, WORKFLOW_PARAMETER, workflow_id)


def _error_type(err: ActivityError) -> tuple[str | None, bool]:
    """The activity failure's application error type and whether it is final."""
    cause = err.cause
    if isinstance(cause, ApplicationError):
        return cause.type, cause.non_retryable
    return None, False  # a timeout (the worker died?), a cancellation: anything may have happened


@workflow.defn(name="tavus.TrainFace")
class TrainFace:
    """Train one face durably: create it (exactly once), then wait for it.

    Start it with a :class:`TrainFaceRequest`; the result is the trained
    :class:`~tavus_async.Face`. Polls follow the SDK's cadence on durable timers; a
    ``training_callback`` signal (see :func:`signal_workflows`) makes the next read happen
    now. The ``progress`` query returns what the workflow knows, without any I/O.

    Raises:
        ApplicationError: non-retryable, of type ``TrainingFailedError`` (the training
            failed; the message carries Tavus's ``error_message``, the details the face),
            ``FinetuneFailedError``, ``TrainingTimeoutError`` (still training at the
            request's ``timeout``; the training goes on), ``TrainingNotStartedError`` (no
            create got through), or the class name of a refusal by Tavus
            (``BadRequestError``…).
    """

    def __init__(self) -> None:
        self._progress = TrainingProgress(phase="creating")
        self._hints = 0
        self._consumed = 0

    @workflow.run
    async def run(self, request: TrainFaceRequest) -> Face:
        """Create the face, wait for it, and return it (see the class docstring)."""
        workflow_id = workflow.info().workflow_id
        name = face_name_for(request.face_name, workflow_id)
        self._progress = attrs.evolve(self._progress, face_name=name)
        given = CreateInput(
            request=request,
            face_name=name,
            callback_url=_callback_for(request.callback_url, workflow_id),
        )
        created = await self._start(given)
        self._progress = TrainingProgress(
            phase="training",
            face_name=name,
            face_id=created.face_id,
            callbacks=self._progress.callbacks,
        )
        return await self._follow(request, created)

    @workflow.query(name="progress")
    def progress(self) -> TrainingProgress:
        """The last known state of the training: phase, face, ETA. No I/O."""
        return self._progress

    @workflow.signal(name="training_callback")
    def training_callback(self, callback: TrainingCallback) -> None:
        """A training callback for this workflow's face: read the face now."""
        known = self._progress.face_id
        if known is not None and callback.face_id != known:
            workflow.logger.warning("ignoring a callback for another face: %s", callback.face_id)
            return
        self._hints += 1
        self._progress = attrs.evolve(self._progress, callbacks=self._progress.callbacks + 1)

    def _hinted(self) -> bool:
        return self._hints > self._consumed

    # ------------------------------------------------------------------ starting

    async def _start(self, given: CreateInput) -> Created:
        since = workflow.now()
        resends = iter(RESEND_WAITS)
        while True:
            try:
                created: Created = await workflow.execute_activity_method(
                    TavusActivities.create_face,
                    given,
                    start_to_close_timeout=dt.timedelta(seconds=given.request.create_timeout),
                    retry_policy=_ONCE,
                )
            except ActivityError as err:
                kind, final = _error_type(err)
                if final:
                    raise ApplicationError(str(err.cause), type=kind, non_retryable=True) from err
                if kind != CREATE_NOT_SENT:
                    # It may have reached Tavus (or the worker died mid-create): a second
                    # create could start a second training, so look for the first.
                    found = await self._recover(given.face_name, since)
                    if found is not None:
                        return found
                resend = next(resends, None)
                if resend is None:
                    msg = f"could not start the training of {given.face_name!r}: {err.cause}"
                    raise ApplicationError(
                        msg, type="TrainingNotStartedError", non_retryable=True
                    ) from err
                await workflow.sleep(resend)
            else:
                return created

    async def _recover(self, face_name: str, since: dt.datetime) -> Created | None:
        self._progress = attrs.evolve(self._progress, phase="recovering")
        for wait in RECOVERY_WAITS:
            if wait:
                await workflow.sleep(wait)
            found: Recovered = await workflow.execute_activity_method(
                TavusActivities.recover_face,
                RecoverInput(face_name=face_name, since=since),
                start_to_close_timeout=dt.timedelta(minutes=2),
                retry_policy=_RECOVER_RETRY,
            )
            if found.face_id is not None and found.state is not None:
                workflow.logger.info("found the training of %r: %s", face_name, found.face_id)
                return Created(face_id=found.face_id, state=found.state, first_delay=0.0)
        return None

    # ------------------------------------------------------------------ waiting

    async def _follow(self, request: TrainFaceRequest, created: Created) -> Face:
        state, sleep = created.state, created.first_delay
        while True:
            if sleep > 0:
                # A durable timer, cut short by a callback's signal.
                with contextlib.suppress(asyncio.TimeoutError):
                    await workflow.wait_condition(self._hinted, timeout=sleep)
            self._consumed = self._hints  # a callback during the read wakes the next wait
            try:
                outcome: PollOutcome = await workflow.execute_activity_method(
                    TavusActivities.poll_face,
                    PollInput(face_id=created.face_id, state=state, until=request.until),
                    # Silence (no heartbeat) for poll_timeout means a dead worker; the whole
                    # activity may also hold the short waits at the end of a training.
                    heartbeat_timeout=dt.timedelta(seconds=request.poll_timeout),
                    start_to_close_timeout=dt.timedelta(seconds=request.poll_timeout + HOLD_LIMIT),
                    retry_policy=_POLL_RETRY,
                )
            except ActivityError as err:
                kind, _ = _error_type(err)
                if kind is None:
                    raise  # a cancellation: nothing of the API's to report
                # The poll's retries never run out, so what comes back is a read no retry
                # cures (the face gone, the key refused): the workflow's own failure, an
                # ApplicationError of that type like its others.
                raise ApplicationError(str(err.cause), type=kind, non_retryable=True) from err
            self._progress = TrainingProgress(
                phase="done" if outcome.done else "training",
                face_name=self._progress.face_name,
                face_id=created.face_id,
                face=outcome.face,
                eta=outcome.eta,
                checked_at=workflow.now(),
                callbacks=self._progress.callbacks,
            )
            if outcome.done:
                return _result(outcome.face, request.until)
            if request.timeout is not None and (outcome.age or 0.0) > request.timeout:
                hours = request.timeout / 3600
                msg = (
                    f"{created.face_id} is still training {hours:g} h after its creation; "
                    "the training goes on (follow it with client.faces.job(face_id))"
                )
                raise ApplicationError(
                    msg, outcome.face, type="TrainingTimeoutError", non_retryable=True
                )
            state, sleep = outcome.state, _remaining(outcome)


def _remaining(outcome: PollOutcome) -> float:
    """The wait still due: what the activity asked for, less the time its answer took to
    come back (a worker's clock may be off: it only ever shortens a wait by half)."""
    if outcome.due is None:
        return outcome.sleep
    left = outcome.due - workflow.now().timestamp()
    return min(outcome.sleep, max(left, outcome.sleep / 2))


def _result(face: Face, until: str) -> Face:
    outcome = settle(face, "preview" if until == "preview" else "final")
    if isinstance(outcome, BaseException):
        raise ApplicationError(
            str(outcome), face, type=type(outcome).__name__, non_retryable=True
        ) from outcome
    return face
