"""Which listed faces ``recover()`` re-attaches to: a filter on our clock, with no I/O.

``recover()`` lists the account's faces and keeps the trainings a restart (or a
:class:`~tavus_async.TrainingMayHaveStartedError`) may have left: by name, by creation time
and by whether they are still training. The creation time is the server's, so it is put on
our clock first (:class:`Recovery`); the listing itself is the engine's
(:mod:`tavus_async._training`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from ._errors import InvalidArgumentError
from ._models import Face
from ._outcome import settle
from ._validation import check_bool, check_name

__all__ = ["CLOCK_SKEW", "Recovery"]

#: Tolerance when comparing our clock with the server's timestamps.
CLOCK_SKEW = dt.timedelta(minutes=10)


@attrs.define(kw_only=True)
class Recovery:
    """What ``recover(name=, since=, finished=)`` asks for, and the clocks to read it by.

    ``skew`` is how far the server's ``created_at`` runs ahead of its ``Date`` on faces this
    client created (a naive timestamp in another time zone); ``server_ahead``, the server's
    ``Date`` against our clock, as of the last page read (:meth:`note`).
    """

    name: str | None
    since: dt.datetime | None
    finished: bool
    skew: dt.timedelta = dt.timedelta(0)
    server_ahead: dt.timedelta = dt.timedelta(0)

    @classmethod
    def checked(cls, *, name: Any, since: Any, finished: Any, skew: float | None) -> Recovery:
        """The arguments of ``recover()``, checked before any request.

        Raises:
            InvalidArgumentError: a blank name, or a naive ``since``.
            TypeError: arguments of the wrong type.
        """
        if name is not None:
            check_name("name", name)
        if since is not None:
            if not isinstance(since, dt.datetime):
                msg = f"since must be a datetime, got {type(since).__name__}"
                raise TypeError(msg)
            if since.tzinfo is None:
                msg = "since must be timezone-aware (e.g. datetime.now(timezone.utc))"
                raise InvalidArgumentError(msg)
        return cls(
            name=name,
            since=since,
            finished=check_bool("finished", finished),
            skew=dt.timedelta(seconds=skew or 0.0),
        )

    def note(self, server_date: dt.datetime | None) -> None:
        """Read the server's clock off a page's ``Date`` (kept when a page has none)."""
        if server_date is not None:
            self.server_ahead = server_date - dt.datetime.now(dt.timezone.utc)

    def wants(self, face: Face) -> bool:
        """Whether ``face`` is one of the trainings asked for."""
        if self.name is not None and face.face_name != self.name:
            return False
        # A face whose creation time the server does not say cannot be ruled out: missing a
        # training is what leads to a second one.
        created = face.created_at
        if self.since is not None and created is not None:
            ours = created + self.skew - self.server_ahead
            if ours < self.since - CLOCK_SKEW:
                return False
        return self.finished or settle(face, "final") is None
