"""When trainings usually end: the duration prior, and how the client learns it.

A training's duration ``D`` (seconds from creation to its final outcome) is modelled, before
progress says anything, as a mixture of two log-normal laws around one median:

* **core** (weight 0.85): the expected range ``[low, high]`` (``PollPolicy.expected_duration``,
  3-4 h by default, as Tavus documents) spans ±1 log-σ around the median ``√(low·high)``;
* **broad** (weight 0.15, log-σ 0.6): trainings far outside the usual range (an image
  training in one hour, a slow plan in six) keep some probability, so that once the core
  has passed without a finish the hazard falls and polling thins out instead of racing on.

For a job whose age is unknown (resumed without a trustworthy ``created_at``), the time left
from its first read is a mixture of two cases: a training created moments before (the usual
hand-off: a request creates the face, a worker waits for it), whose time left is ``D``
itself; and one caught at a random moment, whose time left is the *residual* of ``D``, of
density ``S(r) / E[D]``. The residual alone, nearly flat early, asks for polls at a fixed
poller's pace from the first read, for hours, on every job resumed at creation (a silent one
then cost more than a fixed 120 s poller). The odds of the hand-off depend on what the server
said: even (``FRESH_WEIGHT``) when it told an age that the polls then doubted (a wrong clock
on a fresh face is the likeliest story), 0.3 (``UNTOLD_FRESH_WEIGHT``) when it never told one
(no ``created_at``, or one hours in the future: a time zone). At even odds there, a silent
face picked up mid-way was read sparsely just where its finish came: after 103 s for 39
requests, where a fixed poller spending as many sees it after 88 s; at 0.3, 76 s for 45
(and a face picked up at its creation, 94 requests for 41 s instead of 83 for 39).

:class:`DurationLearner` moves the core towards durations the client has observed for free
(trainings it watched finish), as a Bayesian update of the log-mean and log-variance with two
pseudo-observations for the documented range and exponential forgetting, so that a user
whose trainings take one hour polls around one hour after a few of them; trainings it still
watches count too, as durations of at least their age (a batch finishes its shortest first,
and would otherwise teach a prior too short and too narrow for the rest of it). Pure: no I/O.
"""

from __future__ import annotations

import bisect
import collections
import functools
import math
from collections.abc import Iterable

__all__ = ["DurationLearner", "DurationPrior", "LogNormal"]

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)

#: For a job of unknown age: the odds that it was created just before its first read, when
#: the server told an age that was then doubted or dropped, and when it never told one.
FRESH_WEIGHT = 0.5
UNTOLD_FRESH_WEIGHT = 0.3
#: Weight and log-σ of the broad component.
BROAD_WEIGHT = 0.15
BROAD_SPREAD = 0.6
#: The narrowest core a prior may have (log-σ): trainings are never perfectly regular.
MIN_SPREAD = 0.05
#: Step and extent of the table used to find the densest age still ahead.
PEAK_STEP = 300.0
PEAK_SPAN = 48 * 3600.0
#: Learning from running trainings: expectation-maximisation rounds at most, the change of
#: log-mean plus log-σ that ends them, and how many σ below the estimate's log-mean an age
#: says nothing the estimate does not (one σ: the ages the core itself finds short).
EM_ROUNDS, EM_TOLERANCE, YOUNG = 30, 1e-4, 1.0


def normal_cdf(z: float) -> float:
    """Φ(z), the standard normal distribution function."""
    return 0.5 * math.erfc(-z / _SQRT2)


class LogNormal:
    """A log-normal law of median ``e^mu`` and log-σ ``s`` (positive values only)."""

    __slots__ = ("mu", "s")

    def __init__(self, mu: float, s: float) -> None:
        self.mu = mu
        self.s = s

    def sf(self, x: float) -> float:
        """P(X > x)."""
        if x <= 0.0:
            return 1.0
        return 0.5 * math.erfc((math.log(x) - self.mu) / (self.s * _SQRT2))

    def pdf(self, x: float) -> float:
        """Density at ``x``."""
        if x <= 0.0:
            return 0.0
        z = (math.log(x) - self.mu) / self.s
        return math.exp(-0.5 * z * z) / (x * self.s * _SQRT2PI)

    def mean(self) -> float:
        """E[X]."""
        return math.exp(self.mu + 0.5 * self.s * self.s)

    def excess(self, r: float) -> float:
        """E[(X - r)⁺], the expected time left beyond ``r``."""
        if r <= 0.0:
            return self.mean() - r
        log_r = math.log(r)
        return self.mean() * normal_cdf((self.mu + self.s * self.s - log_r) / self.s) - (
            r * normal_cdf((self.mu - log_r) / self.s)
        )


class DurationPrior:
    """The law of a training's duration: a log-normal core and a broad component.

    Immutable once built; shared by every job that snapshots it.
    """

    __slots__ = ("_ages", "_mean", "_mu", "_parts", "_peaks", "_w", "median", "spread")

    def __init__(self, median: float, spread: float) -> None:
        if not (math.isfinite(median) and median > 0.0):
            msg = f"median must be a positive number of seconds, got {median!r}"
            raise ValueError(msg)
        #: Median duration in seconds.
        self.median = float(median)
        #: Log-σ of the core.
        self.spread = max(MIN_SPREAD, float(spread))
        mu = self._mu = math.log(self.median)
        self._w = (1.0 - BROAD_WEIGHT, BROAD_WEIGHT)
        self._parts = (
            (1.0 - BROAD_WEIGHT, LogNormal(mu, self.spread)),
            (BROAD_WEIGHT, LogNormal(mu, BROAD_SPREAD)),
        )
        self._mean = sum(w * part.mean() for w, part in self._parts)
        # Densest age at or after each tabulated age: "how plausible is a finish then,
        # compared with the most plausible finish still ahead" without a search per poll.
        ages = [i * PEAK_STEP for i in range(int(PEAK_SPAN / PEAK_STEP) + 1)]
        peaks = [self.pdf(a) for a in ages]
        for i in range(len(peaks) - 2, -1, -1):
            peaks[i] = max(peaks[i], peaks[i + 1])
        self._ages = ages
        self._peaks = peaks

    @classmethod
    def from_range(cls, low: float, high: float) -> DurationPrior:
        """The prior whose core spans ``[low, high]`` seconds at ±1 log-σ."""
        return cls.of(math.sqrt(low * high), math.log(high / low) / 2.0)

    def as_range(self) -> tuple[float, float]:
        """The core's ``(low, high)`` seconds at ±1 log-σ: what :meth:`from_range` takes."""
        return (self.median * math.exp(-self.spread), self.median * math.exp(self.spread))

    @staticmethod
    def of(median: float, spread: float) -> DurationPrior:
        """The prior of this median and spread, built once and shared.

        Building one tabulates its density (about a millisecond); a stateless worker makes a
        client, and restores a cadence, for every poll, always with the same few priors.
        """
        return _shared(float(median), float(spread))

    # sf and pdf are evaluated thousands of times a poll: both parts share one logarithm.

    def sf(self, age: float) -> float:
        """P(D > age)."""
        if age <= 0.0:
            return 1.0
        x = (math.log(age) - self._mu) / _SQRT2
        core, broad = self._w
        return 0.5 * (core * math.erfc(x / self.spread) + broad * math.erfc(x / BROAD_SPREAD))

    def pdf(self, age: float) -> float:
        """Density of D at ``age``."""
        if age <= 0.0:
            return 0.0
        x = math.log(age) - self._mu
        core, broad = self._w
        a, b = x / self.spread, x / BROAD_SPREAD
        return (
            core * math.exp(-0.5 * a * a) / self.spread
            + broad * math.exp(-0.5 * b * b) / BROAD_SPREAD
        ) / (age * _SQRT2PI)

    def hazard(self, age: float) -> float:
        """The hazard of D at ``age``: density over survival."""
        return self.pdf(age) / max(self.sf(age), 1e-300)

    def residual_sf(self, r: float, fresh: float = FRESH_WEIGHT) -> float:
        """P(R > r) for the time R left after the first read of a training of unknown age,
        at odds ``fresh`` that it was created just before."""
        excess = sum(w * part.excess(r) for w, part in self._parts) / self._mean
        return fresh * self.sf(r) + (1.0 - fresh) * excess

    def residual_pdf(self, r: float, fresh: float = FRESH_WEIGHT) -> float:
        """Density of that time left at ``r``."""
        return fresh * self.pdf(r) + (1.0 - fresh) * self.sf(r) / self._mean

    def peak_ahead(self, age: float) -> float:
        """The highest density of D at any age from ``age`` on (tabulated every 5 minutes)."""
        i = bisect.bisect_right(self._ages, age)
        if i >= len(self._peaks):
            return self.pdf(age)
        return max(self.pdf(age), self._peaks[i])

    def __repr__(self) -> str:
        return f"DurationPrior(median={self.median / 3600:.2f}h, spread={self.spread:.3f})"


@functools.lru_cache(maxsize=64)
def _shared(median: float, spread: float) -> DurationPrior:
    return DurationPrior(median, spread)


class DurationLearner:
    """Moves the core of a prior towards the durations observed, with forgetting.

    A Bayesian update of the core's log-mean and log-variance: the documented range counts
    as ``PSEUDO`` observations; each observation's weight decays by ``FORGET`` with every
    newer one (about twenty trainings of memory), because trainings change over months.
    """

    PSEUDO = 2.0
    FORGET = 0.95
    #: Durations outside this range are not trainings we can learn from.
    PLAUSIBLE = (60.0, 48 * 3600.0)

    __slots__ = ("_base", "_current", "_n", "_sx", "_sxx", "observed")

    def __init__(self, base: DurationPrior) -> None:
        self._base = base
        self._current = base
        self._n = self._sx = self._sxx = 0.0
        #: How many durations were learned.
        self.observed = 0

    @property
    def prior(self) -> DurationPrior:
        """The prior as learned so far (the documented one before any observation)."""
        return self._current

    def learn(self, duration: float) -> bool:
        """Account for one observed training ``duration`` (seconds); False if implausible."""
        low, high = self.PLAUSIBLE
        if not (math.isfinite(duration) and low <= duration <= high):
            return False
        x = math.log(duration)
        self._n = self.FORGET * self._n + 1.0
        self._sx = self.FORGET * self._sx + x
        self._sxx = self.FORGET * self._sxx + x * x
        self.observed += 1
        mu, var = self._posterior(self._n, self._sx, self._sxx)
        self._current = DurationPrior(math.exp(mu), math.sqrt(var))
        return True

    def with_running(self, ages: Iterable[float]) -> DurationPrior:
        """The prior as learned, told also of trainings still running at ``ages`` (seconds).

        Finished trainings alone teach a batch's shortest first: ten faces created together
        that take 2.9 to 4.1 h have taught "3.2 h" when the first four are done, while the
        six others have run longer than that already, and a face resumed then was read
        sparsely just when they finished. Each running training is a duration of at least
        its age (censored), filled in by expectation-maximisation: its expected log-duration
        and square under the current estimate, beyond its age. A young one expects what the
        estimate already says and moves nothing; one older than the estimate believes pulls
        it longer and wider. Together they weigh no more than the finished ones the learner
        remembers (about twenty): a fleet of thousands running must not drown the durations
        it has measured. Before any finish, the prior as learned.
        """
        if not self.observed:
            return self._current
        logs = [math.log(a) for a in ages if math.isfinite(a) and a > 0.0]
        if not logs:
            return self._current
        weight = min(1.0, self._n / len(logs))
        mu, s = math.log(self._current.median), self._current.spread
        # Ages below the estimate's core fill in as (nearly) the estimate itself: skip them.
        # The rest, to a thousandth of their logarithm: a fleet's ages in a few hundred bins.
        bins = collections.Counter(round(x, 3) for x in logs if x > mu - YOUNG * s)
        n = self._n + weight * sum(bins.values())
        for _ in range(EM_ROUNDS):
            sx, sxx = self._sx, self._sxx
            for x, count in bins.items():
                m1, m2 = _tail_moments(mu, s, x)
                sx += weight * count * m1
                sxx += weight * count * m2
            new_mu, var = self._posterior(n, sx, sxx)
            new_s = max(MIN_SPREAD, math.sqrt(var))
            moved = abs(new_mu - mu) + abs(new_s - s)
            mu, s = new_mu, new_s
            if moved < EM_TOLERANCE:
                break
        # Rounded as a state token rounds it: the few priors of a batch are built once.
        return DurationPrior.of(round(math.exp(mu), 1), round(s, 4))

    def _posterior(self, n: float, sx: float, sxx: float) -> tuple[float, float]:
        """The core's log-mean and log-variance after ``n`` weighted observations of
        sum ``sx`` and sum of squares ``sxx``."""
        k0, mu0, s0 = self.PSEUDO, math.log(self._base.median), self._base.spread
        mean = sx / n
        scatter = max(0.0, sxx - n * mean * mean)
        mu = (k0 * mu0 + n * mean) / (k0 + n)
        var = (k0 * s0 * s0 + scatter + k0 * n / (k0 + n) * (mean - mu0) ** 2) / (k0 + n)
        return mu, var


def _tail_moments(mu: float, s: float, low: float) -> tuple[float, float]:
    """E[X] and E[X²] of X ~ N(mu, s²) given X > low."""
    a = (low - mu) / s
    tail = normal_cdf(-a)
    # The inverse Mills ratio; far out in the tail, its asymptote.
    ratio = math.exp(-0.5 * a * a) / _SQRT2PI / tail if tail > 1e-12 else a + 1.0 / a
    mean = mu + s * ratio
    var = s * s * max(0.0, 1.0 + a * ratio - ratio * ratio)
    return mean, var + mean * mean
