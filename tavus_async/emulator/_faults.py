"""Fault injection: seeded, per route and rate, so a failing run can be replayed.

A :class:`Fault` says *what* goes wrong (``kind``), *where* (``route``, a glob over
``"METHOD /path"``), *how often* (``rate``, a probability per matching request), *how
many times* at most and, optionally, *when* (``start``/``end``, emulated time: an outage).
The emulator asks a :class:`FaultInjector` before each request; with the same seed and the
same request sequence, the same requests fail.
"""

from __future__ import annotations

import fnmatch
import random
from collections import Counter
from collections.abc import Iterable
from typing import Any

import attrs

__all__ = ["FAULT_KINDS", "Fault", "FaultInjector", "parse_faults"]

FAULT_KINDS: dict[str, str] = {
    "rate_limit": "429 with Retry-After",
    "server_error": "500/502/503 with a JSON or HTML body",
    "slow": "answer only after `delay` seconds (beyond a client's timeout)",
    "reset": "cut the connection without answering",
    "truncated": "send part of a JSON body, then cut the connection",
    "not_json": "200 with an HTML body",
    "empty": "200 with an empty body",
    "store_then_reset": "POST create: store the face, then cut the connection",
    "store_then_500": "POST create: store the face, then answer 500",
    "not_yet_visible": "answer 400 Invalid face_id (or replica_id), as a store that lags "
    "its writes may for a face it has just created",
}
"""Every fault kind :class:`Fault` can inject, with what it does."""


@attrs.define(kw_only=True)
class Fault:
    """One injected failure mode.

    Attributes:
        kind: One of :data:`FAULT_KINDS`.
        route: Glob over ``"METHOD /path"``, e.g. ``"GET /v2/faces/*"`` (default: any).
        rate: Probability that a matching request gets the fault (0-1).
        times: At most this many injections (``None``: unlimited).
        statuses: For ``server_error``: the statuses to choose from.
        body: For ``server_error``: ``"json"``, ``"html"`` or ``"mixed"``.
        retry_after: For ``rate_limit`` (and 503): the ``Retry-After`` seconds.
        delay: For ``slow``: seconds (loop time) before answering.
        start: Emulated time (as ``Emulator.now()``) from which the fault applies
            (``None``: from the start).
        end: Emulated time from which it no longer applies (``None``: never ends). With
            ``rate=1``, ``start`` and ``end`` make an outage: ``Fault(kind="reset",
            start=emu.now() + 3 * 3600, end=emu.now() + 4 * 3600)``.
    """

    kind: str
    route: str = "*"
    rate: float = 1.0
    times: int | None = None
    statuses: tuple[int, ...] = (500, 502, 503)
    body: str = "mixed"
    retry_after: float = 5.0
    delay: float = 120.0
    start: float | None = None
    end: float | None = None
    injected: int = 0

    def __attrs_post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            msg = f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}"
            raise ValueError(msg)
        if not 0 <= self.rate <= 1:
            msg = f"fault rate must be within [0, 1], got {self.rate}"
            raise ValueError(msg)
        if self.body not in ("json", "html", "mixed"):
            msg = f"fault body must be json, html or mixed, got {self.body!r}"
            raise ValueError(msg)
        if self.start is not None and self.end is not None and self.end <= self.start:
            msg = f"fault end ({self.end}) must come after its start ({self.start})"
            raise ValueError(msg)

    @property
    def active(self) -> bool:
        """False once ``times`` injections were made."""
        return self.times is None or self.injected < self.times

    def matches(self, method: str, path: str) -> bool:
        """True if this fault applies to ``method path``."""
        return fnmatch.fnmatchcase(f"{method} {path}", self.route)

    def applies_at(self, now: float) -> bool:
        """True if emulated time ``now`` lies within the fault's ``[start, end)``."""
        return (self.start is None or now >= self.start) and (self.end is None or now < self.end)

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (for the control API)."""
        return attrs.asdict(self)


class FaultInjector:
    """Decides, reproducibly, which requests fail and how."""

    def __init__(self, faults: Iterable[Fault] = (), *, seed: int | None = 0) -> None:
        self.faults: list[Fault] = list(faults)
        self.seed = seed
        self.rng = random.Random(seed)
        #: How many of each kind were injected.
        self.counts: Counter[str] = Counter()

    def add(self, fault: Fault) -> None:
        """Add a fault (checked after the existing ones)."""
        self.faults.append(fault)

    def clear(self) -> None:
        """Remove every fault and reset the random sequence to the seed."""
        self.faults.clear()
        self.rng = random.Random(self.seed)
        self.counts.clear()

    def pick(self, method: str, path: str, now: float) -> Fault | None:
        """The fault for this request at emulated time ``now``, if any (consumes randomness
        only for matches)."""
        for fault in self.faults:
            if not (fault.active and fault.applies_at(now) and fault.matches(method, path)):
                continue
            if self.rng.random() < fault.rate:
                fault.injected += 1
                self.counts[fault.kind] += 1
                return fault
        return None


def parse_faults(spec: str) -> list[Fault]:
    """Parse the CLI form: ``kind[:rate][~start-end][@route],…``.

    For example ``server_error:0.2@GET /v2/faces/*``, or ``reset~10800-14400@GET
    /v2/faces/*`` (every read cut from 3 h to 4 h of emulated time since the emulator
    started: an outage; either end may be left out).

    Raises:
        ValueError: for an unknown kind, a bad rate or a bad window.
    """
    faults: list[Fault] = []
    for raw in spec.split(","):
        part = raw.strip()
        if not part:
            continue
        head, _, route = part.partition("@")
        head, has_window, window = head.partition("~")
        kind, _, rate = head.partition(":")
        try:
            value = float(rate) if rate else 1.0
        except ValueError:
            msg = f"bad fault rate in {part!r}"
            raise ValueError(msg) from None
        start, end = _window(window, part) if has_window else (None, None)
        faults.append(
            Fault(kind=kind.strip(), rate=value, route=route.strip() or "*", start=start, end=end)
        )
    return faults


def _window(text: str, part: str) -> tuple[float | None, float | None]:
    msg = f"bad fault window in {part!r} (expected ~start-end, in seconds)"
    first, dash, last = text.partition("-")
    if not dash:
        raise ValueError(msg)
    try:
        return (float(first) if first.strip() else None, float(last) if last.strip() else None)
    except ValueError:
        raise ValueError(msg) from None
