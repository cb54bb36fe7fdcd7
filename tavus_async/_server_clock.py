"""The server's clock (its ``Date`` header) against ours. Pure: no I/O, no clock of its own.

A face's age read from ``created_at`` against the server's ``Date``, and a state token timed
on that ``Date`` (a clock every worker can read), are only as good as that ``Date``'s
agreement with our own monotonic clock. :class:`ServerClock` keeps the offset between the
two while they keep time together, and gives up on the ``Date`` for good once they do not.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["DATE_RATE", "DATE_SLACK", "ServerClock", "shared_time"]

#: A server ``Date`` that drifts from our clock by more than this (seconds), plus this share
#: of the time between, does not keep time with ours (see :meth:`ServerClock.read`).
DATE_SLACK, DATE_RATE = 60.0, 0.25


def shared_time(server_date: dt.datetime) -> float:
    """The epoch seconds a ``Date`` stands for: it has whole seconds, so the server's time
    was, on average, half a second later."""
    return server_date.timestamp() + 0.5


class ServerClock:
    """Server time minus ours, while the server's ``Date`` keeps time with our clock."""

    __slots__ = ("_ref", "broken", "offset")

    def __init__(self, start: float | None = None, server_date: dt.datetime | None = None) -> None:
        #: Server time minus our clock's (seconds), when a ``Date`` was seen and trusted.
        self.offset: float | None = (
            shared_time(server_date) - start
            if server_date is not None and start is not None
            else None
        )
        #: Whether the ``Date`` has failed to keep time with our clock (for good).
        self.broken = False
        # (local time, offset) when Date was first seen.
        self._ref: tuple[float, float] | None = (
            None if self.offset is None or start is None else (start, self.offset)
        )

    def resume(self, local: float, shared: float) -> None:
        """Carry on from a restored state: it was saved at ``local`` (our clock, as the
        restore placed it) when the server's time was ``shared``. The next :meth:`read`
        then checks the ``Date`` against the time the restore took to have passed: a
        ``Date`` that barely moved over a long suggested delay does not keep time."""
        self.offset = shared - local
        self._ref = (local, self.offset)

    def read(self, now: float, server_date: dt.datetime) -> bool:
        """Take in a ``Date`` read at ``now``: whether it keeps time with our clock (once it
        has not, never again).

        A server on virtual or accelerated time may stamp its responses with the machine's
        real clock: its ``created_at`` then means nothing against that ``Date``, and neither
        can time a state token. Clocks that drift apart by more than ``DATE_SLACK`` plus
        ``DATE_RATE`` of the time between are taken to be such a pair.
        """
        if self.broken:
            return False
        offset = shared_time(server_date) - now
        if self._ref is None:
            self._ref = (now, offset)
        else:
            since, first = self._ref
            if abs(offset - first) > DATE_SLACK + DATE_RATE * max(0.0, now - since):
                self.broken, self.offset = True, None
                return False
        self.offset = offset
        return True
