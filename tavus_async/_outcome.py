"""What ends a wait, and what one poll brings back: the policy side of jobs, without I/O."""

from __future__ import annotations

from typing import Any, Generic, Literal, Protocol, TypeVar

import attrs

from ._errors import (
    APIConnectionError,
    APIStatusError,
    FinetuneFailedError,
    InvalidIdError,
    NotFoundError,
    ResponseValidationError,
    TrainingFailedError,
)
from ._models import Face
from ._sansio import is_transient_status

__all__ = [
    "CREATE_LAG",
    "FaceSource",
    "Polled",
    "Until",
    "fingerprint",
    "is_transient",
    "settle",
]

#: How long after its create a face may still be unknown to the reads (seconds): a store
#: that lags its writes answers "Invalid face_id" or 404 for a face it has just created.
CREATE_LAG = 120.0

FaceT_co = TypeVar("FaceT_co", bound=Face, covariant=True)

Until = Literal["final", "preview"]


@attrs.frozen(kw_only=True)
class Polled(Generic[FaceT_co]):
    """One successful read of a face, with the response hints a poller uses."""

    face: FaceT_co
    retry_after: float | None = None
    server_date: Any = None  # datetime.datetime | None; Any keeps attrs and mypy simple


class FaceSource(Protocol[FaceT_co]):
    """What a :class:`~tavus_async.TrainingJob` needs: read one face by id."""

    @property
    def resource(self) -> str:
        """``"faces"`` or ``"replicas"``, for messages."""
        ...

    async def fetch(self, face_id: str, *, retry: bool) -> Polled[FaceT_co]:
        """Read the face once (``retry=False``: one attempt; the job has its own backoff)."""
        ...


def settle(face: Face, until: Until) -> Face | BaseException | None:
    """The outcome of a wait given the latest face: the face, an error, or ``None`` (not yet).

    ``until="preview"`` accepts a Phoenix-4.5 face as soon as its preview is ready
    (``status`` completed); ``"final"`` waits for tuning (``finetune_status`` completed)
    and reports tuning failure as :class:`FinetuneFailedError`.
    """
    status = face.status
    if status.is_failure:
        return TrainingFailedError(face)
    if not status.is_success:
        return None
    if until == "preview":
        return face
    tuning = face.finetune_status
    if tuning is not None:
        if tuning.is_failure:
            return FinetuneFailedError(face)
        return face if tuning.is_success else None
    # A Phoenix-4.5 face that reports no tuning stage yet has only its preview.
    return None if face.is_phoenix_45 else face


def fingerprint(face: Face) -> tuple[Any, ...]:
    """What makes two reads of a face a change worth reporting."""
    return (face.status.value, face.training_progress, face.finetune_status, face.error_message)


def is_refusal(exc: BaseException | None) -> bool:
    """An answer no retry of the same request would cure: a 4xx other than 408 and 429."""
    return isinstance(exc, APIStatusError) and not is_transient_status(exc.status)


def is_transient(
    exc: BaseException,
    *,
    unseen_for: float | None = None,
    seen: bool = False,
    again: bool = False,
) -> bool:
    """A failed poll worth retrying (the wait goes on) rather than ending the wait.

    A refusal (:func:`is_refusal`: 401, 403, an unknown id, another 4xx) ends a wait, save
    in two cases. ``unseen_for``: seconds since this client created the face, while no read
    has shown it yet (``None`` otherwise); within ``CREATE_LAG`` of the create, an unknown id
    (400 ``Invalid face_id``, or 404) is the server catching up with its own write, not a
    wrong id: we have the id from its answer. ``seen``: a read has shown the face, with this
    key, so a refusal may be a proxy's or a lagging replica's, once; it is asked once more,
    and ``again`` (the previous read was refused too) settles it.
    """
    if isinstance(exc, (APIConnectionError, ResponseValidationError)):
        return True
    if not is_refusal(exc):
        return isinstance(exc, APIStatusError)  # 408, 429, 5xx
    gone = isinstance(exc, (InvalidIdError, NotFoundError))
    if gone and unseen_for is not None and unseen_for < CREATE_LAG:
        return True
    return seen and not again
