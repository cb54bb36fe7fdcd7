"""The waits that :mod:`backoff`'s generators pace, counted so that they can be replayed.

* *The ramp.* A wait starts at ``PollPolicy.initial_interval`` and grows by
  ``backoff_factor`` up to ``max_interval`` (:func:`backoff.expo`): the watch for failures
  that show within minutes of a create. A face first read hours after its creation starts
  it where a face of that age would be (:meth:`Backoffs.ramp_from`).
* *Faults.* Transient failures use their own :func:`backoff.expo` sequence, from
  ``error_initial_interval`` to ``error_max_interval``, reset by the next success.
* *Hints.* A ``Retry-After`` (through :func:`backoff.runtime`) is a lower bound on the next
  wait, honoured up to ``MAX_PAUSE``: a hint of days is a broken server, not a wish.

No clock: each call takes the next step. :mod:`tavus_async._cadence` decides when to call
them; a restored cadence replays as many steps as the state counts (:meth:`Backoffs.replay`).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import backoff

from ._policies import MAX_PAUSE, PollPolicy, jittered

__all__ = ["MAX_STEPS", "Backoffs"]

#: Ramp (and fault backoff) steps worth counting: by then either is long at its plateau. A
#: restored state replays at most as many, and a resumed face starts past at most as many.
MAX_STEPS = 64


def _primed(gen: Generator[Any, Any, None]) -> Generator[Any, Any, None]:
    next(gen)  # backoff's wait generators start with an empty step
    return gen


class Backoffs:
    """One job's ramp, fault backoff and server hints."""

    __slots__ = ("_error_waits", "_hint", "_policy", "_ramp", "errors", "ramp_steps")

    def __init__(self, policy: PollPolicy) -> None:
        self._policy = policy
        #: Steps of the ramp taken so far.
        self.ramp_steps = 0
        self._ramp = _primed(
            backoff.expo(
                base=policy.backoff_factor,
                factor=policy.initial_interval,
                max_value=policy.max_interval,
            )
        )
        #: Transient failures since the last success.
        self.errors = 0
        self._error_waits: Generator[Any, Any, None] | None = None
        # backoff.runtime turns a server hint into a wait; we use it as a lower bound.
        self._hint = _primed(backoff.runtime(value=lambda hint: hint or 0.0))

    def next_ramp(self) -> float:
        """The ramp's next cap on the delay."""
        self.ramp_steps += 1
        return float(next(self._ramp))

    def ramp_from(self, age: float) -> float:
        """The ramp's cap for a face first read ``age`` seconds after its creation: the steps
        a face of that age would have taken are behind it (at most ``MAX_STEPS``)."""
        cap = self.next_ramp()
        spent = 0.0
        while spent + cap <= age and self.ramp_steps < MAX_STEPS:
            spent += cap
            cap = self.next_ramp()
        return cap

    def hint(self, retry_after: float | None) -> float:
        """The least wait a server's ``Retry-After`` asks for (0 without one)."""
        return min(float(self._hint.send(retry_after)), MAX_PAUSE)

    def success(self) -> None:
        """A read succeeded: the fault backoff starts over."""
        self.errors, self._error_waits = 0, None

    def after_error(self, retry_after: float | None = None) -> float:
        """The jittered wait after one more transient failure, at least the hint's."""
        policy = self._policy
        if self._error_waits is None:
            self._error_waits = _primed(
                backoff.expo(
                    base=2,
                    factor=policy.error_initial_interval,
                    max_value=policy.error_max_interval,
                )
            )
        self.errors += 1
        delay = jittered(float(next(self._error_waits)), policy.jitter)
        return max(delay, self.hint(retry_after))

    def replay(self, *, ramp: int, errors: int) -> None:
        """Take the steps a saved cadence had taken (at most ``MAX_STEPS`` of each)."""
        for _ in range(min(errors, MAX_STEPS)):
            self.after_error()
        for _ in range(min(ramp, MAX_STEPS)):
            next(self._ramp)
        self.ramp_steps = ramp
