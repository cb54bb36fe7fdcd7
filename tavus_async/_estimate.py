"""Where the finish is: the progress model, and how it is weighed against the prior.

Pure functions of what a job has observed; :mod:`tavus_async._cadence` turns them into delays.

**The progress model.** ``training_progress`` is a step function seen only when polled. Each
change is dated at the midpoint between the poll that saw it and the one before. The time
``X`` from the last change to the finish is log-normal:

* its median is the remaining work at the *slowest* credible rate. The rates are: since
  progress first moved, since creation (when known, and progress has not gone back to 0
  since: a new stage's count is no rate over the face's age), and over the recent past
  (20 minutes or a quarter of the span). Trainings that slow down near the end are common;
  ones that speed up are seen late but cheaply;
* the model keeps a record of its own predictions: for each change, the slowest rate seen
  before it against the rate that came. When progress has come slower than predicted, and
  surely so (the recent mean shortfall, less ``RECORD_Z`` standard errors, so that uneven or
  noisy steps do not count), the time left is stretched by that factor: an S-curve's tail
  stops promising the finish at every step. A speed-up is not extrapolated: it is seen late
  but cheaply, and the prior covers an early finish. The same factor raises the insurance of
  the expected window (:mod:`tavus_async._pricing`);
* the remaining work is never less than one step. At 99/100 only the finish is left, and it
  is one more step of the size this job's recent changes have had;
* its log-spread is ``√(κ² + σ_step²/k)`` for ``k`` steps left: a single last step is as
  uncertain as step lengths are, a long way to go averages out, and the rate itself is only
  known to ``κ``. ``σ_step`` is the scatter of the recent rates between changes, from 0.45
  (even steps: a last step that does not come in about twice the usual time hands over to
  the prior within minutes) to 0.7 (uneven steps, few of them, or credible rates that
  disagree, such as a rate since creation far below the recent one: a queue, earlier
  stages);
* a step that has already lasted ``τ`` caps the rate. With ``k ≥ 2`` steps left, the median
  is at least ``1.5 (k - 1) τ``. Such a *stretched* prediction comes from a stall, not from a
  rate, so it is priced like the prior (see :mod:`tavus_async._pricing`);
* 100/100 while still training is read as 99/100 is: only the finish is left. Servers that
  round (not truncate) show it for the last half step, and counts can end before statuses.
  But what is left then is work progress does not count (a lagging status, a last stage),
  whose length need not be a step's: such a forecast is believed at lower odds (below).
  Progress falling by more than ``RESTART`` points restarts the model; smaller dips are noise.
* 99/100 reached by the last step of an *even staircase*, a step no longer than the
  ``CEILING_STEPS`` before it (steps of at least ``CEILING_MIN_STEP``, equal to within a
  point from five points, exactly below), is read as 100/100: the count has hit a ceiling
  (a server that holds 99 until the status changes), and what is left is not counted. Ten
  steps of ten points cannot land on 99 but by a clamp. Believed as the next step, such a
  forecast is a step wide (a quarter of an hour for ten steps over 80 % of a 3.5 h
  training), and watching it, then the hold past it, cost 105 to 130 requests, more than a
  fixed 120 s poller's, on 15 of 27 staircases of 3 to 33 points reaching 99/100 at 60 to
  97 % of the training (simulation, 2.8-4.2 h); read as 100/100, every one of the 27 cost
  77 to 103, for a finish seen after 17 to 45 s. Staircases that complete soon after
  99/100 are seen about ten seconds later (steps of five, 99/100 at 95 %: 9 to 16 s; a
  tenth step to a true 99/100 at 90 %: 13 to 22 s). Uneven steps (the realistic curve) and
  fine ones (one or two points, whose observed increments the polls' spacing sets) are read
  as before.
* *noise*: the change points follow the highest reading. When readings scatter both ways
  around the truth, that maximum runs ahead of it by about as far as readings typically fall
  below it (:class:`~tavus_async._belief.Belief` keeps that running median, ``noise``). The
  noise is work left: the remaining work is ``1 - p + noise``; the recent rate is taken over
  at least ``NOISE_SPAN`` times the noise; and the maximum holding for the time the truth
  needs to catch up with it (``noise / rate``) is no stall. Readings that only lag now and
  then (a stale value) leave the median, and so the forecast, unchanged.

**Weighing it.** The finish is a mixture of the prior and the progress model. The progress
model's weight starts at ``n / (n + 2)`` after ``n`` changes (at most 0.9). It is multiplied by

* the *plausibility* of its predicted finish under the duration prior: the prior's density
  there over its highest density still ahead, at least ``PLAUSIBILITY_FLOOR``. A 99/100
  reached after two hours of a 3-4 hour training is taken with caution;
* ``COMPLETE_DOUBT`` (in log-odds) when progress reads 100/100: a forecast of one more step
  is then a guess about work it does not count. Rounded counts finish within half a step of
  it; others sit there for a fifth of the training. Ten steps of ten points to 100/100 at
  80 %, each forecast window seventeen minutes wide, cost 127 requests against a fixed
  120 s poller's 107 when such a forecast was believed as one at 99/100 is; 97 at this
  doubt (102 at 2, 93 at 3), and rounded progress is seen after 10.4 s instead of 6.1 s
  (8.6 s at 2, 11.7 s at 3), in simulation;
* the *evidence* of every poll that found the training still running: the ratio of the two
  models' predicted survival over the interval, accumulated as log-odds. A prediction that
  keeps failing (stuck at 99/100, a curve that keeps slowing) hands over to the prior. When
  progress moves again no later than its model expected, half of the evidence against it is
  forgiven.

The prior keeps at least ``PRIOR_FLOOR`` of the weight, whatever progress says. And a
forecast whose step has lasted past its 84th percentile and the *patience* (a tenth of the
prior's median: 21 minutes for the documented 3-4 h) has failed: its weight is 0 until
progress moves again. A log-normal's tail says "soon" for long after its median (at five
times a forecast of one step, the evidence had taken only two thirds of its weight), and
climbs that held 90/100 for their last 25 to 70 minutes were read every 30 s throughout:
up to 13 % more requests than a fixed 120 s poller. (A stall with steps left is the stall
rule's: its forecast grows with it, and never falls due.) The patience spares the short
final plateaus of uneven curves, which come a few forecasts late and are worth watching
closely (see :attr:`~tavus_async._belief.Belief.patience`).
"""

from __future__ import annotations

import bisect
import itertools
import math
from array import array
from collections.abc import Callable, Sequence

from ._prior import DurationPrior, LogNormal

__all__ = [
    "KEEP_POINTS",
    "PRIOR_FLOOR",
    "ProgressModel",
    "evidence_step",
    "progress_model",
    "progress_weight",
    "slowdown",
]

Point = tuple[float, float]  # (local time of the change, progress as a fraction)

#: Relative error of a rate extrapolation (log scale).
KAPPA = 0.25
#: Points of the table of the progress model weighed by the prior.
TABLE = 48
#: Log-spread of one step's length, at most (uneven steps, or too few seen)...
STEP_SPREAD = 0.7
#: ...and at least (however even the steps before, the next may be longer).
MIN_STEP_SPREAD = 0.45
#: Recent intervals between changes whose regularity narrows the spread of a step.
REGULAR_STEPS = 6
#: A stalled step of length τ implies at least this many τ per remaining step.
STALL = 1.5
#: A step is overdue once it has lasted past its forecast's 84th percentile (one log-spread
#: past its median)...
OVERDUE_SPREADS = 1.0
#: ...and this share of the prior's median (a tenth: 21 minutes for the documented 3-4 h).
PATIENCE = 0.1
#: The first point whose change is judged against the rate predicted before it.
RECORD_FROM = 4
#: Weight of each older judgement in the record, relative to the next.
RECORD_DECAY = 0.7
#: Standard errors by which a slowdown must be sure before it counts.
RECORD_Z = 1.5
#: The most a record of slowness stretches the time left.
MAX_SLOWDOWN = 8.0
#: Changes whose increments give the size of a step.
RECENT_STEPS = 3
#: The "recent" rate looks back this far (seconds), or a quarter of the span if longer.
RECENT_HORIZON = 1200.0
#: The recent rate spans at least this many times the noise of the readings.
NOISE_SPAN = 4.0
#: No prediction is closer than this (seconds).
MIN_REMAINING = 30.0
#: Changes from 0 after which the time progress sat there is taken as a queue, not work.
QUEUE_MOVES = 3
#: A fall of progress by more than this (a fraction) restarts the model.
RESTART = 0.2
#: Prior odds of progress being informative: n / (n + ODDS_CHANGES), capped.
ODDS_CHANGES = 2.0
ODDS_CAP = 0.9
#: Increments before the last that make an even staircase, and its least step (a fraction).
CEILING_STEPS = 3
CEILING_MIN_STEP = 0.03
#: Steps from this size may differ by a point (a server's rounding of an even fraction);
#: smaller ones must be equal (else the polls' spacing, not the server, set them).
CEILING_COARSE_STEP = 0.05
#: A tenth of a point: what "equal" allows for the arithmetic of fractions.
_ROUNDING = 0.001
#: Log-odds taken off a forecast made at 100/100 (work progress no longer counts).
COMPLETE_DOUBT = 2.5
#: Least plausibility factor of a progress prediction.
PLAUSIBILITY_FLOOR = 0.02
#: Least weight of the prior, whatever progress says.
PRIOR_FLOOR = 0.1
#: Change points a belief keeps: the first two, and this many of the most recent.
KEEP_POINTS = 12
#: Bounds of the accumulated evidence (log-odds).
EVIDENCE_BOUNDS = (-12.0, 4.0)
#: Share of the evidence against progress kept when progress moves again in time.
FORGIVE = 0.5
_TINY = 1e-300


class ProgressModel:
    """The progress model's prediction: the finish is ``origin + X``, ``X ~ law``.

    :meth:`weigh` multiplies it by the duration prior (Bayes' rule: the prediction was made
    as if nothing else were known), tabulated from a given moment on.
    """

    __slots__ = (
        "_grid",
        "_pdf",
        "_sf",
        "complete",
        "law",
        "origin",
        "overdue",
        "slowdown",
        "step",
        "stretched",
    )

    def __init__(
        self,
        origin: float,
        law: LogNormal,
        *,
        stretched: bool,
        step: float,
        slowdown: float = 1.0,
        complete: bool = False,
        overdue: bool = False,
    ) -> None:
        self.origin = origin
        self.law = law
        #: How much slower than its own predictions progress has come (see :func:`slowdown`).
        self.slowdown = slowdown
        #: True when a stall, not a rate, set the median (priced like the prior).
        self.stretched = stretched
        #: Expected time to the next change, for judging whether it came in time.
        self.step = step
        #: Made at 100/100 (or at a ceiling of 99/100): what is left is work progress does
        #: not count.
        self.complete = complete
        #: The step it forecasts has lasted past its forecast and its patience: failed.
        self.overdue = overdue
        self._grid: Sequence[float] | None = None
        self._pdf: Sequence[float] = ()
        self._sf: Sequence[float] = ()

    def weigh(self, prior_pdf: Callable[[float], float], since: float) -> None:
        """Combine with the prior's density (over local time) for finishes after ``since``."""
        span = max(6.0 * math.exp(self.law.mu + self.law.s), 3600.0)
        grid = [since + span * (i / TABLE) ** 2 for i in range(TABLE + 1)]
        dens = [self.law.pdf(t - self.origin) * prior_pdf(t) for t in grid]
        tail = [0.0] * (TABLE + 1)
        for i in range(TABLE - 1, -1, -1):
            tail[i] = tail[i + 1] + 0.5 * (dens[i] + dens[i + 1]) * (grid[i + 1] - grid[i])
        total = tail[0]
        if not total > 0.0:
            return  # the prior gives no weight there: keep the prediction as it is
        self._grid = grid
        self._pdf = [d / total for d in dens]
        self._sf = [t / total for t in tail]

    def compact(self) -> None:
        """Keep only what judging the next poll needs (survival), in compact arrays.

        Ten thousand waiting jobs each hold their last model between polls.
        """
        if self._grid is not None:
            self._grid, self._sf = array("d", self._grid), array("d", self._sf)
            self._pdf = ()

    def _at(self, values: Sequence[float], t: float) -> float:
        grid = self._grid
        assert grid is not None
        if t <= grid[0]:
            return values[0]
        if t >= grid[-1]:
            return values[-1]
        i = bisect.bisect_right(grid, t) - 1
        w = (t - grid[i]) / (grid[i + 1] - grid[i])
        return values[i] + w * (values[i + 1] - values[i])

    def sf(self, t: float) -> float:
        """P(finish > t)."""
        if self._grid is not None:
            return self._at(self._sf, t)
        return self.law.sf(t - self.origin)

    def pdf(self, t: float) -> float:
        """Density of the finish at ``t``."""
        if self._grid is not None and self._pdf:
            return self._at(self._pdf, t)
        return self.law.pdf(t - self.origin)

    def median(self) -> float:
        """The predicted finish's median (local time), before the prior is weighed in."""
        return self.origin + math.exp(self.law.mu)


def progress_model(
    points: Sequence[Point],
    *,
    start: float | None,
    now: float,
    noise: float = 0.0,
    patience: float = math.inf,
) -> ProgressModel | None:
    """The prediction from the change points seen so far (``points[0]`` is the first read).

    ``None`` while progress has not moved. ``patience`` (seconds) is how long a step must
    have lasted, at least, before its forecast can be judged failed (``overdue``).
    """
    if len(points) < 2:
        return None
    first = points[0][1]
    moves = [p for p in points[1:] if p[1] > first]
    if not moves:
        return None
    last_t, last_p = points[-1]
    remaining = max(0.01, 1.0 - last_p + noise)
    rates = _credible_rates(points, start, noise)
    if not rates:
        return None
    rate = min(rates)
    increments = [b[1] - a[1] for a, b in itertools.pairwise(points) if b[1] > a[1]]
    increment = max(0.01, sum(increments[-RECENT_STEPS:]) / len(increments[-RECENT_STEPS:]))
    steps_left = max(1.0, remaining / increment)
    by_rate = max(max(remaining, increment) / rate, MIN_REMAINING)
    # A noisy maximum holds while the truth catches up with it: that is not a stall.
    catch_up = noise / rate
    by_stall = (steps_left - 1.0) * STALL * max(0.0, now - last_t - catch_up)
    median, stretched = max(by_rate, by_stall), by_stall > by_rate
    late = slowdown(points, start)
    step_spread = _step_spread(points, rates)
    spread = math.sqrt(KAPPA * KAPPA + step_spread * step_spread / steps_left)
    # The step has lasted past its forecast's percentile (OVERDUE_SPREADS) and the
    # patience: failed.
    due_by = median * late * math.exp(OVERDUE_SPREADS * spread)
    overdue = now - last_t - catch_up > max(due_by, patience)
    return ProgressModel(
        last_t,
        LogNormal(math.log(median * late), spread),
        stretched=stretched,
        step=increment / rate,
        slowdown=late,
        complete=last_p >= 1.0 or _at_ceiling(increments, last_p),
        overdue=overdue,
    )


def _at_ceiling(increments: Sequence[float], last_p: float) -> bool:
    """99/100 reached by an even staircase's last step, no longer than its others."""
    if last_p < 0.99 or len(increments) < CEILING_STEPS + 1:
        return False
    before = sorted(increments[-CEILING_STEPS - 1 : -1])
    step = before[len(before) // 2]
    if step < CEILING_MIN_STEP - _ROUNDING:
        return False
    slack = _ROUNDING + (0.01 if step >= CEILING_COARSE_STEP - _ROUNDING else 0.0)
    return all(abs(x - step) <= slack for x in before) and increments[-1] <= step + slack


def _step_spread(points: Sequence[Point], rates: Sequence[float]) -> float:
    """Log-spread of one step's length: as narrow as recent steps were regular, at least
    ``MIN_STEP_SPREAD``, and never narrower than the credible rates disagree (log of the
    fastest over the slowest); ``STEP_SPREAD`` until ``REGULAR_STEPS`` intervals are seen."""
    first = points[0][1]
    moves = [p for p in points[1:] if p[1] > first][-(REGULAR_STEPS + 1) :]
    logs = [math.log(r) for r in itertools.starmap(_rate, itertools.pairwise(moves)) if r > 0.0]
    if len(logs) < REGULAR_STEPS:
        return STEP_SPREAD
    mean = sum(logs) / len(logs)
    scatter = math.sqrt(sum((x - mean) ** 2 for x in logs) / (len(logs) - 1))
    disagreement = math.log(max(rates) / min(rates))
    return min(STEP_SPREAD, max(MIN_STEP_SPREAD, scatter, disagreement))


def _slowest_rate(points: Sequence[Point], start: float | None, noise: float = 0.0) -> float | None:
    """The slowest credible rate of progress (fraction per second) up to the last change."""
    rates = _credible_rates(points, start, noise)
    return min(rates) if rates else None


def _credible_rates(points: Sequence[Point], start: float | None, noise: float) -> list[float]:
    """The rates of progress (fraction per second) up to the last change: since progress
    first moved, since creation (when known, and not once a climb from 0 has shown that the
    time at 0 was a queue), and over the recent past."""
    first = points[0][1]
    moves = [p for p in points[1:] if p[1] > first]
    if not moves:
        return []
    last_t, last_p = points[-1]
    rates: list[float] = []
    if len(moves) >= 2:
        rates.append(_rate(moves[0], points[-1]))
    # A queue is no work: once progress has climbed from 0 in QUEUE_MOVES changes, the time
    # it sat at 0 no longer counts (a climb over the last tenth of a training was forecast
    # at the pace of the whole, ten times too slow, and read every two minutes to its end).
    queued = first <= 0.0 and len(moves) >= QUEUE_MOVES
    if start is not None and last_t - start > 60.0 and last_p > 0.02 and not queued:
        rates.append(last_p / (last_t - start))
    horizon = max(RECENT_HORIZON, 0.25 * (last_t - moves[0][0]))
    first_recent = next(i for i, p in enumerate(points) if p[0] >= last_t - horizon)
    # A rate over less progress than a few times the noise is mostly noise: look further back.
    while first_recent > 0 and last_p - points[first_recent][1] < NOISE_SPAN * noise:
        first_recent -= 1
    recent = points[first_recent:]
    if len(recent) >= 2:
        rates.append(_rate(recent[0], recent[-1]))
    return [r for r in rates if r > 0.0]


def slowdown(points: Sequence[Point], start: float | None) -> float:
    """How much slower than its own predictions progress has come: a factor in ``[1, 8]``.

    For each change from the ``RECORD_FROM``-th point on, the slowest credible rate as of the
    point before it is set against the rate seen up to it. The log-ratios are averaged, each
    older one weighing ``RECORD_DECAY`` of the next, and the mean shortfall counts less
    ``RECORD_Z`` standard errors: steps that are merely uneven (or readings that are noisy)
    scatter both ways and stretch nothing, while progress that keeps slowing (an S-curve's
    tail) does. A speed-up is never extrapolated.
    """
    errors: list[float] = []
    for i in range(RECORD_FROM, len(points)):
        predicted = _slowest_rate(points[:i], start)
        observed = _rate(points[i - 1], points[i])
        if predicted is not None and observed > 0.0:
            errors.append(math.log(observed / predicted))
    if not errors:
        return 1.0
    weights = [RECORD_DECAY**k for k in range(len(errors) - 1, -1, -1)]
    total = sum(weights)
    mean = sum(w * e for w, e in zip(weights, errors, strict=True)) / total
    scatter = sum(w * (e - mean) ** 2 for w, e in zip(weights, errors, strict=True)) / total
    effective = total * total / sum(w * w for w in weights)
    sure = -mean - RECORD_Z * math.sqrt(scatter / effective)
    return math.exp(min(max(0.0, sure), math.log(MAX_SLOWDOWN)))


def _rate(a: Point, b: Point) -> float:
    span = b[0] - a[0]
    return (b[1] - a[1]) / span if span > 0.0 else 0.0


def progress_weight(
    model: ProgressModel,
    *,
    changes: int,
    evidence: float,
    prior: DurationPrior,
    start: float | None,
    now: float,
) -> float:
    """The progress model's share of the belief about the finish, in ``[0, 1 - PRIOR_FLOOR]``."""
    odds = min(ODDS_CAP, changes / (changes + ODDS_CHANGES))
    if odds <= 0.0 or model.overdue:
        return 0.0
    log_odds = math.log(odds / (1.0 - odds)) + evidence
    if model.complete:
        log_odds -= COMPLETE_DOUBT
    if start is not None:
        age = max(0.0, now - start)
        plausible = prior.pdf(model.median() - start) / max(prior.peak_ahead(age), _TINY)
        log_odds += math.log(min(1.0, max(PLAUSIBILITY_FLOOR, plausible)))
    if log_odds > 30.0:
        weight = 1.0
    elif log_odds < -30.0:
        weight = 0.0
    else:
        weight = 1.0 / (1.0 + math.exp(-log_odds))
    return min(weight, 1.0 - PRIOR_FLOOR)


def evidence_step(
    evidence: float,
    *,
    model: ProgressModel,
    prior_sf: float,
    prior_sf_before: float,
    before: float,
    now: float,
) -> float:
    """The evidence after a poll at ``now`` found the training running (last poll ``before``).

    Each model is judged by the survival it predicted over ``[before, now]``: the
    log-likelihood ratio of "still running" under progress and under the prior.
    """
    by_progress = math.log(max(model.sf(now), _TINY) / max(model.sf(before), _TINY))
    by_prior = math.log(max(prior_sf, _TINY) / max(prior_sf_before, _TINY))
    low, high = EVIDENCE_BOUNDS
    return min(high, max(low, evidence + by_progress - by_prior))
