"""How densely to poll: the belief about the finish, priced. Pure: no I/O, no clock.

**The rule.** Poll density proportional to the square root of the hazard of the finish
minimises detection latency for a given number of requests (Keller's optimal checking
schedule): ``n(t) = √(h(t) / 2c)``. The next poll comes when ``∫ n`` over the wait reaches 1.
The hazard ``h`` is that of the belief about the finish (:mod:`tavus_async._belief`): a
mixture of the **duration prior**, counted from the face's creation, and the **progress
model**, weighed by its plausibility and its track record.

The two parts have their own price ``c``, set by ``PollPolicy.window_interval`` (the spacing
at the prior's median) and ``PollPolicy.finish_interval`` (the spacing where progress
expects the finish within ten minutes). Predictions that come from a stall are priced like
the prior. Progress that has come slower than it predicted (a slowdown ``s``, see
:mod:`tavus_async._estimate`) costs ``s^DOUBT_PRICE`` (``s³``) as much: where it expects
the finish, its polls are ``s^1.5`` times further apart. An S-curve's tail, which promises
the finish at every step, is then heard at the pace its record has earned. (In simulation,
``s²`` left an ease-out curve at a fixed 120 s poller's bill; ``s⁴`` cost the sigmoid's
wait 6 s more.)

**Floors.**

* *Insurance.* The density never falls below ``INSURANCE`` (0.8) of what the prior alone
  would ask. Progress can be perfectly regular and still wrong at the end (a training that
  completes at 60/100, or at 85/100 where progress still places the finish in the window),
  and this keeps the expected-duration window watched. (At half, steady trainings that
  complete at 75 to 90/100 were seen after 70 to 81 s on average; at 0.6, after 52 to 62 s
  on the emulator; at 0.7, after 47 to 53 s, for one to three requests more where progress
  is trusted. Trainings in two or three stages that complete at 80 or 90/100, seen after
  57 and 61 s at 0.7, were seen after 50 and 45 s at 0.8, for about one request more where
  progress is trusted, in simulation.) Progress that
  has come slower than it predicted is insured more: ``INSURANCE · s²``, up to
  ``DOUBTFUL_INSURANCE`` (all of the prior's density, from ``s ≈ 1.2``). A training that
  creeps towards the end and completes at 98/100 is then seen about as soon as a silent one.
  So is a training whose progress stalls (say at 90/100 for its last tenth): a stall's
  forecast comes from how long it has sat, and earns no discount (at half the prior's
  density, such trainings were seen after 69 s on average, a fixed 120 s poller's after 60 s;
  at all of it, after 44 s).
* *Window cap.* Inside the prior's window (its survival from 0.92 down to ``PAST_WINDOW``:
  2.7 to 4.35 h for the documented 3-4 h), the prior asks for a poll at least every
  ``WINDOW_CAP`` (1.3) times ``window_interval``: 110 s by default. The square-root rule
  minimises the latency *averaged over the prior*, and so is sparse where the prior's
  hazard is low, at the window's start: trainings that all took one length there were seen
  later than by a fixed 120 s poller (in simulation, silent 2.8 h trainings after 78 s, a
  stall on 99/100 after 76 s; now 39 and 45 s), for about four requests more on silent
  progress. The cap counts as far as the prior speaks for the belief (its weight, cubed):
  progress that places the finish pays for it with about one request (at the weight
  itself, two: the realistic curve over 100).
* *Allowance.* Progress-driven polls are counted once progress's forecast of the finish has
  passed, and all along for progress with a record of coming later than it forecasts (a
  slowdown ``s > 1``). Beyond ``PROGRESS_ALLOWANCE`` of them, their price rises steeply, so no
  progress signal, however misleading, can spend more than a bounded number of requests on
  forecasts that failed. Other polls before the forecast finish are not counted: they are
  progress doing its job, and counting them had left informative progress (uneven steps, a
  final plateau) at a dearer price just when the finish came.
* *Past the window.* Once the prior's window is behind (its survival under ``PAST_WINDOW``,
  a tenth), no wait is longer than ``TAIL_PACE`` (0.9) of the average spacing of the reads
  so far (:func:`tail_cap`), once they span ``PACE_SPAN`` (an hour). Past the window the
  prior's hazard falls and its spacing grows: a training that runs long was seen later
  than by a fixed poller spending as many requests (in simulation, 67 of 100 random climbs
  in 4.5 to 8 h trainings, up to twice as late; silent 6 h trainings after 75 s against
  63 s). Within the average, any finish beyond the window is seen about as soon as a fixed
  poller would see it; at 0.9 of it, sooner (at 1.0, 12 of the 100 climbs were seen up to
  18 % later than the fixed poller; at 0.9, none, and 2 of 300 more by at most 3.5 %).

:func:`density` gives the priced density as of a moment; :func:`next_poll` the wait after
which one poll is due under it; :func:`median_finish` the median of the finish under it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from ._belief import Belief
from ._policies import PollPolicy
from ._prior import DurationPrior

__all__ = [
    "PROGRESS_ALLOWANCE",
    "Density",
    "density",
    "median_finish",
    "next_poll",
    "prior_price",
    "tail_cap",
]

#: The hazard at which ``finish_interval`` is the spacing: a finish due in about 10 minutes.
REFERENCE_HAZARD = 1.0 / 600.0
#: Least density, as a share of the density the prior alone asks for.
INSURANCE = 0.8
#: The most insurance, for progress that has come much slower than it predicted: all of the
#: prior's density (capped at 0.8, a curve creeping towards 98/100 was seen a quarter later
#: than silent progress; in simulation, 47 s against 42 s with all of it, for one request
#: more).
DOUBTFUL_INSURANCE = 1.0
#: Progress that has come ``s`` times slower than it predicted costs ``s`` to this power.
DOUBT_PRICE = 3.0
#: Progress-driven polls before progress gets dearer.
PROGRESS_ALLOWANCE = 40.0
#: The prior's survival below which its window is behind (its 90th percentile).
PAST_WINDOW = 0.1
#: Past the window, the longest wait as a share of the average spacing of the reads so far.
TAIL_PACE = 0.9
#: The window's cap (module docstring): the window as the prior's survival, the longest
#: spacing in it as a multiple of ``window_interval``, and the power of the prior's weight.
WINDOW_EDGES = (PAST_WINDOW, 0.92)
WINDOW_CAP = 1.3
WINDOW_SHARE_POWER = 3.0
#: The reads' average spacing is a pace once they span this long (seconds): over a wait's
#: first minutes it is the failure ramp's, far denser than any pace worth keeping.
PACE_SPAN = 3600.0
#: The farthest a median finish is looked for (seconds after now).
HORIZON = 48 * 3600.0
#: Points of the integral of the density over one wait.
GRID = 24
_TINY = 1e-300

#: ``t -> (n², survival, progress share of n²)``: the squared poll density at local time
#: ``t``, the belief's survival there, and the part of ``n²`` that progress asks for.
Density = Callable[[float], tuple[float, float, float]]


def prior_price(policy: PollPolicy, prior: DurationPrior) -> float:
    """The prior's price ``2c``: ``window_interval`` is the spacing at its median's hazard."""
    return policy.window_interval**2 * prior.hazard(prior.median)


def density(
    belief: Belief,
    policy: PollPolicy,
    now: float,
    *,
    c_prior: float,
    attributed: float,
    commit: bool,
) -> Density:
    """The belief as of ``now``, priced (see the module docstring).

    ``attributed`` counts the progress-driven polls so far (the allowance); ``commit`` keeps
    the progress model for judging the next poll (a query does not).
    """
    a, b, model = belief.mixture(now, commit=commit)
    c_progress = policy.finish_interval**2 * REFERENCE_HAZARD
    if attributed > PROGRESS_ALLOWANCE:
        c_progress *= (attributed / PROGRESS_ALLOWANCE) ** 4
    insurance = INSURANCE
    if model is not None:
        # Progress that keeps coming later than it predicts is not trusted to place the
        # finish either: its polls cost more (spaced s times wider where it expects the
        # finish), and the window is insured more, up to DOUBTFUL_INSURANCE. A stall's
        # forecast comes from how long it has sat, not from a rate, so it has no record
        # to earn a discount on the window: it gets the prior's full density.
        c_progress *= model.slowdown**DOUBT_PRICE
        insurance = min(DOUBTFUL_INSURANCE, INSURANCE * model.slowdown**2)
        if model.stretched:
            insurance = DOUBTFUL_INSURANCE
    floor = insurance * insurance
    prior_sf_pdf = belief.prior_sf_pdf
    low, high = WINDOW_EDGES
    # The window's cap as a hazard. A face of unknown age has no window: its residual
    # time spreads the window over hours (reading one every two minutes from its first
    # read cost more than a fixed 120 s poller; see docs/cadence-log.md).
    least = 0.0
    if belief.start is not None:
        share = a * belief.prior_sf(now)  # the prior's weight in the belief
        spacing = WINDOW_CAP * policy.window_interval
        least = share**WINDOW_SHARE_POWER * c_prior / (spacing * spacing)

    def priced(t: float) -> tuple[float, float, float]:
        s0, f0 = prior_sf_pdf(t)
        if low <= s0 <= high:
            f0 = max(f0, least * s0)
        by_prior = a * f0
        survival = a * s0
        by_progress = 0.0
        if b and model is not None:
            f1 = b * model.pdf(t)
            survival += b * model.sf(t)
            if model.stretched:
                by_prior += f1
            else:
                by_progress = f1
        survival = max(survival, _TINY)
        progress_part = by_progress / survival / c_progress
        n2 = by_prior / survival / c_prior + progress_part
        insured = floor * f0 / max(s0, _TINY) / c_prior
        return max(n2, insured), survival, progress_part

    return priced


def next_poll(now: float, cap: float, priced: Density, *, min_interval: float) -> float:
    """The wait after which the expected number of polls due, ``∫ n``, reaches one (at
    most ``cap``, at least ``min_interval``)."""
    step = cap / GRID
    done = 0.0
    before = math.sqrt(priced(now)[0])
    for i in range(1, GRID + 1):
        current = math.sqrt(priced(now + i * step)[0])
        share = 0.5 * (before + current) * step
        if done + share >= 1.0:
            fraction = (1.0 - done) / share
            return max(min_interval, (i - 1 + fraction) * step)
        done += share
        before = current
    return cap


def median_finish(priced: Density, now: float) -> float | None:
    """When the belief's survival falls to one half (local time), or ``None`` if not within
    ``HORIZON``: the median of the finish, found by bisection."""
    low, high = now, now + HORIZON
    if priced(high)[1] > 0.5:
        return None
    for _ in range(40):
        mid = 0.5 * (low + high)
        if priced(mid)[1] > 0.5:
            low = mid
        else:
            high = mid
    return high


def tail_cap(belief: Belief, now: float, delay: float, *, reads: int) -> float:
    """The longest wait after ``now`` once a wait of ``delay`` would end past the prior's
    window: ``TAIL_PACE`` of the average spacing of the ``reads`` made so far (``inf`` before
    the window's end, and until the reads span ``PACE_SPAN``)."""
    first = belief.first_seen
    if first is None or reads < 2 or now - first < PACE_SPAN:
        return math.inf
    if belief.prior_sf(now + delay) > PAST_WINDOW:
        return math.inf
    return TAIL_PACE * (now - first) / (reads - 1)
