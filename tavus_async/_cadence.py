"""When to poll next: a pure function of what a job has seen, which can be serialized.

No I/O and no clock of its own: callers pass ``now`` (monotonic seconds) and the faces they
read. :class:`Cadence` turns them into the delay before the next poll.

**The rule** (:mod:`tavus_async._pricing`): poll density proportional to the square root
of the hazard of the finish, as the belief about it (:mod:`tavus_async._belief`) has it,
priced by ``PollPolicy.window_interval`` and ``finish_interval``, insured by the prior's
density and with a bounded allowance for progress whose forecasts failed.

**Around it.**

* *Pace* (opt-in). With ``PollPolicy.min_average_interval`` set, reads stay within
  ``FREE_READS`` plus one per that interval since the first read, whatever the belief asks:
  a hard bill. It is off by default because where it binds, near a finish the belief
  misplaced, it costs latency.
* *Ramp and failure watch.* The wait starts at ``initial_interval`` and ramps up to
  ``max_interval`` (:mod:`tavus_async._backoffs`). A failure is seen within that. Waits at
  ``max_interval`` take half the jitter (``WATCH_JITTER``): they are a promise, not a price.
* *Faults.* Transient failures use their own backoff, reset by the next success. A
  ``Retry-After`` hint is a lower bound, honoured up to ten minutes (``MAX_PAUSE``); a longer
  one is asked again then.
* *Safety net.* With a callback to rely on: a check right away, then polls from
  ``callback_safety_start`` (face age) every ``callback_safety_interval``.

Every delay is jittered with a floor (:func:`~tavus_async._policies.jittered`).

**Durable.** :mod:`tavus_async._snapshot` carries everything above across processes (as
the state of :mod:`tavus_async._durable`). A stateless worker that passes the state
along polls as one long-lived process would. See ``benchmarks/request_economy.py`` for what
the cadence costs and buys on progress shapes built to break it.
"""

from __future__ import annotations

import datetime as dt

from ._anchor import Anchor
from ._backoffs import Backoffs
from ._belief import Belief
from ._models import Face
from ._policies import PollPolicy, jittered
from ._pricing import Density, density, median_finish, next_poll, prior_price, tail_cap
from ._prior import DurationPrior
from ._server_clock import ServerClock

__all__ = ["Cadence"]

#: Reads a wait may make before ``PollPolicy.min_average_interval`` counts (the start's ramp).
FREE_READS = 4
#: The share of ``PollPolicy.jitter`` taken off a wait at the failure watch (``max_interval``).
WATCH_JITTER = 0.5


class Cadence:
    """Poll-delay decisions for one job. See the module docstring for the rules."""

    __slots__ = (
        "_c_prior",
        "_policy",
        "attributed",
        "backoffs",
        "belief",
        "polls",
        "safety_net",
        "server_clock",
    )

    def __init__(
        self,
        policy: PollPolicy,
        prior: DurationPrior,
        *,
        safety_net: bool = False,
        start: float | None = None,
        server_date: dt.datetime | None = None,
        clock_skew: float | None = None,
    ) -> None:
        self._policy = policy
        self.safety_net = safety_net
        #: What the reads have said about the finish (:mod:`tavus_async._belief`).
        self.belief = Belief(prior, Anchor(start, clock_skew=clock_skew))
        #: Progress-driven polls so far (the allowance, see _pricing).
        self.attributed = 0.0
        #: Successful reads so far.
        self.polls = 0
        # The prior's price: window_interval is the spacing at its median's hazard (as 2c).
        self._c_prior = prior_price(policy, prior)
        # The server's Date at creation relates our clock to the one other workers read.
        self.server_clock = ServerClock(start, server_date)
        #: The start's ramp and the fault backoff.
        self.backoffs = Backoffs(policy)

    @property
    def policy(self) -> PollPolicy:
        """The policy this cadence follows."""
        return self._policy

    # ------------------------------------------------------------------ observations

    def observe(
        self,
        now: float,
        face: Face,
        *,
        server_date: dt.datetime | None,
        wall: float | None = None,
    ) -> None:
        """Record a successful read of ``face`` at ``now``; resets the fault backoff.

        ``wall`` is our wall clock at ``now`` (epoch seconds), if known: when the response
        has no ``Date``, a resumed face's ``created_at`` is read against it instead.
        """
        self.backoffs.success()
        self.polls += 1
        was_broken = self.server_clock.broken
        own = None if wall is None else dt.datetime.fromtimestamp(wall, tz=dt.timezone.utc)
        if server_date is not None and not self.server_clock.read(now, server_date):
            if not was_broken:  # it just stopped keeping time: as if it had sent none
                self.belief.anchor.redate(now, face, own)
            server_date = None
        self.belief.observe(now, face, server_date, own)

    @property
    def start(self) -> float | None:
        """Local clock time at which the face was created, when known."""
        return self.belief.start

    @property
    def skew_sample(self) -> float | None:
        """Server age minus ours, on a face this client created."""
        return self.belief.anchor.skew_sample

    def finished(self, now: float, face: Face) -> float | None:
        """The duration of a training that just reached its final success, if well measured."""
        return self.belief.finished(now, face)

    # ------------------------------------------------------------------ prices

    def _density(self, now: float, *, commit: bool) -> Density:
        """The belief as of ``now``, priced (:func:`~tavus_async._pricing.density`).

        ``commit`` keeps the progress model for judging the next poll (a query does not).
        """
        return density(
            self.belief,
            self._policy,
            now,
            c_prior=self._c_prior,
            attributed=self.attributed,
            commit=commit,
        )

    def eta(self, now: float) -> float | None:
        """The median of the belief about the finish (local time), or ``None`` if unknown.

        The prior's alone until progress says more; then their mixture.
        """
        if self.start is None and self.belief.first_seen is None:
            return None
        return median_finish(self._density(now, commit=False), now)

    # ------------------------------------------------------------------ delays

    def first_delay(self) -> float:
        """Delay before the first poll of a freshly created training."""
        return 0.0 if self.safety_net else self._policy.initial_interval

    def after_success(self, now: float, *, retry_after: float | None = None) -> float:
        """Delay before the next poll after a successful read at ``now``."""
        policy = self._policy
        if self.safety_net:
            delay = jittered(policy.callback_safety_interval, policy.jitter)
            if self.start is not None:
                # The start is a floor, never jittered earlier: before it, the callback is
                # expected and polling would only cost requests.
                delay = max(delay, self.start + policy.callback_safety_start - now)
            return max(delay, self.backoffs.hint(retry_after))
        cap = self._ramp_cap(now)
        self.belief.check_anchor(now)
        priced = self._density(now, commit=True)
        n2, _, progress_part = priced(now)
        model = self.belief.model
        if n2 > 0.0 and model is not None and (now > model.median() or model.slowdown > 1.0):
            # Progress runs up its bill once its forecast has failed, or all along when it
            # has a record of coming later than it forecasts. Other polls before the finish it
            # forecasts are progress doing its job.
            self.attributed += progress_part / n2
        delay = next_poll(now, cap, priced, min_interval=policy.min_interval)
        # Past the window, a fixed poller's pace (see _pricing): a long training is a late
        # finish the prior did not expect, and no thinning tail should see it later.
        delay = max(
            policy.min_interval, min(delay, tail_cap(self.belief, now, delay, reads=self.polls))
        )
        if self.belief.model is not None:
            self.belief.model.compact()
        jitter = policy.jitter
        if delay >= policy.max_interval:
            # At the failure watch the wait is a promise, not a price: a fraction of the
            # jitter spreads a fleet's polls as well, and all of it cost every training about
            # two reads (its mean wait 270 s instead of 285 s) for no latency of the finish.
            jitter *= WATCH_JITTER
        return max(jittered(delay, jitter), self.backoffs.hint(retry_after), self._pace(now))

    def _ramp_cap(self, now: float) -> float:
        """The ramp's next cap on the delay.

        The ramp watches for failures that show within minutes of a face's creation. A face
        resumed with a server age starts it where a face of that age would be (one resumed
        at creation, at its start): a face hours old is past them, and a ramp from its first
        read would only cost requests.
        """
        backoffs, start = self.backoffs, self.start
        if backoffs.ramp_steps > 0 or self.belief.anchor.source != "server" or start is None:
            return backoffs.next_ramp()
        return backoffs.ramp_from(now - start)

    def _pace(self, now: float) -> float:
        """The wait that keeps reads within ``FREE_READS`` plus one per average interval."""
        interval = self._policy.min_average_interval
        first_seen = self.belief.first_seen
        if interval is None or first_seen is None:
            return 0.0
        interval = min(interval, self._policy.max_interval)
        return first_seen + (self.polls + 1 - FREE_READS) * interval - now

    def after_error(self, *, retry_after: float | None = None) -> float:
        """Delay before retrying after a transient failure (connection, 5xx, 429, garbage)."""
        return self.backoffs.after_error(retry_after)
