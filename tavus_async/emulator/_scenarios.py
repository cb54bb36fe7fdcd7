"""Training scenarios: how long a face trains, how its progress moves, how it ends.

A :class:`Scenario` is pure data; :meth:`Scenario.state_at` computes a face's status,
progress, error and tuning stage at any elapsed time, so the emulator needs no timers.
Progress curves are step functions with plateaus (real progress "may sit at the same
percentage for a long step"), and the ``realistic`` curve varies per face, seeded.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable, Sequence
from typing import Any

import attrs

__all__ = [
    "CURVES",
    "DRAWN",
    "ERROR_MESSAGES",
    "SCENARIOS",
    "FaceState",
    "Rule",
    "Scenario",
    "make_curve",
    "resolve_scenario",
]

# Training error types (reference §8.3) and the kind of message Tavus sends with them.
ERROR_MESSAGES: dict[str, str] = {
    "download_link": "We could not download your training video; check that the link is public.",
    "file_size": "The training video is larger than 750 MB (file_size).",
    "video_format": "The training video is not an .mp4 file (video_format).",
    "video_codec": "The training video is not encoded with H.264 (video_codec).",
    "video_duration": (
        "There was an issue processing your training video. The video provided does not "
        "meet the minimum duration requirement for training"
    ),
    "video_fps": "The training video has fewer than 25 frames per second (video_fps).",
    "consent_phrase_mismatch": "The consent statement does not match (consent_phrase_mismatch).",
    "face_or_obstruction_detected": "The face is obstructed (face_or_obstruction_detected).",
    "lighting_change_detected": "Lighting changes during the video (lighting_change_detected).",
    "background_noise_detected": "Background noise detected (background_noise_detected).",
    "second_person_detected": "A second person is visible (second_person_detected).",
    "excessive_movement_detected": "Too much movement (excessive_movement_detected).",
    "video_processing": "The face is too small or occluded (video_processing).",
    "quality_issue_detected": "Video quality is too low (quality_issue_detected).",
}
"""Training error types (Tavus's documented list) and the message the emulator sends."""

Points = tuple[tuple[float, int], ...]


def _line(start: float, end: float, low: int, high: int) -> Points:
    """Whole percents from ``low`` to ``high``, evenly spread over ``[start, end)``."""
    count = high - low + 1
    return tuple((start + (end - start) * i / count, low + i) for i in range(count))


def _sigmoid() -> Points:
    # A logistic curve: slow start, fast middle, and steps that keep getting longer at the end.
    points: list[tuple[float, int]] = [(0.0, 0)]
    for percent in range(1, 100):
        fraction = 0.5 + math.log(percent / (100 - percent)) / 12.0
        points.append((max(fraction, points[-1][0]), percent))
    return tuple(points)


def _sampled(shape: Callable[[float], float], top: int = 99) -> Points:
    """Whole percents of ``shape`` (fraction of the training -> fraction done), sampled finely."""
    points: list[tuple[float, int]] = [(0.0, 0)]
    for i in range(1, 1000):
        percent = min(top, int(100 * shape(i / 1000)))
        if percent > points[-1][1]:
            points.append((i / 1000, percent))
    return tuple(points)


# Step curves: (fraction of the training time, progress percent reached at that fraction).
# Progress holds each value until the next point: long plateaus, uneven steps.
CURVES: dict[str, Points] = {
    "linear": tuple((i / 100, i) for i in range(100)),
    "plateaus": (
        (0.0, 0),
        (0.06, 3),
        (0.10, 10),
        (0.16, 12),
        (0.30, 45),
        (0.52, 47),
        (0.60, 60),
        (0.70, 75),
        (0.83, 80),
        (0.90, 94),
        (0.96, 99),
    ),
    "slow_finish": tuple((0.6 * i / 90, i) for i in range(0, 91, 3))
    + tuple((0.6 + 0.4 * (i - 90) / 10, i) for i in range(91, 100)),
    # Shapes built to break a cadence: progress that says nothing, or says the wrong thing.
    "silent": ((0.0, 0),),
    "queue_first": ((0.0, 0), *_line(0.3, 1.0, 1, 99)),
    # A queue for 90 % of the training, then a steady climb to 99/100 in its last tenth: the
    # climb's pace is its own (forecast from the whole time since creation, it was ten times
    # too slow, see "A queue is no work" in docs/cadence-log.md).
    "late_climb": ((0.0, 0), *_line(0.9, 1.0, 1, 99)),
    "stall_last": _line(0.0, 0.6, 0, 99),
    # 99/100 from 80 % or 90 %: a last step as long as 25 or 12 of the even steps before it,
    # late enough that a stall there is plausible (see "A long last step" in docs/cadence-log.md).
    "stall_last_20": _line(0.0, 0.8, 0, 99),
    "stall_last_10": _line(0.0, 0.9, 0, 99),
    "hundred_early": _line(0.0, 0.8, 0, 100),
    "stall_mid": (*_line(0.0, 0.25, 0, 50), *_line(0.65, 1.0, 51, 99)),
    "sigmoid": _sigmoid(),
    # Decelerating: each step longer than the last, 99/100 from 78 % of the training on.
    "ease_out": _sampled(lambda x: 1.0 - (1.0 - x) ** 3),
    # Creeping towards the end and never getting there: 98/100 when the training completes.
    "asymptote": _sampled(lambda x: 1.0 - math.exp(-4.0 * x)),
    "coarse": ((0.0, 0), (0.25, 25), (0.5, 50), (0.75, 75)),
    "jump_finish": tuple((i / 100, i) for i in range(0, 91, 5)),
    "early_done": _line(0.0, 1.0, 0, 60),
    # Steady, and completes at 80/100: progress's own forecast of the finish, a quarter too
    # late, still falls where trainings usually end.
    "done_at_80": _line(0.0, 1.0, 0, 80),
    # A steady approach that stops at 90/100 for the last 10 % and completes there.
    "stops_at_90": _line(0.0, 0.9, 0, 90),
    "backwards": (*_line(0.0, 0.4, 0, 80), *_line(0.4, 1.0, 0, 99)),
    # Progress per stage: three stages, each from 0/100 to 99/100, each seeming to finish.
    "stages": tuple(point for k in range(3) for point in _line(k / 3, (k + 1) / 3, 0, 99)),
    "stuck_low": ((0.0, 0), (0.05, 10)),
    # Accelerating (progress as the square of time): every rate seen so far is slower than
    # the one to come, so a forecast from it places the finish too late.
    "accelerating": _sampled(lambda x: x * x),
    # Ten even steps of ten points to 100/100 at 80 % of the training, then 100/100 for the
    # last fifth: a last step as long as two and a half of the steps before it, each
    # seventeen minutes or more, so that every forecast of the finish is a long one.
    "deciles": tuple((0.08 * i, 10 * i) for i in range(11)),
    # The same climb to 99/100, by a step shorter than the others: a count held at its
    # ceiling, which the cadence reads as 100/100 (see docs/cadence-log.md, "Even staircases").
    "deciles_99": tuple((0.08 * i, min(10 * i, 99)) for i in range(11)),
    # Finer and coarser climbs to a last value held for the last 30 % or 25 %: twenty steps
    # of five points to 99/100 at 70 %, five steps of twenty points to 99/100 at 75 %. Held
    # out of every tuning of the cadence: invented to try it, and kept as found.
    "twentieths_99": tuple((0.035 * i, min(5 * i, 99)) for i in range(21)),
    "fifths_99": ((0.0, 0), (0.15, 20), (0.30, 40), (0.45, 60), (0.60, 80), (0.75, 99)),
    # Nine even steps of ten points to 90/100 by 70 % or 80 %, then 90/100 for the last 30 %
    # or 20 %: one more step is forecast, and none comes (the held-out families' misses,
    # see docs/cadence-log.md). No ceiling: ten points short of the end.
    "holds_90_30": tuple((0.7 * i / 9, 10 * i) for i in range(10)),
    "holds_90_20": tuple((0.8 * i / 9, 10 * i) for i in range(10)),
    # Steady progress rounded to the nearest point, not down: 100/100 for the last half
    # percent of the training, while the status still says "started".
    "rounded": ((0.0, 0), *((i / 100 - 0.005, i) for i in range(1, 101))),
}
"""Named progress curves: ``(fraction of the training, percent)`` steps."""


def _random_curve(rng: random.Random) -> Points:
    """A curve no one tuned for: random knots, queue, last value, grain and noise.

    Piecewise linear through two to six random knots, after a queue at 0 (one time in
    three), up to a last value (60 to 100) the training completes at; read in steps of 1,
    5, 10 or 25 points; one time in five, up to 2 or 5 points off either way.
    """
    count = rng.randint(2, 6)
    xs = sorted(rng.random() for _ in range(count))
    ys = sorted(rng.random() for _ in range(count))
    last = rng.choice((99, 99, 99, 100, 95, 90, 80, 60))
    queue = rng.choice((0.0, 0.0, rng.uniform(0.0, 0.3)))
    noise = rng.choice((0, 0, 0, 2, 5))
    grain = rng.choice((1, 1, 5, 10, 25))
    knots = [(0.0, 0.0), (queue, 0.0)]
    knots += [(queue + (1.0 - queue) * x, y * last) for x, y in zip(xs, ys, strict=True)]
    knots.append((1.0, float(last)))
    steps = []
    for i in range(200):
        x = i / 200
        k = max(1, bisect.bisect_left([k[0] for k in knots], x))
        (x0, y0), (x1, y1) = knots[k - 1], knots[min(k, len(knots) - 1)]
        level = y0 if x1 <= x0 else y0 + (y1 - y0) * (x - x0) / (x1 - x0)
        value = int(level // grain * grain)
        if noise:
            value += rng.randint(-noise, noise)
        steps.append((x, max(0, min(last, value))))
    return tuple(steps)


def _phases(queue: float, hold: float, last: int, grain: int, rates: Sequence[float]) -> Points:
    """0/100 for ``queue``; then one phase per rate (0: a stall), sharing the climb to
    ``last`` in proportion, read in steps of ``grain`` points; ``last`` held for the final
    ``hold`` of the training."""
    total = sum(rates) or 1.0
    span = (1.0 - hold - queue) / len(rates)
    points, level = [(0.0, 0)], 0.0
    for k, rate in enumerate(rates):
        for i in range(1, 51):
            value = min(last, int((level + last * rate / total * i / 50) // grain * grain))
            if value > points[-1][1]:
                points.append((queue + span * (k + i / 50), value))
        level += last * rate / total
    if points[-1][1] < last:
        points.append((1.0 - hold, last))
    return tuple(points)


def _phased_curve(rng: random.Random) -> Points:
    """A climb in phases no one tuned for: a queue at 0 (one time in two), one to four
    phases of different rates (stalls among them), a grain of 1 to 33 points, a last value
    (60 to 100) held for up to 45 % of the training."""
    queue = rng.choice((0.0, rng.uniform(0.0, 0.4)))
    hold = rng.uniform(0.0, 0.45)
    last = rng.choice((99, 100, 60, 80, 95))
    grain = rng.choice((1, 2, 5, 10, 20, 25, 33))
    rates = [rng.choice((0.0, 0.3, 1.0, 4.0)) for _ in range(rng.randint(1, 4))]
    return _phases(queue, hold, last, grain, rates)


def _noisy_curve(rng: random.Random) -> Points:
    """Follows the clock, but reads up to eight points off, in both directions."""
    return tuple((i / 100, max(0, min(99, i + rng.randint(-8, 8)))) for i in range(100))


def _realistic_curve(rng: random.Random) -> Points:
    """Uneven steps and plateaus, after a queue at 0, to a final plateau at the end."""
    points: list[tuple[float, int]] = [(0.0, 0)]
    progress, t = 0, rng.uniform(0.02, 0.08)  # queued / downloading at 0 first
    while progress < 99 and t < 0.995:
        # Mostly small steps, sometimes a long plateau, sometimes a jump.
        progress = min(99, progress + rng.choice((1, 1, 2, 3, 5, 8, 13)))
        points.append((t, progress))
        t += rng.choice((0.004, 0.008, 0.012, 0.02, 0.04, 0.08)) * rng.uniform(0.5, 1.5)
    total = points[-1][0] if points[-1][0] > 0 else 1.0
    # Stretch so the last step lands in the last 2-8 % of the training (a final plateau).
    end = rng.uniform(0.92, 0.98)
    return tuple((f / total * end, p) for f, p in points)


_DRAWERS: dict[str, Callable[[random.Random], Points]] = {
    "realistic": _realistic_curve,
    "noisy": _noisy_curve,
    "random": _random_curve,
    "phased": _phased_curve,
}
#: Curves drawn per face from its seed (see :func:`make_curve`).
DRAWN = tuple(_DRAWERS)


def make_curve(name: str, rng: random.Random) -> Points:
    """A named curve; ``realistic``, ``noisy``, ``random`` and ``phased`` are drawn per face
    from ``rng``.

    ``realistic`` has uneven steps and plateaus; ``noisy`` follows the clock but reads up to
    eight points off, in both directions; ``random`` is a new shape for every face (random
    knots, queue, last value from 60 to 100, grain and noise); ``phased`` is a new climb in
    phases for every face (a queue, one to four rates or stalls, a grain, a last value held
    for up to 45 % of the training).

    Raises:
        ValueError: an unknown name.
    """
    drawer = _DRAWERS.get(name)
    if drawer is not None:
        return drawer(rng)
    try:
        return CURVES[name]
    except KeyError:
        known = ", ".join(sorted([*CURVES, *DRAWN]))
        msg = f"unknown curve {name!r}; known: {known}"
        raise ValueError(msg) from None


@attrs.frozen(kw_only=True)
class FaceState:
    """A face's training state at one moment."""

    status: str
    progress: int
    error_message: str | None = None
    finetune_status: str | None = None
    done_at: float | None = None
    """Elapsed seconds at which the current stage ends (for callbacks)."""


@attrs.frozen(kw_only=True)
class Scenario:
    """How one face's training goes.

    Attributes:
        duration: Seconds from creation to ``completed`` (default 3.5 h). For Phoenix-4.5
            faces this is the tuning time after the preview.
        curve: Progress curve name (a key of :data:`CURVES`, or ``realistic`` / ``noisy``,
            drawn per face) or explicit ``(fraction_of_duration, percent)`` steps.
        fail: An error type from the reference (e.g. ``"video_codec"``): the training ends
            in ``error`` with that message.
        fail_at: Fraction of ``duration`` at which the failure happens.
        preview_after: Phoenix-4.5: seconds until the watermarked preview is ready
            (``status: completed``, ``finetune_status: training``); ``None`` for other
            models.
        finetune_fail: Phoenix-4.5: tuning ends in ``errored`` instead of ``completed``.
        created_at_skew: Seconds added to the face's ``created_at`` as served: a server whose
            clocks disagree, or a naive timestamp in another time zone (``-5 * 3600`` makes
            the face look five hours older). The training itself is unchanged.
        running_status: The status served while the face trains (``started``, as
            documented; older documents show ``training``, and a server may say
            ``in_progress`` or ``queued``). The create's answer still says ``started``.
    """

    duration: float = attrs.field(default=3.5 * 3600)
    curve: str | Sequence[tuple[float, int]] = "realistic"
    fail: str | None = None
    fail_at: float = 0.3
    preview_after: float | None = None
    finetune_fail: bool = False
    created_at_skew: float = 0.0
    running_status: str = attrs.field(default="started")

    @duration.validator
    def _check_duration(self, _attr: Any, value: float) -> None:
        if not value > 0:
            msg = f"duration must be > 0, got {value!r}"
            raise ValueError(msg)

    @running_status.validator
    def _check_running_status(self, _attr: Any, value: object) -> None:
        if not isinstance(value, str) or not value.strip():
            msg = f"running_status must be a non-empty string, got {value!r}"
            raise ValueError(msg)

    @classmethod
    def success(cls, duration: float = 3.5 * 3600, curve: str = "realistic") -> Scenario:
        """Completes after ``duration`` seconds."""
        return cls(duration=duration, curve=curve)

    @classmethod
    def failure(
        cls, error: str = "video_codec", *, at: float = 0.3, duration: float = 3.5 * 3600
    ) -> Scenario:
        """Fails with ``error`` (a §8.3 error type) at fraction ``at`` of ``duration``."""
        return cls(duration=duration, fail=error, fail_at=at)

    @classmethod
    def phoenix45(
        cls, *, preview_after: float = 90.0, tuning: float = 3 * 3600, fail: bool = False
    ) -> Scenario:
        """Preview ready after ``preview_after`` s, tuning done (or errored) ``tuning`` s later."""
        return cls(duration=tuning, preview_after=preview_after, finetune_fail=fail)

    def points(self, rng: random.Random) -> Points:
        """The concrete progress steps for one face."""
        if isinstance(self.curve, str):
            return make_curve(self.curve, rng)
        return tuple((float(f), int(p)) for f, p in self.curve)

    def error_message(self) -> str:
        """The message of this scenario's failure."""
        assert self.fail is not None
        return ERROR_MESSAGES.get(self.fail, self.fail)

    def state_at(self, elapsed: float, points: Points) -> FaceState:
        """The state ``elapsed`` seconds after creation."""
        if self.preview_after is not None:
            return self._phoenix45_state(elapsed)
        fail_time = self.fail_at * self.duration if self.fail else None
        if fail_time is not None and elapsed >= fail_time:
            return FaceState(
                status="error",
                progress=_progress(points, self.fail_at),
                error_message=self.error_message(),
            )
        if elapsed >= self.duration:
            return FaceState(status="completed", progress=100)
        end = fail_time if fail_time is not None else self.duration
        return FaceState(
            status=self.running_status,
            progress=_progress(points, elapsed / self.duration),
            done_at=end,
        )

    def _phoenix45_state(self, elapsed: float) -> FaceState:
        assert self.preview_after is not None
        preview = self.preview_after
        if elapsed < preview:
            progress = min(99, int(100 * elapsed / preview))
            return FaceState(status="started", progress=progress, done_at=preview)
        if elapsed < preview + self.duration:
            return FaceState(
                status="completed",
                progress=100,
                finetune_status="training",
                done_at=preview + self.duration,
            )
        return FaceState(
            status="completed",
            progress=100,
            finetune_status="errored" if self.finetune_fail else "completed",
        )


def _progress(points: Points, fraction: float) -> int:
    index = bisect.bisect_right([f for f, _ in points], fraction) - 1
    # 100/100 only when a curve asks for it (some servers show it before they finish).
    return min(100, points[max(index, 0)][1])


@attrs.frozen(kw_only=True)
class Rule:
    """Choose a scenario for faces whose name or training URL contains a string.

    Rules are checked in order; the first match wins, else the emulator's default applies.
    """

    scenario: Scenario
    name_contains: str | None = None
    url_contains: str | None = None

    def matches(self, name: str | None, url: str | None) -> bool:
        """True if this rule applies to a face with ``name`` trained from ``url``."""
        if self.name_contains is not None and self.name_contains in (name or ""):
            return True
        return self.url_contains is not None and self.url_contains in (url or "")


#: Named scenarios for the standalone server and the control API.
SCENARIOS: dict[str, Scenario] = {
    "realistic": Scenario(),
    "noisy": Scenario(curve="noisy"),
    "random": Scenario(curve="random"),
    "phased": Scenario(curve="phased"),
    **{name: Scenario(curve=name) for name in CURVES},
    "quick": Scenario(duration=60.0, curve="linear"),
    "early_failure": Scenario.failure("download_link", at=0.02, duration=3.5 * 3600),
    "failure": Scenario.failure("video_codec", at=0.3),
    "phoenix45": Scenario.phoenix45(),
}
"""Named scenarios, for ``Emulator(scenario=…)``, the control API and the command line."""


def resolve_scenario(value: Scenario | str) -> Scenario:
    """``value`` itself, or the named scenario of :data:`SCENARIOS`.

    Raises:
        ValueError: an unknown name.
    """
    if isinstance(value, Scenario):
        return value
    try:
        return SCENARIOS[value]
    except KeyError:
        msg = f"unknown scenario {value!r}; known: {', '.join(SCENARIOS)}"
        raise ValueError(msg) from None
