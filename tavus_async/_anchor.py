"""When the face was created, on our clock, and how far to believe it. Pure: no I/O.

The duration prior counts from the face's creation, so the cadence needs that moment on its
own (local, monotonic) clock:

* **local**: this client created the face and noted the time. Exact; never questioned. The
  server's view of the same face (``created_at`` against its ``Date``) is compared with it,
  and the difference is reported as a *skew sample*: a server whose clocks are off, or a
  ``created_at`` in another time zone, shows up here first and corrects later resumes;
* **server**: a resumed face; its ``created_at`` read against the server's ``Date`` header,
  corrected by the client's skew (from a server that sends no ``Date``, or one whose
  ``Date`` turns out not to keep time with our clock: against our own wall clock, which
  the client keeps in step with its own; see :meth:`Anchor.redate`). Dropped at once when
  absurd (more than five minutes in the future, or more than two weeks old), and on either
  of two kinds of evidence:

  - *survival*: the anchor predicts a finish ("it is three hours in, so it ends soon"). It is
    weighed against an unknown start by the survival each predicted since the first read,
    from even odds. Once the polls have made it the less likely, the start no longer
    informs progress (:attr:`Anchor.trusted`), but the duration prior stays a mixture of
    both (see :meth:`~tavus_async._belief.Belief.prior_sf_pdf`), in which the server's age
    also counts the prior's chance that a face that old is still training: a training
    resumed late that simply runs long is still watched where its finish is due, and an
    age the prior finds absurd weighs little. All but ruled out (log-odds below ``DROP``),
    it is dropped;
  - *progress*: once progress has moved enough, the age it explains (progress over its
    rate) is compared with the anchor's. Curves are rarely straight, so only a factor of
    four (plus an hour) is trusted to mean clock trouble. Survival doubts an age that is
    too old, or a training that runs long; progress tells which. A doubted age that
    progress explains (or explains a greater age, within a quarter) is **witnessed**:
    trusted again, for good, however far a bending curve overshoots. One it explains as
    younger is replaced by progress's age. An age the prior finds implausible for a face
    still training (ten or twenty hours, from a curve creeping towards its end) replaces
    nothing;

* **observed**: the age progress explains, when the server's is unknown, was dropped, or
  was doubted and progress explains a younger one;
* **distrusted** / **untold** / unknown: no start; the prior's form for a training of
  unknown age is used instead (:meth:`~tavus_async._prior.DurationPrior.residual_sf`).
  *Untold* is an age the server never gave (a ``created_at`` absurd at the first read);
  a face with no ``created_at`` at all keeps no source. *Distrusted* is one it gave and
  the client later dropped. The two differ in the odds that the face was just created.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

from ._models import Face
from ._prior import DurationPrior

__all__ = ["SOURCES", "Anchor"]

#: Where a start can come from (:attr:`Anchor.source`; ``None`` before the first read).
SOURCES = ("local", "server", "doubted", "witnessed", "observed", "distrusted", "untold")

#: A server-derived age outside these bounds (seconds) is clock trouble. A ``created_at`` a
#: few minutes ahead is a clock a little fast (the database's, the web server's that sends
#: the ``Date``, or ours against either: seconds apart are common), read as just created;
#: hours ahead is a time zone, not a fast clock.
MIN_AGE, MAX_AGE = -300.0, 14 * 24 * 3600.0
#: A server-derived age more than this factor (plus the margin, seconds) away from the age
#: progress explains means the server's clocks cannot be trusted for this job.
FACTOR, MARGIN = 4.0, 3600.0
#: Survival below which the prior finds an age that progress explains implausible (for the
#: default prior, ages past about 8.5 h): a bending curve, not a witness.
PLAUSIBLE = 0.01
#: A doubted server age no more than this factor older than the age progress explains is
#: trusted again.
CONFIRM = 1.25
#: Changes and span (seconds) needed before progress can witness the age.
CHANGES, SPAN = 3, 600.0
#: Prior odds (log) of a server-derived start against an unknown one: even.
ODDS = 0.0
#: The share of a server-derived start the polls have made the less likely in the prior.
SHARE = 1.0 / (1.0 + math.exp(-ODDS))
#: Log-odds below which a server-derived start is dropped altogether (about one in a thousand).
DROP = -7.0
_TINY = 1e-300


class Anchor:
    """The face's creation time on the local clock (``start``), and where it came from."""

    __slots__ = ("_skew", "evidence", "skew_sample", "source", "start")

    def __init__(self, start: float | None = None, *, clock_skew: float | None = None) -> None:
        #: Local clock time at which the face was created, when known (a server's claim,
        #: while it is weighed against an unknown age: see :attr:`trusted`).
        self.start = start
        #: "local", "server", "doubted" (a server's that the polls made the less likely),
        #: "witnessed" (a doubted one progress explains), "observed", "distrusted", "untold"
        #: (absurd at the first read), or None (before the first read, or no created_at).
        self.source: str | None = "local" if start is not None else None
        #: Server age minus our own, on a face this client created (for the client).
        self.skew_sample: float | None = None
        #: Log-odds of a server-derived start against an unknown one.
        self.evidence = ODDS
        self._skew = clock_skew

    def read(
        self,
        now: float,
        face: Face,
        server_date: dt.datetime | None,
        *,
        first: bool,
        wall: dt.datetime | None = None,
    ) -> None:
        """Take in what a read of the face says about its age (``first``: the first read).

        ``wall`` is our own wall clock, for a response without a ``Date``: a first read
        then takes ``created_at`` against it (and no skew seen through ``Date`` applies).
        """
        created = face.created_at
        if created is None:
            return
        if server_date is not None and self.source == "local":
            if self.skew_sample is None and self.start is not None:
                server_age = (server_date - created).total_seconds()
                self.skew_sample = server_age - (now - self.start)
            return
        if self.source is not None or not first:
            return  # decided at the first read
        if server_date is not None:
            age = (server_date - created).total_seconds() - (self._skew or 0.0)
        elif wall is not None:
            age = (wall - created).total_seconds()
        else:
            return
        self._date(now, age, absurd="untold")

    def _date(self, now: float, age: float, *, absurd: str) -> None:
        if MIN_AGE <= age <= MAX_AGE:
            self.start, self.source = now - max(age, 0.0), "server"
        else:
            self.start, self.source = None, absurd

    def redate(self, now: float, face: Face, wall: dt.datetime | None) -> None:
        """The server's ``Date`` turned out not to keep time: a start read against it is
        read again against ``wall`` (our wall clock at ``now``), as from a server that
        sends no ``Date``; without one, it is dropped.

        Such a ``Date`` comes from a server on virtual or accelerated time stamped with the
        machine's real clock, or from a cache: its ``created_at`` may still be right. (Silent
        faces picked up mid-way on such a server, their age dropped, were seen after 90.5 s
        for 41 requests; dated by our wall clock, after 52.5 s for 46.)
        """
        if self.source not in ("server", "doubted", "witnessed", "untold"):
            return
        # Whatever the polls said of the old start, they said it of another claim.
        self.evidence = ODDS
        if wall is None or face.created_at is None:
            self.start, self.source = None, "distrusted"
            return
        age = (wall - face.created_at).total_seconds()
        self._date(now, age, absurd="distrusted" if self.source != "untold" else "untold")

    def weigh(self, prior: DurationPrior, first_seen: float, before: float, now: float) -> None:
        """Survival evidence: a server-derived start that outlives its own prediction loses
        ground against an unknown one (and with it, its share of the prior: see
        :meth:`~tavus_async._belief.Belief.prior_sf_pdf`); all but ruled out, it goes."""
        if self.source not in ("server", "doubted") or self.start is None:
            return
        anchored, unanchored = self._survived(prior, first_seen, before, now)
        self.evidence += math.log(anchored) - math.log(unanchored)
        if self.evidence < DROP:
            self.start, self.source = None, "distrusted"
        elif self.evidence < 0.0:
            # Doubted for good, as it was dropped for good: a start that comes back into
            # favour late (an unknown age's hazard rises past the claim's) would otherwise
            # inform progress again, and teach the client an 11-hour training.
            self.source = "doubted"

    def finish_odds(
        self, prior: DurationPrior, first_seen: float, before: float, now: float
    ) -> float:
        """Log-odds of the server's start against an unknown one for a face that finished
        between ``before`` and ``now``, weighed by :meth:`weigh` up to ``now``: the prior's
        chance that a face as old as claimed at ``first_seen`` was still training, the
        survival each story gave the reads up to ``before``, and the chance each gave of
        finishing in the last interval (not of surviving it, as :meth:`weigh` counted)."""
        if self.start is None:
            return -math.inf
        odds = math.log(max(prior.sf(first_seen - self.start), _TINY)) + self.evidence
        anchored, unanchored = self._survived(prior, first_seen, before, now)
        for sign, survived in ((1.0, anchored), (-1.0, unanchored)):
            odds += sign * (math.log(max(1.0 - survived, _TINY)) - math.log(survived))
        return odds

    def _survived(
        self, prior: DurationPrior, first_seen: float, before: float, now: float
    ) -> tuple[float, float]:
        """The chance, from ``before`` to ``now``, that the training kept going: by the
        server's start, and by an unknown age (from ``first_seen``). Both positive."""
        start = self.start if self.start is not None else first_seen
        anchored = max(prior.sf(now - start), _TINY) / max(prior.sf(before - start), _TINY)
        unanchored = max(prior.residual_sf(now - first_seen), _TINY) / max(
            prior.residual_sf(before - first_seen), _TINY
        )
        return anchored, unanchored

    @property
    def told(self) -> bool:
        """Whether the server ever gave an age for this face (a start since doubted or
        dropped included): what the odds of a face of unknown age being fresh depend on."""
        return self.source not in (None, "untold")

    @property
    def trusted(self) -> float | None:
        """The start, unless it is a server's that the polls since the first read have made
        the less likely (``doubted``)."""
        return None if self.source == "doubted" else self.start

    def check(
        self,
        prior: DurationPrior,
        points: Sequence[tuple[float, float]],
        first_seen: float | None,
        now: float,
    ) -> None:
        """Progress as a witness of the age: overrules a contradicted or missing start;
        restores a doubted one it explains, replaces one it explains as younger. An age
        the prior finds implausible for a face still training replaces nothing (a bending
        curve's: progress over a late rate)."""
        if self.source in ("local", "observed", "witnessed"):
            return
        moves = [p for p in points[1:] if p[1] > points[0][1]] if points else []
        if len(moves) < CHANGES or moves[-1][0] - moves[0][0] < SPAN:
            return
        rate = (moves[-1][1] - moves[0][1]) / (moves[-1][0] - moves[0][0])
        if rate <= 0.0:
            return
        explained = moves[-1][1] / rate + (now - moves[-1][0])
        # Survival doubts an age that is too old, or a training that runs long: progress
        # that explains at least that age rules out the first, however a bending curve
        # overshoots it; one that explains a younger age agrees (replaced below).
        doubted = self.start if self.source == "doubted" else None
        if doubted is not None and now - doubted <= CONFIRM * explained:
            self.source = "witnessed"
            return
        if prior.sf(explained) < PLAUSIBLE:
            return
        if self.trusted is not None:
            claimed = now - self.trusted
            if explained / FACTOR - MARGIN <= claimed <= FACTOR * explained + MARGIN:
                return
        observed = now - explained
        if first_seen is not None:
            observed = min(observed, first_seen)  # created no later than first seen
        self.start, self.source = observed, "observed"
