"""Awaitable training handles.

A :class:`TrainingJob` is a face id plus a way to read that face (the small
:class:`~tavus_async._outcome.FaceSource` protocol, which the faces and replicas services
implement). It does not import the services, so services can hand out jobs without an import
cycle. The waiting itself lives in :mod:`tavus_async._driver`, the cadence in
:mod:`tavus_async._cadence`, a job's memory of it in :mod:`tavus_async._memory`, what the
client's jobs share in :mod:`tavus_async._hub`.

A job's cadence memory travels as an opaque token (:attr:`TrainingJob.state`,
:attr:`PollResult.state`): a worker that polls from a fresh process each time passes it
back through ``client.faces.job(face_id, state=…)`` and polls as one long-lived process would.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterable
from typing import Any, Generic, TypeVar

import attrs

from ._driver import Driver
from ._durable import CadenceState
from ._errors import FinetuneFailedError, TrainingFailedError
from ._hub import JobHub
from ._memory import JobMemory
from ._models import Face, FaceStatus
from ._outcome import FaceSource, Polled, Until, fingerprint, settle
from ._policies import PollPolicy
from ._waiter import Finished, OnUpdate

__all__ = ["PollResult", "TrainingJob", "as_completed"]

logger = logging.getLogger("tavus_async")

FaceT = TypeVar("FaceT", bound=Face)


@attrs.frozen(kw_only=True)
class PollResult(Generic[FaceT]):
    """What :meth:`TrainingJob.poll_once` learned: drive your own schedule with it."""

    face: FaceT
    """The face as just read."""
    done: bool
    """The wait is over: completed (final), failed, or tuning failed."""
    next_delay: float
    """Suggested seconds before the next poll (0 when done)."""
    state: str
    """The cadence's memory of this job, as an opaque token of a few hundred characters.

    Pass it back with the next poll, from any process: ``client.faces.job(face_id,
    state=result.state).poll_once()``. It holds no secret."""


class TrainingJob(Generic[FaceT]):
    """An awaitable handle on one training, by face id.

    ``await job`` waits with the client's :class:`PollPolicy` until the face is completed
    (returning it) or failed (raising). Create one with ``faces.create(...)`` or re-attach
    from anywhere with ``client.faces.job(face_id)`` (with ``state=`` to carry on with the
    cadence of another process): the id is all it needs.

    Attributes hold the last known values without I/O: :attr:`status`, :attr:`progress`,
    :attr:`face`, :attr:`age`, :attr:`eta`, :attr:`since_check`.
    """

    __slots__ = (
        "__weakref__",
        "_driver",
        "_face",
        "_hub",
        "_memory",
        "_source",
        "_status",
        "callback_url",
        "face_id",
    )

    def __init__(
        self,
        face_id: str,
        *,
        source: FaceSource[FaceT],
        hub: JobHub,
        status: FaceStatus | None = None,
        callback_url: str | None = None,
        created_at: float | None = None,
        created_date: Any = None,
        expect_callback: bool | None = None,
        state: CadenceState | None = None,
        token: str | None = None,
    ) -> None:
        self.face_id = face_id
        self._source = source
        self._hub = hub
        self._status = status
        self._face: FaceT | None = None
        #: The callback URL given at creation, if any.
        self.callback_url = callback_url
        # The cadence's memory of this job (it travels between processes as `state`).
        self._memory = JobMemory(
            face_id,
            hub,
            created_at=created_at,
            created_date=created_date,
            state=state,
            token=token,
            callback_url=callback_url,
            expect_callback=expect_callback,
        )
        self._driver: Driver[FaceT] = Driver(self, hub)

    @property
    def safety_net(self) -> bool:
        """True when a callback to this client's receiver is expected: polling is then
        only a slow safety net. Decided by ``expect_callback``, else by a restored state,
        else by the callback URL (it carries this client's token)."""
        return self._memory.safety_net

    # ------------------------------------------------------------------ last known state

    @property
    def status(self) -> FaceStatus | None:
        """Last known status (``None`` before anything was read). No I/O."""
        return self._face.status if self._face is not None else self._status

    @property
    def progress(self) -> float | None:
        """Last known progress as a fraction in ``[0, 1]``, or ``None``. No I/O."""
        return self._face.progress if self._face is not None else None

    @property
    def face(self) -> FaceT | None:
        """The face as last read, or ``None`` before the first read. No I/O."""
        return self._face

    @property
    def age(self) -> float | None:
        """Seconds since the face was created, or ``None`` while unknown. No I/O.

        Exact for a job this client created; for a resumed one, the face's ``created_at``
        read against the server's ``Date`` (or our own wall clock, from a server that sends
        none): replaced by the age progress explains when
        the two disagree, ``None`` while the face outlives what it predicted and progress
        cannot tell (see Waiting in the docs).
        """
        now = self._memory.now()
        cadence = self._memory.cadence
        created = cadence.start if cadence is not None else None
        return None if now is None or created is None else max(0.0, now - created)

    @property
    def eta(self) -> float | None:
        """Estimated seconds until the training finishes, or ``None`` before the first read.

        The median of the cadence's belief: the duration prior (``expected_duration``, as
        learned) until progress says more, then a mixture of both. An estimate, not a
        promise: progress can sit still for long steps. No I/O.
        """
        now = self._memory.now()
        cadence = self._memory.cadence
        if now is None or cadence is None or self._face is None or self.done:
            return None
        finish = cadence.eta(now)
        return None if finish is None else max(0.0, finish - now)

    @property
    def since_check(self) -> float | None:
        """Seconds since the face was last read (or a read failed), or ``None``. No I/O."""
        now = self._memory.now()
        last = self._driver.last_polled_at
        return None if now is None or last is None else max(0.0, now - last)

    @property
    def done(self) -> bool:
        """True when the last read ended the wait (completed, failed or tuning failed)."""
        return self._face is not None and settle(self._face, "final") is not None

    @property
    def state(self) -> str:
        """The cadence's memory of this job as an opaque token (see :attr:`PollResult.state`).

        Hand it, with the face id, to another process: ``client.faces.job(face_id,
        state=…)`` carries on where this one stopped. No I/O.
        """
        return self._memory.token(
            self._hub.policy, seen=self._face is not None, due=self._driver.next_poll_at
        )

    def __repr__(self) -> str:
        progress = self._face.training_progress if self._face is not None else None
        return (
            f"TrainingJob(face_id={self.face_id!r}, status="
            f"{str(self.status) if self.status is not None else None!r}, "
            f"progress={progress!r})"
        )

    # ------------------------------------------------------------------ waiting

    def __await__(self) -> Generator[Any, None, FaceT]:
        """``await job`` is ``await job.wait()`` with the client's policy."""
        return self.wait().__await__()

    async def wait(
        self,
        *,
        timeout: float | None = None,
        policy: PollPolicy | None = None,
        until: Until = "final",
        on_update: OnUpdate | None = None,
    ) -> FaceT:
        """Wait until the training is over and return the completed face.

        Args:
            timeout: Deadline in seconds (default: the policy's ``timeout``, 8 hours). The
                wait ends then: a read in flight is abandoned, a ``Retry-After`` pause is
                not waited out; a last look taken at the deadline, when the last read is
                older than ``min_interval``, has two seconds to answer. (On an injected
                clock and sleep, a read in flight is waited for.)
            policy: Cadence and clock for this wait (default: the client's). When several
                tasks wait on one job, the first wait's cadence drives the shared polling.
            until: ``"final"`` (default) or ``"preview"``: for Phoenix-4.5, return as soon as
                the watermarked preview is ready instead of waiting for tuning.
            on_update: Called (sync or async) with every face whose status, progress or
                tuning stage changed. An async hook's calls run one after another, in order,
                on a task of their own (a slow hook never delays polling); the wait returns
                (or raises) once the last has finished, and cancelling it cancels them. A
                hook that raises is logged and the wait goes on.

        Returns:
            The face, with status ``completed`` (or ``ready``).

        Raises:
            TrainingFailedError: training ended with status ``error``.
            FinetuneFailedError: Phoenix-4.5 tuning failed (only with ``until="final"``).
            TrainingTimeoutError: the deadline passed; the training itself goes on.
            InvalidIdError, AuthenticationError, PermissionDeniedError, APIStatusError:
                a permanent error; transient ones are retried until the deadline (so is an
                unknown id for two minutes after this client created the face, until a
                read shows it: a store may lag its writes).
            ClientClosedError: the client was closed during the wait.
        """
        waiter = self._driver.enlist(
            timeout=timeout, policy=self._policy(policy), until=until, on_update=on_update
        )
        if isinstance(waiter, Finished):
            return self._unwrap(waiter.outcome)
        try:
            # The driver's futures carry Any: a face here, once the wait did not raise.
            return await waiter.result()  # type: ignore[no-any-return]
        finally:
            self._driver.dismiss(waiter)

    async def updates(
        self,
        *,
        timeout: float | None = None,
        policy: PollPolicy | None = None,
        until: Until = "final",
    ) -> AsyncIterator[FaceT]:
        """Yield the face each time its status, progress or tuning stage changes.

        The first item is the current state (read now if nothing is known yet). The last
        item is the terminal face (also for a failed training, which is not raised here:
        check ``face.status``); then the iteration ends.

        Raises:
            TrainingTimeoutError: the deadline passed before the training ended.
            InvalidIdError, AuthenticationError, ClientClosedError: as for :meth:`wait`.
        """
        if self._face is not None:
            yield self._face
            if settle(self._face, until) is not None:
                return
        queue: asyncio.Queue[Any] = asyncio.Queue()
        waiter = self._driver.enlist(
            timeout=timeout, policy=self._policy(policy), until=until, on_update=None, queue=queue
        )
        if isinstance(waiter, Finished):  # pragma: no cover - handled by the check above
            return
        last = fingerprint(self._face) if self._face is not None else None
        try:
            while True:
                item = await queue.get()
                if isinstance(item, Finished):
                    if isinstance(item.outcome, TrainingFailedError | FinetuneFailedError):
                        return
                    if isinstance(item.outcome, BaseException):
                        raise item.outcome
                    return
                if fingerprint(item) != last:
                    last = fingerprint(item)
                    yield item
        finally:
            self._driver.dismiss(waiter)

    async def refresh(self) -> FaceT:
        """Read the face once now (with the client's request retries) and return it.

        A running wait sees the result too.

        Raises:
            APIError: as for ``faces.get``.
        """
        polled = await self._source.fetch(self.face_id, retry=True)
        self._accept(polled, None)
        return polled.face

    async def poll_once(self) -> PollResult[FaceT]:
        """One poll, within the client's poll budget; returns what it learned.

        For task queues and workflow engines that schedule polls themselves: re-enqueue
        after ``result.next_delay`` seconds, with ``result.state``, until ``result.done``.
        ``done`` is also true for a failed training (check ``result.face.status``).

        Raises:
            APIError: any failure of the read. ``APIConnectionError``,
                ``ResponseValidationError``, ``RateLimitError``, ``ServerError`` and 408 are
                transient: poll again later with the same state. (A client-wide
                ``Retry-After`` pause is waited out up to ``RetryPolicy.max_retry_after``;
                a longer one raises ``RateLimitError`` at once, its ``retry_after`` the time
                left, and nothing is sent.) ``InvalidIdError`` or ``NotFoundError`` mean the
                face is gone (or, within two minutes of its create, not yet visible: a store
                may lag its writes); authentication and permission errors will not pass by
                themselves.
        """
        policy = self._hub.policy
        # A client-wide Retry-After pause is met by the request: one within
        # RetryPolicy.max_retry_after is waited out, a longer one raises RateLimitError at
        # once (a worker re-enqueues; holding it for minutes helps no one).
        await self._hub.acquire_slot(policy, pause=False)
        polled = await self._source.fetch(self.face_id, retry=False)
        self._accept(polled, policy)
        cadence = self._memory.cadence_for(policy)
        done = settle(polled.face, "final") is not None
        now = policy.clock()
        delay = 0.0 if done else cadence.after_success(now, retry_after=polled.retry_after)
        return PollResult(
            face=polled.face,
            done=done,
            next_delay=delay,
            state=self._memory.encode(cadence, now, delay),
        )

    # ------------------------------------------------------------------ callbacks bridge

    def poll_soon(self) -> None:
        """Schedule a confirming read now (a callback said something changed)."""
        self._driver.poll_soon()

    # ------------------------------------------------------------------ the driver's side

    def _policy(self, policy: Any) -> PollPolicy:
        if policy is None:
            return self._hub.policy
        if not isinstance(policy, PollPolicy):
            msg = f"policy must be a PollPolicy, got {type(policy).__name__}"
            raise TypeError(msg)
        return policy

    def _unwrap(self, outcome: Any) -> FaceT:
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[no-any-return]  # a face, once not an exception

    async def _read_once(self) -> Polled[FaceT]:
        return await self._source.fetch(self.face_id, retry=False)

    def _accept(self, polled: Polled[FaceT], policy: PollPolicy | None) -> None:
        """Take in a successful read: the face, the cadence, the waiters, what to learn."""
        face = polled.face
        previous = self._face
        changed = previous is None or fingerprint(previous) != fingerprint(face)
        self._face = face
        self._memory.take_in(polled, policy)
        # Once per new unknown status, not per read: progress moving under it is no news.
        new_status = previous is None or previous.status.value != face.status.value
        if not face.status.is_known and not face.status.is_terminal and new_status:
            logger.warning(
                "face %s has an unknown status %r; still waiting", face.face_id, face.status.value
            )
        self._driver.deliver(face, changed=changed)


async def as_completed(
    jobs: Iterable[TrainingJob[FaceT]],
    *,
    timeout: float | None = None,
    policy: PollPolicy | None = None,
) -> AsyncGenerator[TrainingJob[FaceT], None]:
    """Yield each job as its training ends (completed or failed), in order of finishing.

    After a job is yielded, ``await job`` returns its face (or raises its training error)
    at once, without a request. Leaving the loop early stops the remaining waits (never the
    trainings).

    Raises:
        TrainingTimeoutError: a job was not done by its deadline (the others stop waiting).
        APIStatusError and others: a permanent error while polling one of the jobs.
    """
    pending: dict[asyncio.Future[Any], TrainingJob[FaceT]] = {}
    for job in jobs:
        task = asyncio.ensure_future(job.wait(timeout=timeout, policy=policy))
        pending[task] = job
    try:
        while pending:
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                job = pending.pop(task)
                exc = task.exception()
                if exc is not None and not isinstance(
                    exc, TrainingFailedError | FinetuneFailedError
                ):
                    raise exc
                yield job
    finally:
        for leftover in pending:
            leftover.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
