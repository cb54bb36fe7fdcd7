"""A cadence as a state other processes can read, and back. Pure: no I/O, no clock of its own.

:func:`snapshot` writes everything a :class:`~tavus_async._cadence.Cadence` knows as a
:class:`~tavus_async._durable.CadenceState` (which :mod:`tavus_async._durable` encodes as
the opaque token), with its moments relative to when it was saved and that moment on a clock
another process can read: the server's ``Date`` when one was seen, else the wall clock.
:func:`restore` puts them back on this process's clock. A stateless worker that passes the
state along then polls as one long-lived process would.
"""

from __future__ import annotations

import datetime as dt

from ._cadence import Cadence
from ._durable import VERSION, CadenceState
from ._policies import PollPolicy
from ._prior import DurationPrior
from ._server_clock import shared_time

__all__ = ["adopt", "restore", "snapshot"]

#: A restored state this old (or from the future) has an unusable clock.
MAX_ELAPSED = 30 * 24 * 3600.0
#: A restore measured this much sooner than the suggested delay distrusts the clock.
EARLY = 0.25


def snapshot(
    cadence: Cadence, face_id: str, *, now: float, wall: float, delay: float
) -> CadenceState:
    """Everything ``cadence`` knows at ``now``, on a clock other processes can read.

    ``wall`` is the wall clock's epoch seconds, used only when no server ``Date`` was seen;
    ``delay`` is the wait suggested before the next poll.
    """
    offset = cadence.server_clock.offset
    if offset is not None:
        clock, saved = "date", now + offset
    else:
        clock, saved = "wall", wall

    def rel(t: float | None) -> float | None:
        return None if t is None else round(t - now, 1)

    belief = cadence.belief
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
        attributed=round(cadence.attributed, 2),
        polls=cadence.polls,
        ramp=cadence.backoffs.ramp_steps,
        errors=cadence.backoffs.errors,
        step=None if belief.step is None else round(belief.step, 1),
        noise=round(belief.noise, 4),
        tuning=belief.tuning,
        restarted=belief.restarted,
        prior=(round(belief.prior.median, 1), round(belief.prior.spread, 4)),
        safety_net=cadence.safety_net,
        date_broken=cadence.server_clock.broken,
    )


def restore(
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
    cadence = Cadence(policy, prior, safety_net=state.safety_net, start=local(state.start))
    if state.date_broken:
        cadence.server_clock.broken = True
    elif state.clock == "date":
        # Timed on the Date: the next read checks it against the time taken to have passed
        # (one that barely moved over a long delay is found out, as one process finds it).
        cadence.server_clock.resume(base, state.saved)
    belief = cadence.belief
    belief.anchor.source = state.source
    belief.anchor.evidence = state.anchor
    belief.first_seen = local(state.first)
    # The first read's progress is the first change point, when that was the first read.
    if state.points and state.first is not None and state.points[0][0] == state.first:
        belief.first_progress = state.points[0][1] / 1000.0
    belief.last_poll = local(state.last)
    belief.points = [(base + t, p / 1000.0) for t, p in state.points]
    belief.evidence = state.evidence
    belief.step = state.step
    belief.noise = state.noise
    belief.tuning = state.tuning
    belief.restarted = state.restarted
    cadence.attributed = state.attributed
    cadence.polls = state.polls
    cadence.backoffs.replay(ramp=state.ramp, errors=state.errors)
    # The model as the saving cadence last committed it (at its last poll), so the next
    # read is judged against the same prediction.
    last = belief.last_poll
    belief.model = belief.progress_model(base if last is None else last)
    if belief.model is not None:
        belief.model.compact()
    return cadence


def adopt(cadence: Cadence, policy: PollPolicy, face_id: str) -> Cadence:
    """The same memory under another policy (a later wait with ``policy=``)."""
    now = cadence.policy.clock()
    state = snapshot(cadence, face_id, now=now, wall=0.0, delay=0.0)
    adopted = restore(state, policy, now=now, server_date=None, wall=0.0)
    adopted.server_clock.offset = cadence.server_clock.offset
    adopted.belief.anchor.skew_sample = cadence.belief.anchor.skew_sample
    return adopted
