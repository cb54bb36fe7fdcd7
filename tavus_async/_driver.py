"""The polling behind a job: one driver per job, however many tasks await it.

However many tasks await a job, one driver task polls for all of them; each awaiter (a
:class:`~tavus_async._waiter.Waiter`) keeps its own deadline, ``until`` and hook. When the
last awaiter leaves (finished, timed out or cancelled) the driver stops. Cancelling an
awaiter only stops that wait: nothing is ever sent to cancel, delete or rename a training.

The driver asks its job (the small :class:`Subject` protocol) for its memory (the cadence,
:mod:`tavus_async._memory`), one read of the face, and to take in what a read brought;
everything about waiting is here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Generic, Protocol, TypeVar

from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    ClientClosedError,
    ResponseValidationError,
    TrainingTimeoutError,
)
from ._hub import JobHub
from ._memory import JobMemory
from ._models import Face
from ._outcome import Polled, Until, is_refusal, is_transient, settle
from ._policies import PollPolicy, check_deadline
from ._validation import check_choice
from ._waiter import Finished, OnUpdate, Waiter

__all__ = ["Driver", "Subject"]

logger = logging.getLogger("tavus_async")

#: Seconds within which a scheduled poll or deadline counts as due.
_DUE = 1e-3
#: Seconds (on the policy's clock) a last look, taken at a wait's deadline, may take. A read
#: in flight at the deadline is abandoned there: a wait ends on time, not when a slow
#: server answers (up to a minute later, at the request timeout).
LATE = 2.0
#: Failed reads in a row after which a wait says so at WARNING (once per run of failures):
#: a few are weather, and logged at INFO; ten (several minutes at the fault backoff) are an
#: outage, or a server whose answers this client cannot read.
FAILURES_TO_WARN = 10

FaceT = TypeVar("FaceT", bound=Face)


class Subject(Protocol[FaceT]):
    """What a driver needs of its job."""

    @property
    def face_id(self) -> str:
        """The face being waited for."""
        ...

    @property
    def face(self) -> FaceT | None:
        """The face as last read."""
        ...

    @property
    def safety_net(self) -> bool:
        """True when a callback is expected and polling is only a safety net."""
        ...

    @property
    def _memory(self) -> JobMemory:
        """The job's cadence and what it was created or restored with."""
        ...

    async def _read_once(self) -> Polled[FaceT]:
        """One read of the face, no retries."""
        ...

    def _accept(self, polled: Polled[FaceT], policy: PollPolicy) -> None:
        """Take in a successful read (updates the face, the cadence and the waiters)."""
        ...


class Driver(Generic[FaceT]):
    """Polls one job for all of its waiters, within the client's budget."""

    __slots__ = (
        "__weakref__",
        "_hub",
        "_job",
        "_task",
        "_wake",
        "hinted",
        "last_error",
        "last_polled_at",
        "next_poll_at",
        "waiters",
    )

    def __init__(self, job: Subject[FaceT], hub: JobHub) -> None:
        self._job = job
        self._hub = hub
        self.waiters: list[Waiter] = []
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Future[None] | None = None
        #: When the next poll is due (policy clock), once a wait has begun.
        self.next_poll_at: float | None = None
        #: When the face was last read, or a read failed (policy clock).
        self.last_polled_at: float | None = None
        #: A callback came while a read was in flight: read again right after it.
        self.hinted = False
        #: Why the last read failed, until a read succeeds.
        self.last_error: APIError | None = None

    def running_age(self) -> float | None:
        """How long the training has run, while this driver polls it (for the learner)."""
        if self._task is None or self._task.done():
            return None
        return self._job._memory.running_age()

    @property
    def face_id(self) -> str:
        """The face this driver polls."""
        return self._job.face_id

    # ------------------------------------------------------------------ waiters

    def enlist(
        self,
        *,
        timeout: float | None,
        policy: PollPolicy,
        until: Until,
        on_update: OnUpdate | None,
        queue: asyncio.Queue[Any] | None = None,
    ) -> Waiter | Finished:
        """Add a wait; start the driver task if it is not running."""
        check_choice("until", until, ("final", "preview"))
        limit = check_deadline("timeout", timeout) if timeout is not None else policy.timeout
        if self._hub.closed:
            msg = "the TavusClient is closed; create a new one to wait for this job"
            raise ClientClosedError(msg)
        face = self._job.face
        if face is not None:
            outcome = settle(face, until)
            if outcome is not None:
                # Already over: no request.
                return Finished(outcome)
        waiter = Waiter(
            deadline=policy.clock() + limit,
            timeout=limit,
            until=until,
            on_update=on_update,
            queue=queue,
        )
        self.waiters.append(waiter)
        if self._job.safety_net:
            self._hub.subscribe(self)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(policy), name=f"tavus-async poll {self.face_id}"
            )
            self._hub.track(self)
        else:
            self._poke()  # a new, perhaps earlier, deadline
        return waiter

    def dismiss(self, waiter: Waiter) -> None:
        """Remove a wait (finished, timed out or cancelled); stop polling after the last."""
        if waiter in self.waiters:
            self.waiters.remove(waiter)
        if not self.waiters:
            self._hub.unsubscribe(self)
            task = self._task
            if task is not None and not task.done() and task is not _current_task():
                # The last waiter left (cancelled or timed out): stop polling. The training
                # itself is untouched.
                task.cancel()

    def abort(self) -> asyncio.Task[None] | None:
        """End every wait with :class:`ClientClosedError` (the client is closing)."""
        error = ClientClosedError("the TavusClient was closed while waiting for this training")
        for waiter in list(self.waiters):
            waiter.finish(error)
        self.waiters.clear()
        self._hub.unsubscribe(self)
        task = self._task
        if task is not None and not task.done():
            task.cancel()
            return task
        return None

    def deliver(self, face: FaceT, *, changed: bool) -> None:
        """Show every waiter a face just read; finish those whose wait it ends."""
        for waiter in list(self.waiters):
            if changed:
                if waiter.queue is not None:
                    waiter.queue.put_nowait(face)
                waiter.notify(face)
            outcome = settle(face, waiter.until)
            if outcome is not None:
                waiter.finish(outcome)
                self.waiters.remove(waiter)

    # ------------------------------------------------------------------ callbacks bridge

    def poll_soon(self) -> None:
        """Schedule a read now (a callback said something changed)."""
        self._job._memory.hinted()  # the finish it may report came just before
        self.next_poll_at = float("-inf")
        # A poll already in flight would reschedule over this; the flag makes it read again.
        self.hinted = True
        self._poke()

    def _poke(self) -> None:
        wake = self._wake
        if wake is not None and not wake.done():
            wake.set_result(None)

    # ------------------------------------------------------------------ the loop

    async def _run(self, policy: PollPolicy) -> None:
        job = self._job
        clock = policy.clock
        try:
            while self.waiters:
                now = clock()
                if self.next_poll_at is None:
                    seen = job.face is not None
                    self.next_poll_at = job._memory.first_poll_at(now, policy, seen=seen)
                deadline = min(w.deadline for w in self.waiters)
                # "Due" within a millisecond: a timer may fire a hair before the float it was
                # set for, and re-sleeping for a sub-nanosecond remainder counts as ready at
                # once without moving the clock, a livelock under virtual time.
                poll_due = self.next_poll_at - now <= _DUE
                deadline_due = deadline - now <= _DUE
                if not poll_due and not deadline_due:
                    await self._sleep(min(self.next_poll_at, deadline) - now, policy)
                    continue
                if deadline_due:
                    # One last look if our news is stale (and no pause or budget holds it),
                    # then expire.
                    stale = self.last_polled_at is None or (
                        now - self.last_polled_at >= policy.min_interval
                    )
                    if stale:
                        await self._poll(policy, until=now + _DUE, answer_by=now + LATE)
                    self._expire(clock() + _DUE)
                    continue
                await self._poll(policy, until=deadline, answer_by=deadline)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # a bug must not leave awaiters hanging
            for waiter in list(self.waiters):
                waiter.finish(exc)
            self.waiters.clear()
            raise

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

    async def _poll(self, policy: PollPolicy, *, until: float, answer_by: float) -> None:
        # The poll budget, and any client-wide Retry-After pause, decide when it goes; one
        # they hold past `until` (a deadline) waits for it there instead (the loop expires
        # first). A read still unanswered at `answer_by` is abandoned, for the same reason.
        held = await self._hub.acquire_slot(policy, until=until)
        if held is not None:
            self.next_poll_at = held
            return
        self.hinted = False
        job = self._job
        try:
            polled = await self._read_by(answer_by, policy)
        except (APIConnectionError, APIStatusError, ResponseValidationError) as exc:
            now = policy.clock()
            self.last_polled_at = now
            unseen_for = job._memory.unseen_for(now, seen=job.face is not None)
            refused = is_refusal(self.last_error)
            if not is_transient(
                exc, unseen_for=unseen_for, seen=job._memory.seen(job.face), again=refused
            ):
                logger.warning("polling %s stopped: %s", self.face_id, exc)
                for waiter in list(self.waiters):
                    waiter.finish(exc)
                self.waiters.clear()
                return
            retry_after = getattr(exc, "retry_after", None)
            cadence = job._memory.cadence_for(policy)
            delay = cadence.after_error(retry_after=retry_after)
            self.last_error = exc
            # The fault backoff counts the failures in a row (a success resets it).
            failures = cadence.backoffs.errors
            level = logging.WARNING if failures == FAILURES_TO_WARN else logging.INFO
            logger.log(
                level,
                "polling %s failed (%d in a row: %s); next try in %.1fs",
                self.face_id,
                failures,
                exc,
                delay,
            )
            self.next_poll_at = now + delay
            return
        now = policy.clock()
        self.last_polled_at = now
        if polled is None:
            return  # abandoned at the deadline: the loop expires the waiters due
        self.last_error = None
        job._accept(polled, policy)
        if self.waiters:
            # After the accept: a restored state is in use now.
            cadence = job._memory.cadence_for(policy)
            self.next_poll_at = now + cadence.after_success(now, retry_after=polled.retry_after)
            if self.hinted:  # a callback came while this read was in flight: read again
                self.next_poll_at = now

    async def _read_by(self, until: float, policy: PollPolicy) -> Polled[FaceT] | None:
        """One read of the face, or ``None`` if ``until`` (policy clock) comes first: the
        read is then cancelled (a GET; nothing of the training is touched).

        Only on the loop's own clock: an injected clock and sleep may not move with the
        read (a virtual clock's sleep jumps at once), so the read is simply awaited there.
        """
        if not policy.uses_default_timing():
            return await self._job._read_once()
        read = asyncio.ensure_future(self._job._read_once())
        try:
            await asyncio.wait({read}, timeout=max(until - policy.clock(), 0.0))
            return read.result() if read.done() else None
        finally:
            if not read.done():
                read.cancel()
                # Swallows only the read's own cancellation: ours, if any, propagates after.
                with contextlib.suppress(asyncio.CancelledError):
                    await read

    def _expire(self, now: float) -> None:
        for waiter in list(self.waiters):
            if waiter.deadline <= now:
                waiter.finish(
                    TrainingTimeoutError(
                        face_id=self.face_id,
                        timeout=waiter.timeout,
                        face=self._job.face,
                        last_error=self.last_error,
                    )
                )
                self.waiters.remove(waiter)


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # pragma: no cover - no running loop
        return None
