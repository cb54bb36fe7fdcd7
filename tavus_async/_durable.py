"""The cadence's memory of one job, as a small versioned token that survives processes.

:class:`CadenceState` is an attrs model (un)structured by the package's one cattrs converter.
:func:`encode` turns it into ``"tc1." + base64url(zlib(JSON))``, about 300 characters.

**Time.** Worker processes, or machines, do not share a monotonic clock. Times in the state
are seconds relative to ``saved``, the moment the state was written, on a clock every worker
can read: the API server's ``Date`` header (``clock="date"``). Without a ``Date``, the wall
clock (``"wall"``) is used. When a worker restores a state it measures how long ago that was
on the same kind of clock. If the answer is absurd (negative, or more than 30 days), or
under a quarter of the delay the cadence had suggested (a clock that does not move with the
worker's: a server on virtual or accelerated time whose ``Date`` is real, a reset), it takes
that delay instead. A ``Date`` that moves far less than that delay is found out as a
``Date`` that does not keep time (see :mod:`tavus_async._server_clock`), as one process
finds it out over its reads, and ``date_broken`` says so from then on.

The token holds no secret: no API key, no callback token. Anything else about it (a version
this release does not know, a truncated or edited token, another face's state) is refused
with :class:`~tavus_async.CadenceStateError`, never mis-read.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import zlib
from typing import Any

import attrs

from ._anchor import SOURCES
from ._converter import structure, unstructure
from ._errors import CadenceStateError, ResponseValidationError
from ._estimate import EVIDENCE_BOUNDS, KEEP_POINTS
from ._policies import DURATION_BOUNDS

__all__ = ["VERSION", "CadenceState", "decode", "encode"]

#: The state format this release writes and reads.
VERSION = 1
_PREFIX = "tc"
#: Longest token accepted (a valid one is far shorter).
MAX_TOKEN = 4096
#: Bounds no state this release writes goes beyond: a token outside them was edited (or
#: written by code that is not ours), and is refused rather than acted on. Times are
#: seconds from ``saved`` (a few years either way); counts are of polls and steps.
MAX_TIME, MAX_COUNT, MAX_ATTRIBUTED, MAX_ANCHOR, MAX_SPREAD = 1e8, 10**9, 1e6, 1e3, 10.0


@attrs.frozen(kw_only=True)
class CadenceState:
    """Everything the cadence knows about one job. Times are seconds relative to ``saved``."""

    version: int
    face_id: str
    clock: str
    """``"date"`` (the server's ``Date`` header) or ``"wall"`` (the worker's wall clock)."""
    saved: float
    """When the state was written, in epoch seconds on ``clock``."""
    delay: float
    """The delay the cadence suggested then (used when elapsed time cannot be measured)."""
    start: float | None = None
    source: str | None = None
    first: float | None = None
    last: float | None = None
    points: tuple[tuple[float, int], ...] = ()
    """Progress change points: (time, progress in tenths of a percent)."""
    evidence: float = 0.0
    anchor: float = 0.0
    attributed: float = 0.0
    polls: int = 0
    ramp: int = 0
    errors: int = 0
    step: float | None = None
    noise: float = 0.0
    """How far readings fall below the highest one (a fraction; see ``tavus_async._belief``)."""
    tuning: bool = False
    restarted: bool = False
    """Progress went well back at least once (it counts a stage since)."""
    prior: tuple[float, float] = (12470.0, 0.144)
    """The duration prior the job uses: median (s) and log-spread of its core."""
    safety_net: bool = False
    date_broken: bool = False
    """The server's ``Date`` was found not to keep time with the worker's clock: it times
    nothing of this job again (``clock`` is then ``"wall"``)."""


def encode(state: CadenceState) -> str:
    """The opaque token for ``state``."""
    text = json.dumps(unstructure(state), separators=(",", ":"), allow_nan=False)
    packed = zlib.compress(text.encode(), 9)
    return f"{_PREFIX}{state.version}." + base64.urlsafe_b64encode(packed).decode().rstrip("=")


def decode(token: Any, *, face_id: str) -> CadenceState:
    """The state in ``token``, checked to belong to ``face_id``.

    Raises:
        CadenceStateError: not a token of ours, an unknown version, corrupt, or for another face.
        TypeError: ``token`` is not a string.
    """
    if not isinstance(token, str):
        msg = f"state must be a string (PollResult.state), got {type(token).__name__}"
        raise TypeError(msg)
    head, dot, body = token.partition(".")
    if not dot or not head.startswith(_PREFIX) or not head[len(_PREFIX) :].isdigit():
        msg = "state is not a tavus-async cadence state (expected the PollResult.state string)"
        raise CadenceStateError(msg)
    version = int(head[len(_PREFIX) :])
    if version != VERSION:
        msg = (
            f"state has version {version}; this tavus-async reads version {VERSION} "
            "(it was written by another release: upgrade, or start the wait without it)"
        )
        raise CadenceStateError(msg)
    if len(token) > MAX_TOKEN:
        msg = f"state is {len(token)} characters long; a real one is far shorter"
        raise CadenceStateError(msg)
    try:
        packed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        data = json.loads(zlib.decompress(packed))
    except (binascii.Error, ValueError, zlib.error) as exc:
        msg = "state is corrupt or truncated (pass PollResult.state back exactly as received)"
        raise CadenceStateError(msg) from exc
    try:
        state = structure(data, CadenceState, method="-", url="cadence state", status=0)
    except ResponseValidationError as exc:
        msg = f"state does not hold a cadence: {'; '.join(exc.errors)}"
        raise CadenceStateError(msg) from exc
    if state.version != version:
        msg = "state is corrupt (its inner and outer versions differ)"
        raise CadenceStateError(msg)
    if state.face_id != face_id:
        msg = f"state belongs to face {state.face_id!r}, not {face_id!r}"
        raise CadenceStateError(msg)
    if state.clock not in ("date", "wall"):
        msg = f"state has an unknown clock {state.clock!r}"
        raise CadenceStateError(msg)
    if state.source is not None and state.source not in SOURCES:
        msg = f"state has an unknown source of the face's age {state.source!r}"
        raise CadenceStateError(msg)
    problem = _out_of_bounds(state)
    if problem is not None:
        msg = f"state is corrupt or edited: {problem} is out of bounds"
        raise CadenceStateError(msg)
    return state


def _out_of_bounds(state: CadenceState) -> str | None:
    """The first field of ``state`` no cadence of ours could have written, if any."""

    def within(value: float | None, low: float, high: float) -> bool:
        return value is None or (math.isfinite(value) and low <= value <= high)

    low_evidence, high_evidence = EVIDENCE_BOUNDS
    shortest, longest = DURATION_BOUNDS
    checks = {
        "saved": within(state.saved, -MAX_TIME * 1e3, MAX_TIME * 1e3),
        "delay": within(state.delay, 0.0, MAX_TIME),
        "start": within(state.start, -MAX_TIME, MAX_TIME),
        "first": within(state.first, -MAX_TIME, MAX_TIME),
        "last": within(state.last, -MAX_TIME, MAX_TIME),
        "points": len(state.points) <= KEEP_POINTS + 2
        and all(within(t, -MAX_TIME, MAX_TIME) and 0 <= p <= 1000 for t, p in state.points),
        "evidence": within(state.evidence, low_evidence, high_evidence),
        "anchor": within(state.anchor, -MAX_ANCHOR, MAX_ANCHOR),
        "attributed": within(state.attributed, 0.0, MAX_ATTRIBUTED),
        "polls": 0 <= state.polls <= MAX_COUNT,
        "ramp": 0 <= state.ramp <= MAX_COUNT,
        "errors": 0 <= state.errors <= MAX_COUNT,
        "step": within(state.step, 0.0, MAX_TIME),
        "noise": within(state.noise, 0.0, 1.0),
        # The prior's median is rounded to a tenth of a second when saved.
        "prior": within(state.prior[0], shortest - 0.1, longest + 0.1)
        and within(state.prior[1], 0.0, MAX_SPREAD),
    }
    return next((name for name, ok in checks.items() if not ok), None)
