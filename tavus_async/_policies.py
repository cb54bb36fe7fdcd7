"""Public knobs for everything that waits: :class:`RetryPolicy` and :class:`PollPolicy`.

Both are frozen attrs classes. Every wait they govern goes through their ``sleep`` (and, for
polling, their ``clock``), so tests can make hours pass in no time: either inject a fake
``clock``/``sleep`` pair, or keep the defaults (which read the event loop's clock) and run
under virtual loop time such as the ``looptime`` pytest plugin.

The per-request HTTP timeout (``TavusClient(timeout=…)``) is a different clock from the
training deadline (``PollPolicy.timeout``); one never stands in for the other.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import attrs
import backoff

from ._errors import InvalidArgumentError

__all__ = ["MAX_PAUSE", "PollPolicy", "RetryPolicy", "jittered", "loop_clock", "scaled_policy"]

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

#: Longest deadline accepted anywhere: beyond this a "timeout" is a bug, not a wish.
MAX_DEADLINE = 30 * 24 * 3600.0
#: Longest wait a ``Retry-After`` may impose (a client-wide pause, a job's next poll). A
#: longer one is asked again after this long: if it was meant, the server answers 429 again,
#: for one request; if it was bogus or misread (an HTTP date on another clock than the
#: ``Date`` beside it), the wait has lost ten minutes, not hours.
MAX_PAUSE = 600.0


def loop_clock() -> float:
    """Monotonic seconds from the running event loop's clock (``loop.time()``).

    Using the loop's own clock keeps our deadlines consistent with asyncio's timers, and
    makes virtual loop time (e.g. ``looptime``) apply to tavus_async without any setup.
    """
    return asyncio.get_running_loop().time()


def jittered(value: float, jitter: float) -> float:
    """``value`` with up to ``jitter`` (a fraction) taken off at random, never below a floor.

    Built on :func:`backoff.full_jitter`; unlike full jitter, the result stays within
    ``[value * (1 - jitter), value]``, so a wait is never near zero.
    """
    if value <= 0 or jitter <= 0:
        return max(value, 0.0)
    return value * (1.0 - jitter) + backoff.full_jitter(value * jitter)


def _positive(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _check_number(attribute.name, value)
    if value <= 0:
        msg = f"{attribute.name} must be > 0, got {value!r}"
        raise InvalidArgumentError(msg)


def _optional_positive(inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _positive(inst, attribute, value)


def _non_negative(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _check_number(attribute.name, value)
    if value < 0:
        msg = f"{attribute.name} must be >= 0, got {value!r}"
        raise InvalidArgumentError(msg)


def _fraction(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    _check_number(attribute.name, value)
    if not 0 <= value < 1:
        msg = f"{attribute.name} must be in [0, 1), got {value!r}"
        raise InvalidArgumentError(msg)


def _check_number(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"{name} must be a number of seconds, got {type(value).__name__}"
        raise TypeError(msg)
    if not math.isfinite(value):
        msg = f"{name} must be finite, got {value!r}"
        raise InvalidArgumentError(msg)


def check_deadline(name: str, value: Any) -> float:
    """Validate a deadline in seconds: a finite number in ``(0, 30 days]``."""
    _check_number(name, value)
    if not 0 < value <= MAX_DEADLINE:
        msg = f"{name} must be > 0 and at most {MAX_DEADLINE:g}s (30 days), got {value!r}"
        raise InvalidArgumentError(msg)
    return float(value)


def _deadline(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    check_deadline(attribute.name, value)


#: Durations a prior may be centred on: a minute to two days.
DURATION_BOUNDS = (60.0, 48 * 3600.0)


def _pair(value: Sequence[float]) -> tuple[float, float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        msg = f"expected_duration must be (low, high) in seconds, got {type(value).__name__}"
        raise TypeError(msg)
    if len(value) != 2:
        msg = f"expected_duration must be (low, high) in seconds, got {value!r}"
        raise InvalidArgumentError(msg)
    return (value[0], value[1])


def _duration_range(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    for item in value:
        _check_number(attribute.name, item)
    low, high = value
    lowest, highest = DURATION_BOUNDS
    if not lowest <= low <= high <= highest:
        msg = (
            f"{attribute.name} must be (low, high) seconds with "
            f"{lowest:g} <= low <= high <= {highest:g}, got {value!r}"
        )
        raise InvalidArgumentError(msg)


def _callable(_inst: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not callable(value):
        msg = f"{attribute.name} must be callable, got {type(value).__name__}"
        raise TypeError(msg)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How single requests are retried (connection errors, timeouts, 408, 429, 5xx).

    Only idempotent requests (GET, DELETE, PATCH) are retried after they may have reached
    the server. A create (POST) is retried only when the connection provably failed before
    anything was sent, because a second create could start and bill a second training.

    Delays grow exponentially (:func:`backoff.expo`) with jitter that keeps a floor, and a
    ``Retry-After`` header wins when it asks for longer. ``sleep`` is injectable so tests
    never wait.

    Raises:
        InvalidArgumentError: for out-of-range values (``TypeError`` for wrong types).
    """

    max_attempts: int = attrs.field(default=3)
    """Attempts in total, the first included; ``1`` disables retries."""
    initial_delay: float = attrs.field(default=0.5, validator=_positive)
    """Delay before the first retry, in seconds."""
    max_delay: float = attrs.field(default=8.0, validator=_positive)
    """Longest delay between retries, in seconds."""
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    """A ``Retry-After`` longer than this is not waited out: the error is raised instead."""
    jitter: float = attrs.field(default=0.5, validator=_fraction)
    """Fraction of each delay that is randomised (the rest is a floor)."""
    sleep: Sleep = attrs.field(default=asyncio.sleep, validator=_callable, repr=False)
    """Awaitable sleep used between attempts."""

    @max_attempts.validator
    def _check_attempts(self, attribute: attrs.Attribute[int], value: int) -> None:
        if isinstance(value, bool) or not isinstance(value, int):
            msg = f"max_attempts must be an int, got {type(value).__name__}"
            raise TypeError(msg)
        if not 1 <= value <= 100:
            msg = f"max_attempts must be between 1 and 100, got {value}"
            raise InvalidArgumentError(msg)

    def delays(self) -> Iterator[float]:
        """The un-jittered delay before each retry: ``initial_delay`` doubling to ``max_delay``."""
        wait = backoff.expo(base=2, factor=self.initial_delay, max_value=self.max_delay)
        next(wait)  # backoff's generators are primed with one empty step
        for _ in range(self.max_attempts - 1):
            yield float(next(wait))


@attrs.frozen(kw_only=True)
class PollPolicy:
    """The cadence and deadline of waiting for a training.

    Where polls go follows one rule (Keller's optimal checking schedule): poll density
    proportional to the square root of the *hazard* of the finish, the chance that it
    happens in the next moment given that it has not happened yet. The belief about the
    finish mixes a **duration prior** (``expected_duration``, learned from trainings the
    client watched) with what ``training_progress`` predicts, each weighed by how well it
    has predicted so far (see ``tavus_async._pricing``). Two prices set how much a second of
    detection is worth:

    * ``finish_interval``: the spacing where progress places the finish, when it is expected
      within about ten minutes;
    * ``window_interval``: the spacing in the middle of ``expected_duration`` when progress
      says nothing. While it says nothing and the face's age is known, no spacing inside
      the window of ``expected_duration`` is more than 1.3 times it (progress that places
      the finish relaxes that, as far as it speaks for the belief).

    Around them: the first poll comes ``initial_interval`` after the create, intervals grow by
    ``backoff_factor`` up to ``max_interval`` (for a face resumed with a server age, counted
    from its creation), which keeps watching for failures (a training
    that fails mid-way is seen within one ``max_interval``); no interval is shorter than
    ``min_interval``. Past the window ``expected_duration`` spans (the prior's 90th
    percentile: about 4.35 h for 3-4 h), no wait is longer than 0.9 of the average spacing
    of the reads so far, so a training that runs long is seen no later than by a fixed
    poller spending as many requests. A ``Retry-After`` on any response is honoured up to
    ten minutes; a longer one is asked again then (a broken server's would end the wait in
    all but name).
    Every delay is jittered by up to ``jitter`` with a floor (half of it at
    ``max_interval``), so many jobs do not poll in lockstep.

    Transient failures (connection errors, timeouts, 408, 429, 5xx, malformed bodies) never
    end a wait: they are retried with their own backoff, from ``error_initial_interval`` to
    ``error_max_interval``, until the deadline.

    A job whose callback URL routes to this client's callback receiver polls only as a
    safety net: once right after the wait starts, then from ``callback_safety_start``
    (measured from the face's creation) every ``callback_safety_interval``.

    ``clock`` (monotonic seconds) and ``sleep`` are injectable: with a fake pair a 4-hour
    training is simulated in milliseconds. The defaults read the event loop's clock.

    Raises:
        InvalidArgumentError: for out-of-range values (``TypeError`` for wrong types).
    """

    initial_interval: float = attrs.field(default=5.0, validator=_positive)
    """Delay before the first poll, in seconds."""
    max_interval: float = attrs.field(default=360.0, validator=_positive)
    """Plateau: the longest delay between polls, in seconds (the failure watch: a training
    that fails mid-way is seen after half of it on average)."""
    min_interval: float = attrs.field(default=5.0, validator=_positive)
    """Densest polling, near the estimated finish, in seconds."""
    backoff_factor: float = attrs.field(default=2.0, validator=_positive)
    """Growth of the interval from ``initial_interval`` to the plateau."""
    expected_duration: tuple[float, float] = attrs.field(
        default=(3 * 3600.0, 4 * 3600.0), converter=_pair, validator=_duration_range
    )
    """How long trainings usually take, ``(low, high)`` in seconds (Tavus documents 3-4 h):
    the central range of the duration prior. The client refines it from trainings it watches
    finish (see ``learn_duration``)."""
    finish_interval: float = attrs.field(default=22.0, validator=_positive)
    """Spacing of polls, in seconds, where progress expects the finish within about ten
    minutes. Lower: earlier detection, more requests."""
    window_interval: float = attrs.field(default=85.0, validator=_positive)
    """Spacing of polls, in seconds, in the middle of ``expected_duration`` when progress
    says nothing. Lower: earlier detection of silent trainings, more requests."""
    min_average_interval: float | None = attrs.field(default=None, validator=_optional_positive)
    """A hard cap under the cadence, off by default: whatever progress does, reads average
    no more than one per this many seconds since the first read (after ``FREE_READS``, 4,
    for the start), so a wait never costs more than a fixed poller at this interval plus 4
    reads. Where the cap binds, reads are this far apart, which costs latency when the
    belief spent early (see the Waiting guide). Never tighter than ``max_interval``."""
    learn_duration: bool = attrs.field(default=True, validator=attrs.validators.instance_of(bool))
    """Refine the duration prior from trainings this client watched finish (no requests are
    spent on it). Turn off when trainings of very different lengths share one client."""
    jitter: float = attrs.field(default=0.2, validator=_fraction)
    """Fraction of each delay that is randomised (the rest is a floor)."""
    error_initial_interval: float = attrs.field(default=2.0, validator=_positive)
    """First retry delay after a transient failure, in seconds."""
    error_max_interval: float = attrs.field(default=60.0, validator=_positive)
    """Longest retry delay after repeated transient failures, in seconds."""
    timeout: float = attrs.field(default=8 * 3600.0, validator=_deadline)
    """Overall deadline of a wait, in seconds; then :class:`TrainingTimeoutError`."""
    callback_safety_start: float = attrs.field(default=4 * 3600.0, validator=_non_negative)
    """With a callback: face age at which safety-net polling starts, in seconds."""
    callback_safety_interval: float = attrs.field(default=900.0, validator=_positive)
    """With a callback: interval of the safety-net polls, in seconds."""
    clock: Clock = attrs.field(default=loop_clock, validator=_callable, repr=False)
    """Monotonic clock in seconds (default: the running loop's ``time()``)."""
    sleep: Sleep = attrs.field(default=asyncio.sleep, validator=_callable, repr=False)
    """Awaitable sleep (default: :func:`asyncio.sleep`)."""

    def __attrs_post_init__(self) -> None:
        if self.min_interval > self.max_interval:
            msg = (
                f"min_interval ({self.min_interval}) must not exceed "
                f"max_interval ({self.max_interval})"
            )
            raise InvalidArgumentError(msg)
        if self.error_initial_interval > self.error_max_interval:
            msg = "error_initial_interval must not exceed error_max_interval"
            raise InvalidArgumentError(msg)
        if self.backoff_factor < 1:
            msg = f"backoff_factor must be >= 1, got {self.backoff_factor}"
            raise InvalidArgumentError(msg)

    @classmethod
    def fixed(cls, interval: float, **options: Any) -> PollPolicy:
        """A plain fixed-interval poller: a read every ``interval`` seconds from the start,
        with no ramp, no estimate and no jitter (the baseline the benchmarks compare with).

        ``options`` sets any other field (``timeout``, ``clock``, ``sleep``…).

        Raises:
            InvalidArgumentError: for out-of-range values (``TypeError`` for wrong types).
        """
        fixed: dict[str, Any] = {
            "initial_interval": interval,
            "min_interval": interval,
            "max_interval": interval,
            "backoff_factor": 1.0,
            "jitter": 0.0,
            "learn_duration": False,
            # Prices so high that the belief never asks for a read before the interval.
            "window_interval": 1e6,
            "finish_interval": 1e6,
        }
        return cls(**{**fixed, **options})

    def uses_default_timing(self) -> bool:
        """True when clock and sleep are the event loop's own (timers can be used directly)."""
        return self.clock is loop_clock and self.sleep is asyncio.sleep


def scaled_policy(speed: float, **overrides: Any) -> PollPolicy:
    """A PollPolicy whose clock runs ``speed`` times faster than the loop's.

    Against an emulator started with the same speed, the cadence, the deadline and the
    number of requests are those of the real multi-hour wait; only the waiting is shorter.
    """

    def clock() -> float:
        return loop_clock() * speed

    async def sleep(seconds: float) -> None:
        await asyncio.sleep(seconds / speed)

    return PollPolicy(clock=clock, sleep=sleep, **overrides)
