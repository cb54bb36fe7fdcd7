"""What a job remembers between reads: its cadence, and how that memory travels.

A job's cadence starts from one of three places. A job this client created knows its
creation time on our own clock. A job resumed by id learns its age at the first read, from
the face's ``created_at`` against the server's ``Date``. A job resumed with a state token
(another process's :attr:`~tavus_async.TrainingJob.state`) holds that state, unapplied,
until its first read: that read's ``Date`` says how long the job was away.

:class:`JobMemory` keeps that memory for one :class:`~tavus_async.TrainingJob`; the job's
public handle and its :class:`~tavus_async._driver.Driver` both read it. No I/O here.
"""

from __future__ import annotations

import time
from typing import Any

from ._cadence import Cadence
from ._durable import CadenceState, encode
from ._hub import JobHub
from ._models import Face
from ._outcome import Polled, settle
from ._policies import PollPolicy
from ._snapshot import adopt, restore, snapshot

__all__ = ["JobMemory"]


class JobMemory:
    """The cadence of one job, and the state it restores from or hands on."""

    __slots__ = (
        "_cadence",
        "_created_at",
        "_created_date",
        "_hub",
        "_pending",
        "_token",
        "face_id",
        "safety_net",
    )

    def __init__(
        self,
        face_id: str,
        hub: JobHub,
        *,
        created_at: float | None,
        created_date: Any,
        state: CadenceState | None,
        token: str | None,
        callback_url: str | None,
        expect_callback: bool | None,
    ) -> None:
        self.face_id = face_id
        self._hub = hub
        #: True when a callback to this client's receiver is expected: polling is then only
        #: a slow safety net. Decided by ``expect_callback``, else by a restored state, else
        #: by the callback URL (it carries this client's token).
        self.safety_net = (
            expect_callback
            if expect_callback is not None
            else state.safety_net
            if state is not None
            else bool(callback_url and hub.callback_token and hub.callback_token in callback_url)
        )
        self._created_at = created_at
        self._created_date = created_date
        self._cadence: Cadence | None = None
        # A restored state is applied at the first successful read (see the module doc).
        self._pending = state
        self._token = token

    @property
    def cadence(self) -> Cadence | None:
        """The cadence in use, or ``None`` before any wait, poll or state."""
        return self._cadence

    def now(self) -> float | None:
        """The cadence's clock now, or ``None`` without a cadence or outside a loop."""
        cadence = self._cadence
        if cadence is None:
            return None
        try:
            return cadence.policy.clock()
        except RuntimeError:  # the default clock outside a running loop
            return None

    def running_age(self) -> float | None:
        """How long the training has run, when the client would learn its duration."""
        cadence = self._cadence
        now = self.now()
        if cadence is None or now is None or not cadence.policy.learn_duration:
            return None
        return cadence.belief.running(now)

    def cadence_for(self, policy: PollPolicy) -> Cadence:
        """The job's cadence under ``policy`` (made on first use, carried over to another)."""
        cadence = self._cadence
        if cadence is not None and cadence.policy is policy:
            return cadence
        if cadence is not None:
            # Another policy for a later wait: the memory of the job carries over.
            cadence = adopt(cadence, policy, self.face_id)
        else:
            cadence = Cadence(
                policy,
                self._hub.prior_for(policy),
                safety_net=self.safety_net,
                start=self._created_at,
                server_date=self._created_date,
                clock_skew=self._hub.clock_skew,
            )
        self._cadence = cadence
        return cadence

    def first_poll_at(self, now: float, policy: PollPolicy, *, seen: bool) -> float:
        """When the first poll of a wait under ``policy`` is due (``seen``: a face of this
        job is known)."""
        cadence = self.cadence_for(policy)
        if self._created_at is None or seen:
            # Resumed by id, or re-awaited: we know nothing recent, so look now.
            return now
        # Created by this client moments ago: give an early failure a few seconds to show.
        return max(now, self._created_at + cadence.first_delay())

    def unseen_for(self, now: float, *, seen: bool) -> float | None:
        """Seconds since this client created the face, while no read has shown it yet."""
        if self._created_at is None or seen:
            return None
        return now - self._created_at

    def seen(self, face: Face | None) -> bool:
        """Whether a read has shown the face: here (``face``, the job's last read) or in the
        process whose state this job restored."""
        if face is not None:
            return True
        pending, cadence = self._pending, self._cadence
        if pending is not None and pending.first is not None:
            return True
        return cadence is not None and cadence.belief.first_seen is not None

    def restored_unseen(self) -> bool:
        """Restored from the state of a face its holder created and never read (the
        holder's clock, not ours, says how long ago: see the Temporal poll activity)."""
        pending = self._pending
        return pending is not None and pending.source == "local" and pending.first is None

    def token(self, policy: PollPolicy, *, seen: bool, due: float | None) -> str:
        """The memory as an opaque state token (``due``: when the next poll is set for)."""
        if self._pending is not None and self._token is not None:
            return self._token  # nothing was read since it was restored
        cadence = self.cadence_for(policy)
        now = cadence.policy.clock()
        if due is not None and due > float("-inf"):
            delay = max(0.0, due - now)
        else:
            delay = cadence.first_delay() if not seen else 0.0
        return self.encode(cadence, now, delay)

    def encode(self, cadence: Cadence, now: float, delay: float) -> str:
        """``cadence`` as a state token, the next poll ``delay`` seconds after ``now``."""
        return encode(snapshot(cadence, self.face_id, now=now, wall=time.time(), delay=delay))

    def hinted(self) -> None:
        """A callback said the face changed: note when, to date a finish the next read finds."""
        now = self.now()
        if self._cadence is not None and now is not None:
            self._cadence.belief.hinted_at = now

    def take_in(self, polled: Polled[Face], policy: PollPolicy | None) -> None:
        """Learn from a successful read: restore a pending state, observe, note the skew,
        and learn the duration of a training seen to finish."""
        face = polled.face
        if policy is not None and self._pending is not None:
            self._cadence = restore(
                self._pending,
                policy,
                now=policy.clock(),
                server_date=polled.server_date,
                wall=time.time(),
            )
            self._pending = None
        cadence = self.cadence_for(policy) if policy is not None else self._cadence
        if cadence is None:
            return  # a read outside any wait or poll: nothing to time it against
        now = cadence.policy.clock()
        skew_known = cadence.skew_sample is not None
        cadence.observe(
            now, face, server_date=polled.server_date, wall=self._hub.wall(cadence.policy.clock)
        )
        if not skew_known and cadence.skew_sample is not None:
            self._hub.note_skew(cadence.skew_sample)
        if settle(face, "final") is face:
            self._hub.learn(cadence.policy, cadence.finished(now, face))
