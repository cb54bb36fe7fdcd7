"""What every job of one client shares: the poll budget, callback routing, and what it learned.

**One scheduler per client.** Every job of a client takes its polls from one
:class:`PollLimiter` (at most ``max_polls_per_second`` in any window of one second), and a
``Retry-After`` seen by any request pauses them all (see :mod:`tavus_async._http`).

**Learning for free.** The hub keeps the duration prior the client has learned from
trainings it watched finish (told, for each new job, of those it still watches), and the
skew between the server's clock and ours seen on faces it created. Both correct the
estimates of later jobs; neither costs a request.

**A wall clock in step with the client's.** A face's ``created_at`` is read against the
server's ``Date``; from a server that sends none, against our own wall clock
(:meth:`JobHub.wall`): the epoch time read once per event loop, moved on by the loop's
(monotonic) clock, so that it keeps time with every deadline of the client, on virtual
time too.
"""

from __future__ import annotations

import asyncio
import collections
import time
import weakref
from collections.abc import Callable
from typing import Protocol

from ._policies import DURATION_BOUNDS, Clock, PollPolicy, Sleep, loop_clock
from ._prior import DurationLearner, DurationPrior

__all__ = ["BUDGET_MARGIN", "CLOSE_CHUNK", "HubJob", "JobHub", "PollLimiter"]

#: Waits ended per loop iteration when a client closes.
CLOSE_CHUNK = 256
#: Seconds for which the learned prior, told of the running trainings, is reused.
RUNNING_REFRESH = 60.0

#: Per event loop: (epoch seconds, loop time) when a client first read it (see JobHub.wall).
_WALL_REFS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[float, float]] = (
    weakref.WeakKeyDictionary()
)
#: The same per injected clock (the latest few: a test suite makes many), for clients that
#: share one: a client opened hours (of that clock) after another dates faces as it does.
_CLOCK_WALL_REFS: dict[Clock, tuple[float, float]] = {}
_MAX_CLOCK_WALL_REFS = 64


class HubJob(Protocol):
    """What the hub needs of a job it tracks."""

    @property
    def face_id(self) -> str:
        """The face the job waits for."""
        ...

    def poll_soon(self) -> None:
        """Read the face again now (a callback said something changed)."""
        ...

    def abort(self) -> asyncio.Task[None] | None:
        """End every wait of the job (the client is closing); its driver task, if running."""
        ...

    def running_age(self) -> float | None:
        """How long the training has run, while it is polled and its start is known."""
        ...


#: How much wider than the budget's window slots are spaced (a share of it): room for a poll
#: sent up to 20 ms late at the default budget (loop lag, a network's jitter before the server
#: counts it), for 2 % of the budget's throughput when it is saturated.
BUDGET_MARGIN = 0.02


class PollLimiter:
    """Client-wide poll budget: at most ``rate`` polls start in any one-second window.

    Slots are handed out in call order (``slot_k >= slot_{k-n} + window``), and a thousand
    jobs queue rather than storm. A poll goes out a little after its slot when the loop is
    busy (or a timer rounds): slots are spaced :data:`BUDGET_MARGIN` wider than the window,
    so that a late one never shares a second with the slot ``n`` after it. For rates below 1
    the window stretches: ``rate=0.5`` allows one poll in any two seconds.
    """

    __slots__ = ("_slots", "_window", "rate")

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        size = max(1, int(rate)) if rate else 1
        self._window = size / rate * (1.0 + BUDGET_MARGIN) if rate else 0.0
        self._slots: collections.deque[float] = collections.deque(maxlen=size)

    async def acquire(
        self,
        clock: Clock,
        sleep: Sleep,
        paused: Callable[[], float] = lambda: 0.0,
        *,
        tries: int | None = None,
        until: float | None = None,
    ) -> float | None:
        """Wait for this poll's slot: within the budget and after any client-wide pause.

        A pause (``Retry-After``) that begins while waiting sends the poll back for a new
        slot after it, so the polls held by the pause do not all fire when it ends. Pass
        ``tries`` to bound that with an injected clock, which may never move the pause's
        (loop) clock.

        Returns ``None`` once the slot is taken. With ``until`` (on ``clock``): a slot later
        than that is neither waited for nor taken, and its time is returned instead (a
        wait's deadline comes first).
        """
        attempt = 0
        while tries is None or attempt < tries:
            attempt += 1
            now = clock()
            slot = now + paused()
            if self.rate and len(self._slots) == self._slots.maxlen:
                slot = max(slot, self._slots[0] + self._window)
            if until is not None and slot > until:
                return slot
            if self.rate:
                self._slots.append(slot)
            if slot > now:
                await sleep(slot - now)
            if paused() <= 0:
                return None
        return None


def _no_pause() -> float:
    return 0.0


class JobHub:
    """Per-client job infrastructure: default policy, poll budget, running jobs, learning."""

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
        #: Learns the duration prior from trainings this client watched finish.
        self.learner = DurationLearner(DurationPrior.from_range(*policy.expected_duration))
        self._running_prior: tuple[tuple[int, int], DurationPrior] | None = None
        self._skews: collections.deque[float] = collections.deque(maxlen=5)
        self._jobs: weakref.WeakSet[HubJob] = weakref.WeakSet()
        #: Callback receiver bridge: set by the client when callbacks are enabled.
        self.callback_token: str | None = None
        self._subscriptions: dict[str, weakref.WeakSet[HubJob]] = {}
        # (epoch seconds, an injected policy clock) at one moment, if that clock cannot key
        # the shared references (see wall()). Taken now if a loop runs: a client opened
        # early dates the faces best on virtual time.
        self._wall_ref: tuple[float, float] | None = None
        self.wall(policy.clock)

    async def acquire_slot(
        self, policy: PollPolicy, *, until: float | None = None, pause: bool = True
    ) -> float | None:
        """Wait for a poll's turn within the budget and any ``Retry-After`` pause; ``None``
        once it has come, or, when it comes after ``until`` (on the policy's clock), that
        moment, not waited for. Without ``pause``, the request meets the pause instead (see
        :meth:`HTTPSession.request <tavus_async._http.HTTPSession.request>`)."""
        return await self.limiter.acquire(
            policy.clock,
            policy.sleep,
            self.pause_remaining if pause else _no_pause,
            tries=None if policy.uses_default_timing() else 3,
            until=until,
        )

    # ------------------------------------------------------------------ learning

    def prior_for(self, policy: PollPolicy) -> DurationPrior:
        """The duration prior a new cadence under ``policy`` starts from."""
        if policy.learn_duration and policy.expected_duration == self.policy.expected_duration:
            return self._learned(policy.clock)
        return DurationPrior.from_range(*policy.expected_duration)

    def _learned(self, clock: Clock) -> DurationPrior:
        """The learned prior, told of the trainings still running (recomputed at most once
        per ``RUNNING_REFRESH`` of the clock and per duration learned: a batch of a
        thousand jobs created at once asks for it a thousand times)."""
        learner = self.learner
        if not learner.observed:
            return learner.prior
        try:
            key: tuple[int, int] | None = (learner.observed, int(clock() // RUNNING_REFRESH))
        except RuntimeError:  # the default clock outside a running loop
            key = None
        cached = self._running_prior
        if key is not None and cached is not None and cached[0] == key:
            return cached[1]
        ages = [age for job in list(self._jobs) if (age := job.running_age()) is not None]
        prior = learner.with_running(ages)
        if key is not None:
            self._running_prior = (key, prior)
        return prior

    def expected_duration(self) -> tuple[float, float]:
        """The client's policy's ``expected_duration`` as learned so far (see the client)."""
        if not self.learner.observed:
            return self.policy.expected_duration
        try:
            prior = self._learned(self.policy.clock)
        except RuntimeError:  # the default clock outside a running loop: no ages to tell
            prior = self.learner.prior
        lowest, highest = DURATION_BOUNDS
        low, high = prior.as_range()
        # Whole seconds, within what PollPolicy accepts: it is meant to be passed back.
        return (
            float(min(max(round(low), lowest), highest)),
            float(min(max(round(high), lowest), highest)),
        )

    def learn(self, policy: PollPolicy, duration: float | None) -> None:
        """A training of ``duration`` seconds just finished under ``policy``."""
        if duration is not None and policy.learn_duration:
            self.learner.learn(duration)

    def note_skew(self, skew: float) -> None:
        """How far the server's ``created_at``-based age was from ours on a face we created."""
        self._skews.append(skew)

    @property
    def clock_skew(self) -> float | None:
        """The median of the recent skews (seconds), or ``None`` before any."""
        if not self._skews:
            return None
        ordered = sorted(self._skews)
        return ordered[len(ordered) // 2]

    def wall(self, clock: Clock) -> float | None:
        """Our wall clock (epoch seconds) as of ``clock()``: read once, then moved on by
        ``clock``. ``None`` for another clock than the client's, or outside a loop.

        The reading is taken once per event loop for the default clock, once per clock for
        an injected one, so that every client on a loop (or clock) keeps the same time, on
        virtual time too: a client opened three virtual hours in does not think it is three
        hours earlier than the first one, and dates the faces that one created as it would.
        """
        if clock != self.policy.clock:
            return None
        try:
            now = clock()
        except RuntimeError:  # the default clock outside a running loop
            return None
        if clock == loop_clock:
            ref = _WALL_REFS.setdefault(asyncio.get_running_loop(), (time.time(), now))
        else:
            ref = self._clock_ref(clock, now)
        epoch, then = ref
        return epoch + (now - then)

    def _clock_ref(self, clock: Clock, now: float) -> tuple[float, float]:
        try:
            ref = _CLOCK_WALL_REFS.get(clock)
        except TypeError:  # an unhashable callable: this client keeps its own
            if self._wall_ref is None:
                self._wall_ref = (time.time(), now)
            return self._wall_ref
        if ref is None:
            if len(_CLOCK_WALL_REFS) >= _MAX_CLOCK_WALL_REFS:
                del _CLOCK_WALL_REFS[next(iter(_CLOCK_WALL_REFS))]
            ref = _CLOCK_WALL_REFS[clock] = (time.time(), now)
        return ref

    # ------------------------------------------------------------------ running jobs

    def track(self, job: HubJob) -> None:
        """Remember a job with a running driver so that close() can end it."""
        self._jobs.add(job)

    def subscribe(self, job: HubJob) -> None:
        """Route callbacks for ``job.face_id`` to ``job``."""
        self._subscriptions.setdefault(job.face_id, weakref.WeakSet()).add(job)

    def unsubscribe(self, job: HubJob) -> None:
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
            driver = job.abort()
            if driver is not None:
                drivers.append(driver)
            if count % CLOSE_CHUNK == 0:
                # Ten thousand waits end in slices: the loop keeps serving everyone else.
                await asyncio.sleep(0)
        if drivers:
            await asyncio.gather(*drivers, return_exceptions=True)
