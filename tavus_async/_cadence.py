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

**Durable.** :meth:`Cadence.to_state` and :meth:`Cadence.from_state` carry everything above
across processes (:mod:`tavus_async._durable`). A stateless worker that passes the state
along polls as one long-lived process would. See ``benchmarks/request_economy.py`` for what
the cadence costs and buys on progress shapes built to break it.
"""

from __future__ import annotations

import datetime as dt

from ._anchor import Anchor
from ._backoffs import Backoffs
from ._belief import Belief
from ._durable import VERSION, CadenceState
from ._models import Face
from ._policies import PollPolicy, jittered
from ._pricing import Density, density, median_finish, next_poll, prior_price, tail_cap
from ._prior import DurationPrior
from ._server_clock import ServerClock, shared_time

__all__ = ["Cadence"]

#: Reads a wait may make before ``PollPolicy.min_average_interval`` counts (the start's ramp).
FREE_READS = 4
#: The share of ``PollPolicy.jitter`` taken off a wait at the failure watch (``max_interval``).
WATCH_JITTER = 0.5
#: A restored state this old (or from the future) has an unusable clock.
MAX_ELAPSED = 30 * 24 * 3600.0
#: A restore measured this much sooner than the suggested delay distrusts the clock.
EARLY = 0.25


class Cadence:
    """Poll-delay decisions for one job. See the module docstring for the rules."""

    __slots__ = (
        "_attributed",
        "_backoffs",
        "_c_prior",
        "_clock",
        "_policy",
        "_polls",
        "belief",
        "safety_net",
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
        self._attributed = 0.0
        self._polls = 0
        # The prior's price: window_interval is the spacing at its median's hazard (as 2c).
        self._c_prior = prior_price(policy, prior)
        # The server's Date at creation relates our clock to the one other workers read.
        self._clock = ServerClock(start, server_date)
        self._backoffs = Backoffs(policy)

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
        self._backoffs.success()
        self._polls += 1
        was_broken = self._clock.broken
        if server_date is not None and not self._clock.read(now, server_date):
            if not was_broken:  # it just stopped keeping time: so much for its created_at
                self.belief.anchor.distrust()
            server_date = None
        own = None if wall is None else dt.datetime.fromtimestamp(wall, tz=dt.timezone.utc)
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
            attributed=self._attributed,
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
            return max(delay, self._backoffs.hint(retry_after))
        cap = self._ramp_cap(now)
        self.belief.check_anchor(now)
        priced = self._density(now, commit=True)
        n2, _, progress_part = priced(now)
        model = self.belief.model
        if n2 > 0.0 and model is not None and (now > model.median() or model.slowdown > 1.0):
            # Progress runs up its bill once its forecast has failed, or all along when it
            # has a record of coming later than it forecasts. Other polls before the finish it
            # forecasts are progress doing its job.
            self._attributed += progress_part / n2
        delay = next_poll(now, cap, priced, min_interval=policy.min_interval)
        # Past the window, a fixed poller's pace (see _pricing): a long training is a late
        # finish the prior did not expect, and no thinning tail should see it later.
        delay = max(
            policy.min_interval, min(delay, tail_cap(self.belief, now, delay, reads=self._polls))
        )
        if self.belief.model is not None:
            self.belief.model.compact()
        jitter = policy.jitter
        if delay >= policy.max_interval:
            # At the failure watch the wait is a promise, not a price: a fraction of the
            # jitter spreads a fleet's polls as well, and all of it cost every training about
            # two reads (its mean wait 270 s instead of 285 s) for no latency of the finish.
            jitter *= WATCH_JITTER
        return max(jittered(delay, jitter), self._backoffs.hint(retry_after), self._pace(now))

    def _ramp_cap(self, now: float) -> float:
        """The ramp's next cap on the delay.

        The ramp watches for failures that show within minutes of a face's creation. A face
        resumed with a server age starts it where a face of that age would be (one resumed
        at creation, at its start): a face hours old is past them, and a ramp from its first
        read would only cost requests.
        """
        backoffs, start = self._backoffs, self.start
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
        return first_seen + (self._polls + 1 - FREE_READS) * interval - now

    def after_error(self, *, retry_after: float | None = None) -> float:
        """Delay before retrying after a transient failure (connection, 5xx, 429, garbage)."""
        return self._backoffs.after_error(retry_after)

    # ------------------------------------------------------------------ durable state

    def adopt(self, policy: PollPolicy, face_id: str) -> Cadence:
        """The same memory under another policy (a later wait with ``policy=``)."""
        now = self._policy.clock()
        state = self.to_state(face_id, now=now, wall=0.0, delay=0.0)
        adopted = Cadence.from_state(state, policy, now=now, server_date=None, wall=0.0)
        adopted._clock.offset = self._clock.offset
        adopted.belief.anchor.skew_sample = self.belief.anchor.skew_sample
        return adopted

    def to_state(self, face_id: str, *, now: float, wall: float, delay: float) -> CadenceState:
        """Everything this cadence knows, on a clock other processes can read.

        ``wall`` is the wall clock's epoch seconds, used only when no server ``Date`` was seen.
        """
        offset = self._clock.offset
        if offset is not None:
            clock, saved = "date", now + offset
        else:
            clock, saved = "wall", wall

        def rel(t: float | None) -> float | None:
            return None if t is None else round(t - now, 1)

        belief = self.belief
        return CadenceState(
            version=VERSION,
            face_id=face_id,
            clock=clock,
            saved=round(saved, 1),
            delay=round(delay, 1),
            start=rel(belief.anchor.start),
            source=belief.anchor.source,
            first=rel(belief.first_seen),
            last=rel(belief.last_poll),
            points=tuple((round(t - now, 1), round(p * 1000)) for t, p in belief.points),
            evidence=round(belief.evidence, 3),
            anchor=round(belief.anchor.evidence, 3),
            attributed=round(self._attributed, 2),
            polls=self._polls,
            ramp=self._backoffs.ramp_steps,
            errors=self._backoffs.errors,
            step=None if belief.step is None else round(belief.step, 1),
            noise=round(belief.noise, 4),
            tuning=belief.tuning,
            prior=(round(belief.prior.median, 1), round(belief.prior.spread, 4)),
            safety_net=self.safety_net,
        )

    @classmethod
    def from_state(
        cls,
        state: CadenceState,
        policy: PollPolicy,
        *,
        now: float,
        server_date: dt.datetime | None,
        wall: float,
    ) -> Cadence:
        """The cadence ``state`` describes, in this process's clock at ``now``.

        Elapsed time since the state was saved is measured on its own clock (the server's
        ``Date`` of this read, or the wall clock); when that is impossible, absurd, or far
        shorter than the delay the cadence had suggested, that delay is taken instead.
        """
        shared: float | None = None
        if state.clock == "date" and server_date is not None:
            shared = shared_time(server_date)
        elif state.clock == "wall":
            shared = wall
        elapsed = None if shared is None else shared - state.saved
        if elapsed is None or not -1.0 <= elapsed <= MAX_ELAPSED:
            elapsed = state.delay
        elif elapsed < EARLY * state.delay:
            # Back far sooner than suggested: more likely a clock that does not move with the
            # worker's (virtual or accelerated time, under a server whose Date or our wall
            # clock is real; a reset) than so early a worker. Taking the delay as elapsed
            # errs by at most one delay; trusting such a clock would err by every delay.
            elapsed = state.delay
        base = now - max(elapsed, 0.0)

        def local(t: float | None) -> float | None:
            return None if t is None else base + t

        prior = DurationPrior.of(*state.prior)
        cadence = cls(policy, prior, safety_net=state.safety_net, start=local(state.start))
        belief = cadence.belief
        belief.anchor.source = state.source
        belief.anchor.evidence = state.anchor
        belief.first_seen = local(state.first)
        belief.last_poll = local(state.last)
        belief.points = [(base + t, p / 1000.0) for t, p in state.points]
        belief.evidence = state.evidence
        belief.step = state.step
        belief.noise = state.noise
        belief.tuning = state.tuning
        cadence._attributed = state.attributed
        cadence._polls = state.polls
        cadence._backoffs.replay(ramp=state.ramp, errors=state.errors)
        # The model as the saving cadence last committed it (at its last poll), so the next
        # read is judged against the same prediction.
        last = belief.last_poll
        belief.model = belief.progress_model(base if last is None else last)
        if belief.model is not None:
            belief.model.compact()
        return cadence
