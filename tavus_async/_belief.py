"""What one job's reads say about its finish. Pure: no I/O and no clock of its own.

:class:`Belief` takes in each successful read of a face (:meth:`Belief.observe`) and keeps
what the cadence needs to place the finish: the face's creation time on the local clock
(:mod:`tavus_async._anchor`), the change points of its progress, the progress model they give
(:mod:`tavus_async._estimate`), and the evidence of every poll that found it still training.

The finish is a mixture (:meth:`Belief.mixture`) of

* the **duration prior** (:mod:`tavus_async._prior`), counted from the face's creation. The
  creation time is known exactly for a job this client created. For a resumed job it is the
  face's ``created_at`` read against the server's ``Date``: corrected by the skew the client
  has seen on its own creations, checked against the progress observed, and dropped when
  implausible. With no start, the time left is the prior's form for a training of unknown
  age (even odds of one created just before the first read, and of one caught at a random
  moment). A server's start that the polls have made less likely than that form, and that
  progress cannot witness, is mixed with it rather than dropped (see
  :meth:`Belief.prior_sf_pdf`);
* the **progress model**, weighed by the prior (Bayes' rule), by its plausibility and by its
  track record (:func:`~tavus_async._estimate.progress_weight`). It is fed the highest
  reading's change points, and the noise of the readings below it (a running median).

:mod:`tavus_async._pricing` prices the two parts; :mod:`tavus_async._cadence` turns them into
delays.
"""

from __future__ import annotations

import datetime as dt
import math

from ._anchor import SHARE, Anchor
from ._estimate import (
    FORGIVE,
    KEEP_POINTS,
    PATIENCE,
    RESTART,
    STEP_SPREAD,
    ProgressModel,
    evidence_step,
    progress_model,
    progress_weight,
)
from ._models import Face
from ._prior import FRESH_WEIGHT, UNTOLD_FRESH_WEIGHT, DurationPrior

__all__ = ["Belief"]

#: Step of the running median of the noise, per read (a quarter of a point).
NOISE_STEP = 0.0025
#: Seconds from its claimed creation within which a resumed face was handed off to us, and
#: the most progress it may show then.
HANDOFF, HANDOFF_PROGRESS = 600.0, 0.1
#: The widest gap between the reads around a finish, as a share of the duration, for the
#: finish to teach (dated within a tenth either way).
BRACKET = 0.2
#: Seconds before a callback within which the outcome it reports is taken to have come.
CALLBACK_SLACK = 60.0
_TINY = 1e-300


class Belief:
    """Everything one job's reads have said about its finish, and the mixture it gives."""

    __slots__ = (
        "anchor",
        "evidence",
        "first_progress",
        "first_seen",
        "hinted_at",
        "last_poll",
        "model",
        "noise",
        "points",
        "previous_poll",
        "prior",
        "restarted",
        "step",
        "tuning",
    )

    def __init__(self, prior: DurationPrior, anchor: Anchor) -> None:
        #: The duration prior this job uses (a snapshot of the client's, taken at the start).
        self.prior = prior
        #: When the face was created, and where that came from.
        self.anchor = anchor
        #: Local time of the first read, and the progress it showed (if any).
        self.first_seen: float | None = None
        self.first_progress: float | None = None
        #: Local time a callback last said the face changed (not carried in a state).
        self.hinted_at: float | None = None
        #: Local times of the last read and of the one before it.
        self.last_poll: float | None = None
        self.previous_poll: float | None = None
        #: Progress change points: (local time, fraction), the first read first.
        self.points: list[tuple[float, float]] = []
        #: The progress model as last committed (the prediction the next read is judged by).
        self.model: ProgressModel | None = None
        #: The model's expected time to the next change, for judging whether it came in time.
        self.step: float | None = None
        #: Log-odds of progress against the prior, from the polls that found it training.
        self.evidence = 0.0
        #: Phoenix-4.5 tuning after the preview: progress has nothing left to say.
        self.tuning = False
        #: How far readings fall below the highest one: a running median (a fraction).
        self.noise = 0.0
        #: Progress went well back at least once: since then it counts a stage, not the
        #: training, and tells nothing of the face's age.
        self.restarted = False

    @property
    def start(self) -> float | None:
        """Local clock time at which the face was created, when known and trusted."""
        return self.anchor.trusted

    def observe(
        self,
        now: float,
        face: Face,
        server_date: dt.datetime | None,
        wall: dt.datetime | None = None,
    ) -> None:
        """Take in a successful read of ``face`` at ``now`` (``wall``: our wall clock then,
        which dates ``created_at`` when the server sent no ``Date``)."""
        self.anchor.read(now, face, server_date, first=self.first_seen is None, wall=wall)
        if self.first_seen is None:
            self.first_seen, self.first_progress = now, face.progress
        before, self.last_poll = self.last_poll, now
        self.previous_poll = before
        if before is not None:
            self.anchor.weigh(self.prior, self.first_seen, before, now)
        if before is not None and self.model is not None:
            self.evidence = evidence_step(
                self.evidence,
                model=self.model,
                prior_sf=self.prior_sf(now),
                prior_sf_before=self.prior_sf(before),
                before=before,
                now=now,
            )
        status = face.status
        if status.is_success and not status.is_failure:
            self.tuning, self.points, self.model = True, [], None
            return
        progress = face.progress
        # A status this version does not know ("in_progress", "queued") is still a training
        # under way: its progress counts as much as under "started" (ignoring it left an
        # informative curve to the prior: 40 s late instead of 4 on a steady 3.2 h training).
        if progress is None or status.is_terminal:
            return
        points = self.points
        if points and progress <= points[-1][1]:
            if progress < points[-1][1] - RESTART:
                # Progress went well back: start estimating afresh from here.
                self.points, self.model, self.evidence = [(now, progress)], None, 0.0
                self.noise, self.restarted = 0.0, True
            else:
                self._hear(points[-1][1] - progress)
            return
        self._hear(0.0)
        when = now if before is None else 0.5 * (before + now)
        if points and self.evidence < 0.0 and self._on_time(when - points[-1][0]):
            self.evidence *= FORGIVE
        points.append((when, progress))
        if len(points) > KEEP_POINTS + 2:
            del points[2]
        self.model = self._unweighed(now)
        if self.model is not None:
            self.step = self.model.step

    def _hear(self, shortfall: float) -> None:
        # The points follow the highest reading; readings that scatter both ways around the
        # truth put that maximum ahead of it by, on average, how far readings fall below it.
        if shortfall > self.noise:
            self.noise += NOISE_STEP
        elif shortfall < self.noise:
            self.noise = max(0.0, self.noise - NOISE_STEP)

    def _on_time(self, step: float) -> bool:
        # The change came no later than the model's 90 % bound for one step.
        return self.step is None or step <= self.step * math.exp(1.28 * STEP_SPREAD)

    @property
    def _counted_from(self) -> float | None:
        """Where progress counts from: the face's creation, unless it restarted since.

        A stage's count over the face's whole age is no rate: with it, the slowest credible
        rate placed each later stage's finish hours late (three stages from 0 to 99/100:
        seen after 10 s for 80 requests; without it, 2.8 s for 85).
        """
        return None if self.restarted else self.start

    @property
    def patience(self) -> float:
        """How long a step must last before its forecast can fail: a tenth of the prior's
        median (21 minutes for the documented 3-4 h).

        Final plateaus of a few minutes past a forecast of one are common and worth
        watching closely: judged failed at their 90th percentile alone, the realistic
        curve was seen after 15.3 s instead of 14.1 s and the noisy one after 14.5 s
        instead of 12.9 s (1,500 trainings each, simulation); with this patience, after
        14.0 and 13.0 s.
        """
        return PATIENCE * self.prior.median

    def check_anchor(self, now: float) -> None:
        """Let the progress observed overrule a contradicted or missing creation time
        (unless progress restarted: then it explains the age of a stage, not the face's)."""
        if self.restarted:
            # A stage's climb, read as the face's age, made a right server age of 2.7 h
            # a wrong one of 1.6 h on a face in its second stage: polled at the failure
            # watch's pace where its finish was due (seen after four minutes).
            return
        self.anchor.check(self.prior, self.points, self.first_seen, now)

    def prior_sf(self, t: float) -> float:
        """The prior's chance that the training is still running at local time ``t``."""
        return self.prior_sf_pdf(t)[0]

    def prior_sf_pdf(self, t: float) -> tuple[float, float]:
        """The prior's survival and density of the finish at local time ``t``.

        From a start this client trusts: the prior's. From none: the prior's form for a
        training of unknown age, from the first read. From a server's start that the polls
        have made the less likely, not yet ruled out: a mixture of the two at the odds
        ``SHARE``, in which survival weighs each part: the server's counted from creation
        (a face said to be eight hours old and still training is a story the prior finds
        unlikely), the unknown age's from the first read (by its form, an age the face
        trains at).
        """
        prior, first = self.prior, self.first_seen
        start = self.anchor.trusted
        if start is not None:
            return prior.sf(t - start), prior.pdf(t - start)
        r = t - (first if first is not None else t)
        claim = self.anchor.start
        if claim is None:
            fresh = FRESH_WEIGHT if self.anchor.told else UNTOLD_FRESH_WEIGHT
            return prior.residual_sf(r, fresh), prior.residual_pdf(r, fresh)
        u = 1.0 - SHARE
        return (
            SHARE * prior.sf(t - claim) + u * prior.residual_sf(r),
            SHARE * prior.pdf(t - claim) + u * prior.residual_pdf(r),
        )

    def _unweighed(self, now: float) -> ProgressModel | None:
        """What progress alone predicts as of ``now``, before the prior is weighed in."""
        return progress_model(
            self.points, start=self._counted_from, now=now, noise=self.noise, patience=self.patience
        )

    def progress_model(self, now: float) -> ProgressModel | None:
        """What progress predicts as of ``now``, weighed by the prior when the start is known."""
        if self.tuning:
            return None
        model = self._unweighed(now)
        if model is not None and self.start is not None:
            start = self.start
            model.weigh(lambda t: self.prior.pdf(t - start), now)
        return model

    def mixture(self, now: float, *, commit: bool) -> tuple[float, float, ProgressModel | None]:
        """``(a, b, model)``: the finish's density is ``a · prior + b · model`` from ``now``.

        ``a`` and ``b`` are the parts' weights over their survival at ``now``. ``commit``
        keeps the progress model for judging the next read (a query does not).
        """
        model = self.progress_model(now)
        if commit:
            self.model = model
            if model is not None:
                self.step = model.step
        weight = 0.0
        if model is not None:
            changes = sum(1 for p in self.points[1:] if p[1] > self.points[0][1])
            weight = progress_weight(
                model,
                changes=changes,
                evidence=self.evidence,
                prior=self.prior,
                start=self.start,
                now=now,
            )
        a = (1.0 - weight) / max(self.prior_sf(now), _TINY)
        b = weight / max(model.sf(now), _TINY) if model is not None and weight > 0.0 else 0.0
        return a, b, model

    def _measured_start(self) -> float | None:
        """The start, when this client measured it (not one progress explained or restored:
        a bending curve explains ages loosely, and the client learns only from what it
        measured)."""
        if self.anchor.source in ("observed", "witnessed"):
            return None
        return self.start

    def _handed_off(self) -> bool:
        """A server's start read within ``HANDOFF`` of the creation it claims, with progress
        at that first read (if any) no further than ``HANDOFF_PROGRESS``: the face was
        handed to this client as it was created, and a wrong clock could hardly tell a
        different story (a ``created_at`` hours off reads as a face hours old, or untold;
        one that makes a face hours in look fresh is belied by its progress, if it has
        any)."""
        first, start, progress = self.first_seen, self.anchor.start, self.first_progress
        if first is None or start is None or first - start > HANDOFF:
            return False
        return progress is None or progress <= HANDOFF_PROGRESS

    def running(self, now: float) -> float | None:
        """How long the training has run, from a start :meth:`finished` would learn from.

        A server's start counts only when handed off (see :meth:`_handed_off`): no finish
        can yet vouch for the age of a face picked up mid-way.
        """
        start = self._measured_start()
        if start is None or (self.anchor.source == "server" and not self._handed_off()):
            return None
        return now - start

    def finished(self, now: float, face: Face) -> float | None:
        """The duration of a training that just reached its final success, if well measured.

        The finish lies between the previous read and this one: their midpoint, from a start
        this client measured (see :meth:`_measured_start`). ``None`` for failures, unknown or
        unmeasured starts, Phoenix-4.5 previews, a face first read finished (its finish is
        anywhere before), reads around the finish more than ``BRACKET`` of the duration
        apart, and a server's start that the finish does not vouch for (see
        :meth:`_vouched`). A callback since the previous read (:attr:`hinted_at`) dates the
        finish to within ``CALLBACK_SLACK`` before it.
        """
        start = self._measured_start()
        before, hinted = self.previous_poll, self.hinted_at
        if before is not None and hinted is not None and before < hinted <= now:
            # Tavus calls back on the outcome: the finish came shortly before the callback,
            # not anywhere since the read before it (hours, when a callback is relied on).
            before = max(before, hinted - CALLBACK_SLACK)
        if not face.status.is_success or start is None or before is None:
            return None
        tuning = face.finetune_status
        if (tuning is not None and not tuning.is_success) or (
            tuning is None and face.is_phoenix_45
        ):
            return None
        if self.anchor.source == "server" and not self._vouched(before, now):
            return None
        duration = 0.5 * (before + now) - start
        # A finish dated loosely teaches a wrong length: a wait resolved by a callback reads
        # at its start and at the finish, and their midpoint taught half of 3.5 h.
        return duration if now - before <= BRACKET * duration else None

    def _vouched(self, before: float, now: float) -> bool:
        """Whether a server's start of a face that finished between ``before`` and ``now``
        is worth learning from: handed off, or made by all the reads (the finish included)
        at least as likely as a face of unknown age, at even odds
        (:meth:`~tavus_async._anchor.Anchor.finish_odds`).

        A clock hours off teaches durations hours off, and every training the client
        waits for after them pays: a worker that picked faces up mid-way from a server
        whose ``created_at`` ran 2 h ahead learned 1.0-2.4 h for trainings of 2.8-4.2 h,
        and then spent 147 requests on each silent one it created instead of 70.
        """
        first = self.first_seen
        if self._handed_off():
            return True
        return first is not None and self.anchor.finish_odds(self.prior, first, before, now) >= 0
