"""Awaitable training handles.

A :class:`TrainingJob` is a face id plus a way to read that face (the small
:class:`FaceSource` protocol, which the faces and replicas services implement). It does not
import the services, so services can hand out jobs without an import cycle.

**One stream of requests per job.** However many tasks await a job, one driver task polls for
all of them; each awaiter keeps its own deadline and ``until``. When the last awaiter leaves
(finished, timed out or cancelled) the driver stops. Cancelling an awaiter only stops that
wait: nothing is ever sent to cancel, delete or rename a training.

**One scheduler per client.** Every job of a client takes its polls from one
:class:`PollLimiter` (at most ``max_polls_per_second`` in any window of one second), and a
``Retry-After`` seen by any request pauses them all (see :mod:`tavus_async._http`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Iterable
from typing import Any, Generic, Literal, Protocol, TypeVar

import attrs

from ._cadence import Cadence
from ._errors import (
    APIConnectionError,
    APIStatusError,
    ClientClosedError,
    FinetuneFailedError,
    ResponseValidationError,
    TrainingFailedError,
    TrainingTimeoutError,
)
from ._models import Face, FaceStatus
from ._policies import Clock, PollPolicy, Sleep, check_deadline
from ._sansio import is_transient_status
from ._validation import check_choice

__all__ = [
    "FaceSource",
    "JobHub",
    "PollLimiter",
    "PollResult",
    "Polled",
    "TrainingJob",
    "Until",
    "settle",
]

logger = logging.getLogger("tavus_async")

#: Seconds within which a scheduled poll or deadline counts as due.
_DUE = 1e-3
#: Waits ended per loop iteration when a client closes.
CLOSE_CHUNK = 256

FaceT = TypeVar("FaceT", bound=Face)
FaceT_co = TypeVar("FaceT_co", bound=Face, covariant=True)

Until = Literal["final", "preview"]
OnUpdate = Callable[[Any], "Awaitable[None] | None"]


@attrs.frozen(kw_only=True)
class Polled(Generic[FaceT_co]):
    """One successful read of a face, with the response hints a poller uses."""

    face: FaceT_co
    retry_after: float | None = None
    server_date: Any = None  # datetime.datetime | None; Any keeps attrs and mypy simple


class FaceSource(Protocol[FaceT_co]):
    """What a :class:`TrainingJob` needs: read one face by id."""

    @property
    def resource(self) -> str:
        """``"faces"`` or ``"replicas"``, for messages."""
        ...

    async def fetch(self, face_id: str, *, retry: bool) -> Polled[FaceT_co]:
        """Read the face once (``retry=False``: one attempt; the job has its own backoff)."""
        ...


@attrs.frozen(kw_only=True)
class PollResult(Generic[FaceT]):
    """What :meth:`TrainingJob.poll_once` learned: drive your own schedule with it."""

    face: FaceT
    """The face as just read."""
    done: bool
    """The wait is over: completed (final), failed, or tuning failed."""
    next_delay: float
    """Suggested seconds before the next poll (0 when done)."""


def settle(face: Face, until: Until) -> Face | BaseException | None:
    """The outcome of a wait given the latest face: the face, an error, or ``None`` (not yet).

    ``until="preview"`` accepts a Phoenix-4.5 face as soon as its preview is ready
    (``status`` completed); ``"final"`` waits for tuning (``finetune_status`` completed)
    and reports tuning failure as :class:`FinetuneFailedError`.
    """
    status = face.status
    if status.is_failure:
        return TrainingFailedError(face)
    if not status.is_success:
        return None
    if until == "preview":
        return face
    tuning = face.finetune_status
    if tuning is not None:
        if tuning.is_failure:
            return FinetuneFailedError(face)
        return face if tuning.is_success else None
    # A Phoenix-4.5 face that reports no tuning stage yet has only its preview.
    return None if face.is_phoenix_45 else face


def _fingerprint(face: Face) -> tuple[Any, ...]:
    return (face.status.value, face.training_progress, face.finetune_status, face.error_message)


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (APIConnectionError, ResponseValidationError)):
        return True
    return isinstance(exc, APIStatusError) and is_transient_status(exc.status)


class PollLimiter:
    """Client-wide poll budget: at most ``rate`` polls start in any one-second window.

    Slots are handed out in call order (``slot_k >= slot_{k-n} + window``), so the bound
    holds exactly, and a thousand jobs queue rather than storm. For rates below 1 the
    window stretches: ``rate=0.5`` allows one poll in any two seconds.
    """

    __slots__ = ("_slots", "_window", "rate")

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        size = max(1, int(rate)) if rate else 1
        self._window = size / rate if rate else 0.0
        self._slots: collections.deque[float] = collections.deque(maxlen=size)

    async def acquire(
        self,
        clock: Clock,
        sleep: Sleep,
        paused: Callable[[], float] = lambda: 0.0,
        *,
        tries: int | None = None,
    ) -> None:
        """Wait for this poll's slot: within the budget and after any client-wide pause.

        A pause (``Retry-After``) that begins while waiting sends the poll back for a new
        slot after it, so the polls held by the pause do not all fire when it ends. Pass
        ``tries`` to bound that with an injected clock, which may never move the pause's
        (loop) clock.
        """
        attempt = 0
        while tries is None or attempt < tries:
            attempt += 1
            now = clock()
            slot = now + paused()
            if self.rate and len(self._slots) == self._slots.maxlen:
                slot = max(slot, self._slots[0] + self._window)
            if self.rate:
                self._slots.append(slot)
            if slot > now:
                await sleep(slot - now)
            if paused() <= 0:
                return


class JobHub:
    """Per-client job infrastructure: default policy, poll budget, running drivers."""

    def __init__(
        self,
        *,
        policy: PollPolicy,
        max_polls_per_second: float | None,
        pause_remaining: Callable[[], float],
    ) -> None:
        self.policy = policy
        self.limiter = PollLimiter(max_polls_per_second)
        self.pause_remaining = pause_remaining
        self.closed = False
        self._jobs: weakref.WeakSet[TrainingJob[Any]] = weakref.WeakSet()
        #: Callback receiver bridge: set by the client when callbacks are enabled.
        self.callback_token: str | None = None
        self._subscriptions: dict[str, weakref.WeakSet[TrainingJob[Any]]] = {}

    def track(self, job: TrainingJob[Any]) -> None:
        """Remember a job with a running driver so that close() can end it."""
        self._jobs.add(job)

    def subscribe(self, job: TrainingJob[Any]) -> None:
        """Route callbacks for ``job.face_id`` to ``job``."""
        self._subscriptions.setdefault(job.face_id, weakref.WeakSet()).add(job)

    def unsubscribe(self, job: TrainingJob[Any]) -> None:
        """Stop routing callbacks to ``job``."""
        jobs = self._subscriptions.get(job.face_id)
        if jobs is not None:
            jobs.discard(job)
            if not jobs:
                del self._subscriptions[job.face_id]

    def hint(self, face_id: str) -> int:
        """A callback says ``face_id`` changed: its waiting jobs confirm with one GET now.

        Returns the number of jobs woken.
        """
        jobs = list(self._subscriptions.get(face_id, ()))
        for job in jobs:
            job.poll_soon()
        return len(jobs)

    async def close(self) -> None:
        """End every wait with :class:`ClientClosedError` and stop all drivers."""
        self.closed = True
        drivers = []
        for count, job in enumerate(list(self._jobs), start=1):
            driver = job._abort_all()
            if driver is not None:
                drivers.append(driver)
            if count % CLOSE_CHUNK == 0:
                # Ten thousand waits end in slices: the loop keeps serving everyone else.
                await asyncio.sleep(0)
        if drivers:
            await asyncio.gather(*drivers, return_exceptions=True)


class _Finished:
    __slots__ = ("outcome",)

    def __init__(self, outcome: Any) -> None:
        self.outcome = outcome


class _Waiter:
    __slots__ = ("deadline", "future", "on_update", "queue", "timeout", "until")

    def __init__(
        self,
        *,
        deadline: float,
        timeout: float,
        until: Until,
        on_update: OnUpdate | None,
        queue: asyncio.Queue[Any] | None,
    ) -> None:
        self.deadline = deadline
        self.timeout = timeout
        self.until = until
        self.on_update = on_update
        self.queue = queue
        self.future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def finish(self, outcome: Any) -> None:
        if self.queue is not None:
            # An updates() iterator reads its outcome from its queue.
            self.queue.put_nowait(_Finished(outcome))
        elif self.future.done():
            return
        elif isinstance(outcome, BaseException):
            self.future.set_exception(outcome)
        else:
            self.future.set_result(outcome)


class TrainingJob(Generic[FaceT]):
    """An awaitable handle on one training, by face id.

    ``await job`` waits with the client's :class:`PollPolicy` until the face is completed
    (returning it) or failed (raising). Create one with ``faces.create(...)`` or re-attach
    from anywhere with ``client.faces.job(face_id)``: the id is all it needs.

    Attributes hold the last known values without I/O: :attr:`status`, :attr:`progress`,
    :attr:`face`.
    """

    __slots__ = (
        "__weakref__",
        "_cadence",
        "_created_at",
        "_driver",
        "_face",
        "_hinted",
        "_hub",
        "_last_polled_at",
        "_next_poll_at",
        "_source",
        "_status",
        "_waiters",
        "_wake",
        "callback_url",
        "face_id",
        "safety_net",
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
        expect_callback: bool | None = None,
    ) -> None:
        self.face_id = face_id
        self._source = source
        self._hub = hub
        self._status = status
        self._face: FaceT | None = None
        #: The callback URL given at creation, if any.
        self.callback_url = callback_url
        #: True when a callback to this client's receiver is expected: polling is then
        #: only a slow safety net. Decided by the callback URL (it carries this client's
        #: token) unless ``expect_callback`` says otherwise.
        self.safety_net = (
            expect_callback
            if expect_callback is not None
            else bool(callback_url and hub.callback_token and hub.callback_token in callback_url)
        )
        self._hinted = False
        self._created_at = created_at
        self._cadence: Cadence | None = None
        self._next_poll_at: float | None = None
        self._last_polled_at: float | None = None
        self._waiters: list[_Waiter] = []
        self._driver: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None

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

    def _clock(self) -> float | None:
        cadence = self._cadence
        if cadence is None:
            return None
        try:
            return cadence.policy.clock()
        except RuntimeError:  # the default clock outside a running loop
            return None

    @property
    def age(self) -> float | None:
        """Seconds since the face was created (server ``created_at`` against its ``Date``),
        or ``None`` before a read told. No I/O."""
        now = self._clock()
        created = self._cadence.created_at if self._cadence is not None else None
        return None if now is None or created is None else max(0.0, now - created)

    @property
    def eta(self) -> float | None:
        """Estimated seconds until the training finishes, from its progress so far, or
        ``None`` without an estimate. An estimate: progress sits still for long steps. No I/O."""
        now = self._clock()
        finish = self._cadence.eta() if self._cadence is not None else None
        return None if now is None or finish is None else max(0.0, finish - now)

    @property
    def since_check(self) -> float | None:
        """Seconds since the face was last read (or a read failed), or ``None``. No I/O."""
        now = self._clock()
        last = self._last_polled_at
        return None if now is None or last is None else max(0.0, now - last)

    @property
    def done(self) -> bool:
        """True when the last read ended the wait (completed, failed or tuning failed)."""
        return self._face is not None and settle(self._face, "final") is not None

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
            timeout: Deadline in seconds (default: the policy's ``timeout``, 8 hours).
            policy: Cadence and clock for this wait (default: the client's). When several
                tasks wait on one job, the first wait's cadence drives the shared polling.
            until: ``"final"`` (default) or ``"preview"``: for Phoenix-4.5, return as soon as
                the watermarked preview is ready instead of waiting for tuning.
            on_update: Called (sync or async) with every face whose status, progress or
                tuning stage changed.

        Returns:
            The face, with status ``completed`` (or ``ready``).

        Raises:
            TrainingFailedError: training ended with status ``error``.
            FinetuneFailedError: Phoenix-4.5 tuning failed (only with ``until="final"``).
            TrainingTimeoutError: the deadline passed; the training itself goes on.
            InvalidIdError, AuthenticationError, PermissionDeniedError, APIStatusError:
                a permanent error; transient ones are retried until the deadline.
            ClientClosedError: the client was closed during the wait.
        """
        waiter = self._enlist(timeout=timeout, policy=policy, until=until, on_update=on_update)
        if isinstance(waiter, _Finished):
            return self._unwrap(waiter.outcome)
        try:
            return await waiter.future  # type: ignore[no-any-return]
        finally:
            self._dismiss(waiter)

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
        waiter = self._enlist(
            timeout=timeout, policy=policy, until=until, on_update=None, queue=queue
        )
        if isinstance(waiter, _Finished):  # pragma: no cover - handled by the check above
            return
        last = _fingerprint(self._face) if self._face is not None else None
        try:
            while True:
                item = await queue.get()
                if isinstance(item, _Finished):
                    if isinstance(item.outcome, TrainingFailedError | FinetuneFailedError):
                        return
                    if isinstance(item.outcome, BaseException):
                        raise item.outcome
                    return
                if _fingerprint(item) != last:
                    last = _fingerprint(item)
                    yield item
        finally:
            self._dismiss(waiter)

    async def refresh(self) -> FaceT:
        """Read the face once now (with the client's request retries) and return it.

        A running wait sees the result too.

        Raises:
            APIError: as for ``faces.get``.
        """
        polled = await self._source.fetch(self.face_id, retry=True)
        self._accept(polled, self._cadence)
        return polled.face

    async def poll_once(self) -> PollResult[FaceT]:
        """One poll, within the client's poll budget; returns what it learned.

        For task queues and workflow engines that schedule polls themselves: re-enqueue
        after ``result.next_delay`` seconds until ``result.done``. ``done`` is also true
        for a failed training (check ``result.face.status``).

        Raises:
            APIError: any failure of the read, transient or not (schedule a retry).
        """
        policy = self._hub.policy
        await self._acquire_slot(policy)
        polled = await self._source.fetch(self.face_id, retry=False)
        cadence = self._get_cadence(policy)
        self._accept(polled, cadence)
        done = settle(polled.face, "final") is not None
        now = policy.clock()
        delay = 0.0 if done else cadence.after_success(now, retry_after=polled.retry_after)
        return PollResult(face=polled.face, done=done, next_delay=delay)

    # ------------------------------------------------------------------ callbacks bridge

    def poll_soon(self) -> None:
        """Schedule a confirming read now (a callback said something changed)."""
        self._next_poll_at = float("-inf")
        # A poll already in flight would reschedule over this; the flag makes it read again.
        self._hinted = True
        self._poke()

    # ------------------------------------------------------------------ internals

    async def _acquire_slot(self, policy: PollPolicy) -> None:
        await self._hub.limiter.acquire(
            policy.clock,
            policy.sleep,
            self._hub.pause_remaining,
            tries=None if policy.uses_default_timing() else 3,
        )

    def _unwrap(self, outcome: Any) -> FaceT:
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[no-any-return]

    def _get_cadence(self, policy: PollPolicy) -> Cadence:
        if self._cadence is None or self._cadence.policy is not policy:
            previous = self._cadence
            self._cadence = Cadence(policy, safety_net=self.safety_net)
            if previous is not None:
                self._cadence.created_at = previous.created_at
        return self._cadence

    def _enlist(
        self,
        *,
        timeout: float | None,
        policy: PollPolicy | None,
        until: Until,
        on_update: OnUpdate | None,
        queue: asyncio.Queue[Any] | None = None,
    ) -> _Waiter | _Finished:
        check_choice("until", until, ("final", "preview"))
        policy = _check_policy(policy) if policy is not None else self._hub.policy
        limit = check_deadline("timeout", timeout) if timeout is not None else policy.timeout
        if self._hub.closed:
            msg = "the TavusClient is closed; create a new one to wait for this job"
            raise ClientClosedError(msg)
        if self._face is not None:
            outcome = settle(self._face, until)
            if outcome is not None:
                # Already over: no request.
                return _Finished(outcome)
        waiter = _Waiter(
            deadline=policy.clock() + limit,
            timeout=limit,
            until=until,
            on_update=on_update,
            queue=queue,
        )
        self._waiters.append(waiter)
        if self.safety_net:
            self._hub.subscribe(self)
        if self._driver is None or self._driver.done():
            self._driver = asyncio.get_running_loop().create_task(
                self._drive(policy), name=f"tavus-async poll {self.face_id}"
            )
            self._hub.track(self)
        else:
            self._poke()  # a new, perhaps earlier, deadline
        return waiter

    def _dismiss(self, waiter: _Waiter) -> None:
        if waiter in self._waiters:
            self._waiters.remove(waiter)
        if not self._waiters:
            self._hub.unsubscribe(self)
            driver = self._driver
            if driver is not None and not driver.done() and driver is not _current_task():
                # The last waiter left (cancelled or timed out): stop polling. The training
                # itself is untouched.
                driver.cancel()

    def _abort_all(self) -> asyncio.Task[None] | None:
        error = ClientClosedError("the TavusClient was closed while waiting for this training")
        for waiter in list(self._waiters):
            waiter.finish(error)
        self._waiters.clear()
        self._hub.unsubscribe(self)
        driver = self._driver
        if driver is not None and not driver.done():
            driver.cancel()
            return driver
        return None

    def _poke(self) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    async def _drive(self, policy: PollPolicy) -> None:
        cadence = self._get_cadence(policy)
        clock = policy.clock
        try:
            while self._waiters:
                now = clock()
                if self._next_poll_at is None:
                    self._next_poll_at = self._first_poll_at(now, cadence)
                deadline = min(w.deadline for w in self._waiters)
                # "Due" within a millisecond: a timer may fire a hair before the float it was
                # set for, and re-sleeping for a sub-nanosecond remainder counts as ready at
                # once without moving the clock, a livelock under virtual time.
                poll_due = self._next_poll_at - now <= _DUE
                deadline_due = deadline - now <= _DUE
                if not poll_due and not deadline_due:
                    await self._sleep(min(self._next_poll_at, deadline) - now, policy)
                    continue
                if not poll_due:
                    # A deadline came first: one last look if our news is stale, then expire.
                    stale = self._last_polled_at is None or (
                        now - self._last_polled_at >= policy.min_interval
                    )
                    if stale:
                        await self._poll(cadence, policy)
                    self._expire(clock() + _DUE)
                    continue
                await self._poll(cadence, policy)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a bug must not leave awaiters hanging
            for waiter in list(self._waiters):
                waiter.finish(exc)
            self._waiters.clear()
            raise

    def _first_poll_at(self, now: float, cadence: Cadence) -> float:
        if self._created_at is None or self._face is not None:
            # Resumed by id, or re-awaited: we know nothing recent, so look now.
            return now
        # Created by this client moments ago: give an early failure a few seconds to show.
        return max(now, self._created_at + cadence.first_delay())

    async def _sleep(self, seconds: float, policy: PollPolicy) -> None:
        loop = asyncio.get_running_loop()
        wake: asyncio.Future[None] = loop.create_future()
        self._wake = wake
        try:
            if policy.uses_default_timing():
                # A timer and a future: far cheaper than a sleeping task per job.
                handle = loop.call_later(seconds, _resolve, wake)
                try:
                    await wake
                finally:
                    handle.cancel()
            else:
                sleeper = asyncio.ensure_future(policy.sleep(seconds))
                try:
                    await asyncio.wait({sleeper, wake}, return_when=asyncio.FIRST_COMPLETED)
                    if sleeper.done():
                        sleeper.result()  # an injected sleep that raised ends the wait
                finally:
                    if not sleeper.done():
                        sleeper.cancel()
                        # Swallows only the sleeper's own cancellation: ours, if any,
                        # propagates after this finally block.
                        with contextlib.suppress(asyncio.CancelledError):
                            await sleeper
        finally:
            self._wake = None

    async def _poll(self, cadence: Cadence, policy: PollPolicy) -> None:
        # The poll budget, and any client-wide Retry-After pause, decide when it goes.
        await self._acquire_slot(policy)
        self._hinted = False
        try:
            polled = await self._source.fetch(self.face_id, retry=False)
        except (APIConnectionError, APIStatusError, ResponseValidationError) as exc:
            now = policy.clock()
            self._last_polled_at = now
            if not _is_transient(exc):
                logger.warning("polling %s stopped: %s", self.face_id, exc)
                for waiter in list(self._waiters):
                    waiter.finish(exc)
                self._waiters.clear()
                return
            retry_after = getattr(exc, "retry_after", None)
            delay = cadence.after_error(retry_after=retry_after)
            logger.info("polling %s failed (%s); next try in %.1fs", self.face_id, exc, delay)
            self._next_poll_at = now + delay
            return
        now = policy.clock()
        self._last_polled_at = now
        self._accept(polled, cadence)
        if self._waiters:
            self._next_poll_at = now + cadence.after_success(now, retry_after=polled.retry_after)
            if self._hinted:  # a callback came while this read was in flight: read again
                self._next_poll_at = now

    def _accept(self, polled: Polled[FaceT], cadence: Cadence | None) -> None:
        face = polled.face
        previous = self._face
        changed = previous is None or _fingerprint(previous) != _fingerprint(face)
        self._face = face
        if cadence is not None:
            cadence.observe(cadence.policy.clock(), face, server_date=polled.server_date)
        if not face.status.is_known and changed:
            logger.warning(
                "face %s has an unknown status %r; still waiting", face.face_id, face.status.value
            )
        for waiter in list(self._waiters):
            if changed:
                if waiter.queue is not None:
                    waiter.queue.put_nowait(face)
                if waiter.on_update is not None:
                    _call_hook(waiter.on_update, face)
            outcome = settle(face, waiter.until)
            if outcome is not None:
                waiter.finish(outcome)
                self._waiters.remove(waiter)

    def _expire(self, now: float) -> None:
        for waiter in list(self._waiters):
            if waiter.deadline <= now:
                waiter.finish(
                    TrainingTimeoutError(
                        face_id=self.face_id, timeout=waiter.timeout, face=self._face
                    )
                )
                self._waiters.remove(waiter)


def _check_policy(policy: Any) -> PollPolicy:
    if not isinstance(policy, PollPolicy):
        msg = f"policy must be a PollPolicy, got {type(policy).__name__}"
        raise TypeError(msg)
    return policy


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # pragma: no cover - no running loop
        return None


def _call_hook(hook: OnUpdate, face: Face) -> None:
    try:
        result = hook(face)
    except Exception:
        logger.exception("on_update hook raised; the wait continues")
        return
    if inspect.isawaitable(result):
        task = asyncio.ensure_future(result)
        _HOOK_TASKS.add(task)
        task.add_done_callback(_hook_done)


_HOOK_TASKS: set[asyncio.Future[Any]] = set()


def _hook_done(task: asyncio.Future[Any]) -> None:
    _HOOK_TASKS.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("on_update hook raised; the wait continues", exc_info=task.exception())


async def as_completed(
    jobs: Iterable[TrainingJob[FaceT]],
    *,
    timeout: float | None = None,
    policy: PollPolicy | None = None,
) -> AsyncIterator[TrainingJob[FaceT]]:
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
