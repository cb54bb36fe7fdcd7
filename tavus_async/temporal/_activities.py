"""The I/O of a durable training: create, one poll, and finding a training again.

Each activity is one short exchange with Tavus through the worker's
:class:`~tavus_async.TavusClient`. None keeps anything between calls: the cadence's memory
travels in the workflow as a state token (:attr:`~tavus_async.PollResult.state`), so any
worker, started any time, carries on where another stopped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time

from temporalio import activity
from temporalio.exceptions import ApplicationError

from tavus_async._client import TavusClient
from tavus_async._durable import decode
from tavus_async._errors import (
    APIConnectionError,
    APIStatusError,
    InvalidArgumentError,
    RateLimitError,
    TavusError,
    TrainingMayHaveStartedError,
)
from tavus_async._outcome import Until, is_refusal, is_transient, settle

from ._types import (
    CREATE_NOT_SENT,
    CREATE_UNSURE,
    Created,
    CreateInput,
    PollInput,
    PollOutcome,
    Recovered,
    RecoverInput,
)

__all__ = ["CREATE", "HOLD", "HOLD_BUDGET", "POLL", "RECOVER", "TavusActivities"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)

CREATE, POLL, RECOVER = "tavus.CreateFace", "tavus.PollFace", "tavus.RecoverFace"

#: Waits up to this long (the cadence's seconds) are slept inside the poll activity.
HOLD = 90.0
#: A poll activity returns to the workflow after holding this long (the cadence's seconds).
HOLD_BUDGET = 300.0
#: Error type of a face the workflow created that no read has shown yet: retried.
NOT_VISIBLE_YET = "FaceNotVisibleYet"
#: Real seconds between heartbeats while the poll activity sleeps (at most; a third of the
#: heartbeat timeout when that is shorter, so a short ``poll_timeout`` still sees them).
HEARTBEAT_EVERY = 10.0


def heartbeat_interval(timeout: dt.timedelta | None) -> float:
    """Real seconds between heartbeats for an activity with this heartbeat timeout."""
    if timeout is None:
        return HEARTBEAT_EVERY
    return min(HEARTBEAT_EVERY, timeout.total_seconds() / 3)


async def _heartbeating_sleep(seconds: float, state: str) -> None:
    every = heartbeat_interval(activity.info().heartbeat_timeout)
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        await asyncio.sleep(min(left, every))
        activity.heartbeat(state)


class TavusActivities:
    """The activities of :class:`~tavus_async.temporal.TrainFace`, bound to a client.

    Args:
        client: The worker's client (its key, base URL and poll policy).
        time_scale: Waits are this many times shorter than the cadence's delays, for an
            emulator started with ``--speed N`` (``TAVUS_TIME_SCALE``). 1 against Tavus.

    Raises:
        InvalidArgumentError: a time scale that is not a finite number > 0.
        TypeError: a time scale that is not a number.
    """

    def __init__(self, client: TavusClient, *, time_scale: float = 1.0) -> None:
        scale: object = time_scale
        if isinstance(scale, bool) or not isinstance(scale, (int, float)):
            msg = f"time_scale must be a number, got {type(scale).__name__}"
            raise TypeError(msg)
        if not math.isfinite(time_scale) or time_scale <= 0:
            msg = f"time_scale must be a finite number > 0, got {time_scale!r}"
            raise InvalidArgumentError(msg)
        self._client = client
        self._scale = float(time_scale)

    @activity.defn(name=CREATE)
    async def create_face(self, given: CreateInput) -> Created:
        """Start the training. Run once: a retry after the request left could start a second.

        Raises:
            ApplicationError: of type ``TrainingMayHaveStartedError`` (the request failed after
                it may have reached Tavus), ``CreateNotSentError`` (provably nothing started:
                not sent, or rate limited), or, non-retryable, the refusal's class name
                (``BadRequestError``, ``InvalidArgumentError``…).
        """
        try:
            return await self._create(given)
        except TrainingMayHaveStartedError as exc:
            raise ApplicationError(str(exc), type=CREATE_UNSURE) from exc
        except (APIConnectionError, RateLimitError) as exc:
            # create() lets a connection error through only when the request was never sent.
            raise ApplicationError(str(exc), type=CREATE_NOT_SENT) from exc
        except TavusError as exc:
            raise ApplicationError(str(exc), type=type(exc).__name__, non_retryable=True) from exc

    async def _create(self, given: CreateInput) -> Created:
        arguments = given.request.create_arguments()
        # The workflow's own name (unique, to find the training again) and callback URL.
        arguments.update(face_name=given.face_name, callback_url=given.callback_url)
        expect_callback = True if given.callback_url else None
        job = await self._client.faces.create(**arguments, expect_callback=expect_callback)
        state = job.state
        # The state holds the cadence's first delay (shorter when a callback is expected).
        first = decode(state, face_id=job.face_id).delay
        return Created(face_id=job.face_id, state=state, first_delay=first / self._scale)

    @activity.defn(name=POLL)
    async def poll_face(self, given: PollInput) -> PollOutcome:
        """Read the face with the cadence's state, until the next wait is a long one.

        Waits of at most :data:`HOLD` seconds (the end of a training, polled every few
        tens of seconds) are slept here, heartbeating the state after each read: a durable
        timer per short wait would cost a workflow task each and be late by the server's
        timer resolution. Long waits go back to the workflow (``sleep``), as does anything
        after :data:`HOLD_BUDGET` seconds, so its ``progress`` query stays fresh. A retry
        after a worker died carries on from the last heartbeat's state.

        Raises:
            APIError: as for any read; transient ones are retried by the workflow. A
                refusal (``InvalidIdError``, ``AuthenticationError``, another 4xx) about a
                face read before only when a second read, ``error_initial_interval`` later,
                is refused too.
            ApplicationError: of type ``FaceNotVisibleYet`` (retried), for an unknown id on
                the first reads of a face the workflow created (a store may lag its writes),
                until its retries have spanned ``CREATE_LAG`` (as for a wait).
            CadenceStateError: the state is not this face's.
        """
        info = activity.info()
        details = info.heartbeat_details
        state = str(details[0]) if details else given.state
        job = self._client.faces.job(given.face_id, state=state)
        until: Until = "preview" if given.until == "preview" else "final"
        held = 0.0
        refused = False
        while True:
            activity.heartbeat(state)
            try:
                result = await job.poll_once()
            except APIStatusError as exc:
                if not is_refusal(exc):
                    raise  # 408, 429, 5xx: retried by the workflow
                # The same rules as for a wait. Created by this workflow, never read: an
                # unknown id is a store catching up with its write, timed by the retries
                # this poll has had.
                unseen_for = None
                if job._memory.restored_unseen():
                    retried = info.current_attempt_scheduled_time - info.scheduled_time
                    unseen_for = retried.total_seconds()
                if is_transient(exc, unseen_for=unseen_for):
                    raise ApplicationError(str(exc), type=NOT_VISIBLE_YET) from exc
                # Read before: asked once more, here, before the workflow ends on it.
                if not is_transient(exc, seen=job._memory.seen(job.face), again=refused):
                    raise
                refused = True
                pause = self._client.poll_policy.error_initial_interval
                await _heartbeating_sleep(pause / self._scale, state)
                continue
            refused = False
            state = result.state
            done = settle(result.face, until) is not None
            delay = result.next_delay
            if done or delay > HOLD or held + delay > HOLD_BUDGET:
                sleep = delay / self._scale
                return PollOutcome(
                    face=result.face,
                    done=done,
                    state=state,
                    sleep=sleep,
                    due=time.time() + sleep,
                    age=job.age,
                    eta=job.eta,
                )
            await _heartbeating_sleep(delay / self._scale, state)
            held += delay

    @activity.defn(name=RECOVER)
    async def recover_face(self, given: RecoverInput) -> Recovered:
        """Find the training a create may have started: the newest face of yours with this
        (unique) name, created since ``given.since`` give or take ten minutes of clock skew.

        Raises:
            APIError: as for any listing.
        """
        jobs = await self._client.faces.recover(
            name=given.face_name, since=given.since, finished=True
        )
        if not jobs:
            return Recovered()
        # The name is the workflow's own: more than one face means creates both got through.
        newest = max(jobs, key=lambda job: (job.face and job.face.created_at) or _EPOCH)
        return Recovered(face_id=newest.face_id, state=newest.state)
