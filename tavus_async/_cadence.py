"""When to poll next: a pure function of what a job has seen so far.

No I/O and no clock of its own: callers pass ``now`` (monotonic seconds) and the faces they
read. :class:`Cadence` turns that into the delay before the next poll.

* **Ramp.** Intervals grow from ``initial_interval`` by ``backoff_factor`` to the plateau
  ``max_interval`` (a :func:`backoff.expo` generator): an early failure is seen within
  seconds, and the long middle of a 3-4 hour training costs 12 polls an hour.
* **Estimate.** Once ``training_progress`` has moved, the finish (ETA) is estimated as the
  latest of: the average rate since an anchor (the face's ``created_at`` read against the
  server's ``Date`` header, so a job resumed in another process estimates at once; else the
  first observation), the rate over the recent past (a training that slows near the end is
  not declared overdue for an hour), and the last progress change plus half a typical step
  (at least one more step must happen, and it was seen up to a poll late).
* **Density.** Polling density proportional to the square root of the probability density
  of finishing minimises latency for a given number of requests. The finish is modelled as
  a heavy-tailed (Student-t-like) distribution around the estimate, of scale σ: the typical
  time between progress changes, since progress that moves every ten minutes cannot place
  the finish more precisely. The rule then gives polls spaced
  ``interval × √(σ / 10 min) × (1 + ((t − ETA)/σ)²)``, within ``[min_interval, ramp]``:
  densest around the estimate, thinning out quadratically on both sides, back to the plateau
  when progress stalls well past the estimate. The √σ (not σ) is the same rule across
  trainings: a finish spread over a longer window earns more polls, not only wider ones.
* **Last step.** ``training_progress`` counts whole percents, so at 99/100 the next change
  can only be the finish: ``interval`` is ``finish_interval`` there. Before it, the finish is
  usually at least one more step away, a step the estimate cannot place, so ``interval`` is
  the larger ``approach_interval``: most of the requests go where the finish actually is,
  and a training that completes without showing 99/100 is still seen within a minute or two.
* **Distrust.** A jump of a third of the scale in one step means the progress signal is too
  coarse to extrapolate; the estimate is ignored (plateau cadence) until progress moves
  normally again. Progress that goes backwards restarts the estimate.
* **Faults.** Transient failures use their own :func:`backoff.expo` sequence, reset by the
  next success. A ``Retry-After`` hint (through :func:`backoff.runtime`) is a lower bound.
* **Safety net.** With a callback to rely on, only a check right away, then polls from
  ``callback_safety_start`` (face age) every ``callback_safety_interval``.

Every delay is jittered with a floor (:func:`~tavus_async._policies.jittered`).
See ``benchmarks/request_economy.py`` for what this costs and buys.
"""

from __future__ import annotations

import collections
import datetime as dt
import math
from collections.abc import Generator
from typing import Any

import backoff

from ._models import Face
from ._policies import PollPolicy, jittered

__all__ = ["Cadence"]

#: A one-step progress change at least this large makes the estimate untrustworthy.
JUMP = 0.34
#: Minimum progress movement and time span before the rate is trusted.
MIN_MOVE = 0.04
MIN_SPAN = 60.0
#: Created-at ages outside this range are treated as clock trouble and ignored.
MAX_AGE = 14 * 24 * 3600.0
CLOCK_SLACK = 2.0
#: Floor of the uncertainty σ, and the horizon of the "recent" rate.
MIN_SIGMA = 60.0
RECENT_HORIZON = 1200.0
#: At the last progress change, the next change is at least this many σ away.
NEXT_STEP = 0.5
#: Change points kept for the recent rate (bounded memory per job).
KEEP_CHANGES = 24
#: Progress of the last step (99/100): the next change can only be the finish.
LAST_STEP = 0.99
#: The step time at which ``finish_interval`` and ``approach_interval`` apply as given.
REFERENCE_STEP = 600.0


def _primed(gen: Generator[Any, Any, None]) -> Generator[Any, Any, None]:
    next(gen)  # backoff's wait generators start with an empty step
    return gen


class Cadence:
    """Poll-delay decisions for one job. See the module docstring for the rules."""

    __slots__ = (
        "_anchor",
        "_changes",
        "_distrust",
        "_errors",
        "_hint",
        "_last",
        "_n_changes",
        "_policy",
        "_ramp",
        "created_at",
        "safety_net",
    )

    def __init__(self, policy: PollPolicy, *, safety_net: bool = False) -> None:
        self._policy = policy
        self.safety_net = safety_net
        self._ramp = _primed(
            backoff.expo(
                base=policy.backoff_factor,
                factor=policy.initial_interval,
                max_value=policy.max_interval,
            )
        )
        self._errors: Generator[Any, Any, None] | None = None
        # backoff.runtime turns a server hint into a wait; we use it as a lower bound.
        self._hint = _primed(backoff.runtime(value=lambda hint: hint or 0.0))
        self._anchor: tuple[float, float] | None = None  # (time, progress) origin
        self._last: tuple[float, float] | None = None  # (time first seen, progress)
        self._changes: collections.deque[tuple[float, float]] = collections.deque(
            maxlen=KEEP_CHANGES
        )
        self._n_changes = 0  # progress changes since the anchor
        self._distrust = False
        #: Local clock time at which the face was created, when it could be derived.
        self.created_at: float | None = None

    @property
    def policy(self) -> PollPolicy:
        """The policy this cadence follows."""
        return self._policy

    # ------------------------------------------------------------------ observations

    def observe(self, now: float, face: Face, *, server_date: dt.datetime | None) -> None:
        """Record a successful read of ``face`` at ``now``; resets the fault backoff."""
        self._errors = None
        if self.created_at is None and face.created_at is not None and server_date is not None:
            age = (server_date - face.created_at).total_seconds()
            # The Date header has whole seconds: a face read right after its creation can look
            # a second younger than zero.
            if -CLOCK_SLACK <= age <= MAX_AGE:
                self.created_at = now - max(age, 0.0)
        progress = face.progress
        if progress is None or not (face.status.is_known and not face.status.is_terminal):
            return
        if self._anchor is None:
            # Anchor at creation (progress 0) when known: includes the time already spent.
            origin = self.created_at
            self._anchor = (origin, 0.0) if origin is not None else (now, progress)
        if self._last is not None and progress == self._last[1]:
            return
        if self._last is not None:
            step = progress - self._last[1]
            if step < 0:
                # Progress went backwards: start estimating afresh from here.
                self._anchor, self._distrust = (now, progress), False
                self._changes.clear()
                self._n_changes = 0
            else:
                self._distrust = step >= JUMP
        self._last = (now, progress)
        self._changes.append(self._last)
        self._n_changes += 1

    def sigma(self) -> float:
        """Uncertainty of the estimate: the typical time between progress changes."""
        if self._anchor is None or self._last is None or self._n_changes < 2:
            return MIN_SIGMA
        return max(MIN_SIGMA, (self._last[0] - self._anchor[0]) / (self._n_changes - 1))

    def eta(self) -> float | None:
        """Estimated local clock time of the finish, or ``None`` when there is no estimate."""
        if self._anchor is None or self._last is None or self._distrust:
            return None
        (t0, p0), (t1, p1) = self._anchor, self._last
        moved, span = p1 - p0, t1 - t0
        if moved < MIN_MOVE or span < MIN_SPAN or p1 >= 1.0:
            return None
        estimate = t1 + (1.0 - p1) * span / moved
        # The recent rate wins when it is slower: trainings that slow down near the end.
        horizon = max(RECENT_HORIZON, 0.25 * span)
        recent = [c for c in self._changes if c[0] >= t1 - horizon]
        if len(recent) >= 2 and recent[-1][1] > recent[0][1]:
            rate = (recent[-1][1] - recent[0][1]) / (recent[-1][0] - recent[0][0])
            estimate = max(estimate, t1 + (1.0 - p1) / rate)
        return max(estimate, t1 + NEXT_STEP * self.sigma())

    # ------------------------------------------------------------------ delays

    def first_delay(self) -> float:
        """Delay before the first poll of a freshly created training."""
        return 0.0 if self.safety_net else self._policy.initial_interval

    def after_success(self, now: float, *, retry_after: float | None = None) -> float:
        """Delay before the next poll after a successful read at ``now``."""
        policy = self._policy
        if self.safety_net:
            delay = jittered(policy.callback_safety_interval, policy.jitter)
            if self.created_at is not None:
                # The start is a floor, never jittered earlier: before it, the callback is
                # expected and polling would only cost requests.
                delay = max(delay, self.created_at + policy.callback_safety_start - now)
            return max(delay, self._server_hint(retry_after))
        delay = float(next(self._ramp))
        eta = self.eta()
        if eta is not None and self._last is not None:
            sigma = self.sigma()
            last_step = self._last[1] >= LAST_STEP
            interval = policy.finish_interval if last_step else policy.approach_interval
            x = (now - eta) / sigma
            spacing = interval * math.sqrt(sigma / REFERENCE_STEP) * (1.0 + x * x)
            delay = min(delay, max(policy.min_interval, spacing))
        return max(jittered(delay, policy.jitter), self._server_hint(retry_after))

    def _server_hint(self, retry_after: float | None) -> float:
        return float(self._hint.send(retry_after))

    def after_error(self, *, retry_after: float | None = None) -> float:
        """Delay before retrying after a transient failure (connection, 5xx, 429, garbage)."""
        policy = self._policy
        if self._errors is None:
            self._errors = _primed(
                backoff.expo(
                    base=2,
                    factor=policy.error_initial_interval,
                    max_value=policy.error_max_interval,
                )
            )
        delay = jittered(float(next(self._errors)), policy.jitter)
        return max(delay, self._server_hint(retry_after))
