"""Wire models: frozen, keyword-only attrs classes with no I/O and no converter calls.

Structuring and unstructuring happen in :mod:`tavus_async._converter`; the models only
declare fields. A field whose replica-era wire name differs from its face-era name carries
that alias in its metadata (``ALIASES``), so the naming policy is applied once, by a hook
factory, rather than sprinkled over call sites.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
import re
from typing import Any

import attrs

__all__ = [
    "ALIASES",
    "Conversation",
    "ConversationStatus",
    "Face",
    "FaceStatus",
    "FinetuneStatus",
    "Replica",
    "TrainingCallback",
    "Voice",
]

#: Field-metadata key naming the other wire names a field may arrive under.
ALIASES = "tavus_aliases"


def _aliases(*names: str) -> dict[str, tuple[str, ...]]:
    return {ALIASES: names}


#: What a status says, whatever enum it belongs to and however it is spelled.
_SUCCESS_WORDS = ("completed", "ready")
#: Failure: the documented word, the tuning stage's, and words that can only mean a training
#: that will never complete (a face cancelled or deleted): a wait on one ends at once
#: instead of polling to its deadline, hours later.
_FAILURE_WORDS = (
    "error",
    "errored",
    "failed",
    "cancelled",
    "canceled",
    "deleted",
    "aborted",
    "rejected",
    "expired",
)


class _OpenStrEnum(str, enum.Enum):
    """A string enum that keeps values it does not know instead of failing.

    Tavus documents a handful of statuses, older docs show others, and a server may add more
    at any time. ``FaceStatus("rendering")`` therefore returns a pseudo-member whose
    ``value`` is ``"rendering"`` and whose :attr:`is_known` is false; it compares equal to
    its string like every member.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        # "Completed" or " ready " is the documented value in another spelling.
        normal = value.strip().lower()
        if normal != value:
            for member in cls:
                if member.value == normal:
                    return member
        # Enum allows _missing_ to return a new instance of the class: a pseudo-member
        # that is not added to the class's member list.
        member = str.__new__(cls, value)
        member._name_ = "UNKNOWN"
        member._value_ = value
        return member

    def __str__(self) -> str:
        return str(self.value)

    @property
    def is_known(self) -> bool:
        """True for the values this version of tavus_async knows by name."""
        return self._name_ != "UNKNOWN"


class _TrainingStatus(_OpenStrEnum):
    """A training stage's status: success and failure read the same for faces and tuning."""

    @property
    def is_success(self) -> bool:
        """``completed`` or ``ready`` (in any case): the face, its preview or its tuning is
        done."""
        return self.value.strip().lower() in _SUCCESS_WORDS

    @property
    def is_failure(self) -> bool:
        """``error``, ``errored``, ``failed``, or a word that ends a training for good
        (``cancelled``, ``canceled``, ``deleted``, ``aborted``, ``rejected``, ``expired``),
        in any case: the stage failed, or will never complete."""
        return self.value.strip().lower() in _FAILURE_WORDS


class FaceStatus(_TrainingStatus):
    """Training status of a face (or replica).

    Documented: ``started`` → ``completed`` | ``error``. Older documents also show
    ``training`` (in progress) and callbacks report ``ready`` (success). Values are read
    without regard to case or surrounding spaces. ``failed`` and ``errored`` (the tuning
    stage's word) also mean failure, as do words that can only end a training for good
    (``cancelled``, ``deleted``…: see :attr:`is_failure`). Any other string is kept as an
    unknown status (``is_known`` is false) and treated as still in progress.
    """

    STARTED = "started"
    TRAINING = "training"
    COMPLETED = "completed"
    READY = "ready"
    ERROR = "error"

    @property
    def is_terminal(self) -> bool:
        """Training has stopped, successfully or not."""
        return self.is_success or self.is_failure


class FinetuneStatus(_TrainingStatus):
    """Phoenix-4.5 tuning stage, reported in ``finetune_status`` after the preview is ready.

    Documented values are ``completed`` and ``errored`` (``null`` while unused); ``training``
    is seen in the wild. Unknown strings are kept, as for :class:`FaceStatus`.
    """

    TRAINING = "training"
    COMPLETED = "completed"
    ERRORED = "errored"


#: One count in words around it: "45/100 (processing)", "Progress: 45%", "step 3 of 4".
_COUNT_IN_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:(?:/|\bof\b)\s*(\d+(?:\.\d+)?)|%)")


def _parse_progress(text: str | None) -> float | None:
    """``"45/100"`` → ``0.45``; anything unparsable → ``None`` (never an exception)."""
    if not text:
        return None
    done, sep, total = text.partition("/")
    try:
        numerator = float(done.strip().rstrip("%"))
        denominator = float(total) if sep else 100.0
    except ValueError:
        return _count_in_text(text)
    if not _counts(numerator, denominator):
        return None
    return min(max(numerator / denominator, 0.0), 1.0)


def _count_in_text(text: str) -> float | None:
    """The one count a decorated progress text holds, or ``None``: two counts ("stage 2/3:
    45/100") do not say the whole's progress, nor does one past its total (a date)."""
    found = _COUNT_IN_TEXT.findall(text)
    if len(found) != 1:
        return None
    done, total = found[0]
    numerator, denominator = float(done), float(total) if total else 100.0
    if not _counts(numerator, denominator) or numerator > denominator:
        return None
    return numerator / denominator


def _counts(numerator: float, denominator: float) -> bool:
    """Whether two numbers read from a progress text can be a count: finite (``inf`` or
    ``nan`` on either side, or 400 nines, is garbage, and ``inf/inf`` divides to NaN) and
    out of a positive total."""
    return math.isfinite(numerator) and math.isfinite(denominator) and denominator > 0.0


@attrs.frozen(kw_only=True)
class Face:
    """A face: the likeness Tavus trains from a video or an image (``GET /v2/faces/{id}``).

    Unknown response keys are ignored; optional fields missing from a response are ``None``.
    """

    face_id: str = attrs.field(metadata=_aliases("replica_id"))
    """Identifier, e.g. ``r90bbd427f71``; the same value addresses ``/v2/replicas``."""
    status: FaceStatus
    """Training status; unknown strings are kept (see :class:`FaceStatus`)."""
    face_name: str | None = attrs.field(default=None, metadata=_aliases("replica_name"))
    """Display name given at creation or by rename."""
    training_progress: str | None = None
    """Progress as the API reports it, e.g. ``"45/100"``; see :attr:`progress`."""
    error_message: str | None = None
    """Why training failed, when ``status`` is ``error``."""
    thumbnail_video_url: str | None = None
    """Short preview clip of the face."""
    created_at: dt.datetime | None = None
    """When the face was created (timezone-aware)."""
    updated_at: dt.datetime | None = None
    """When the face last changed (timezone-aware)."""
    model_name: str | None = None
    """Phoenix model, e.g. ``phoenix-3``, ``phoenix-4``, ``phoenix-4.5``."""
    face_type: str | None = attrs.field(default=None, metadata=_aliases("replica_type"))
    """``user`` or ``system`` (stock); only returned with ``verbose=True`` or by list."""
    default_voice_id: str | None = None
    """Voice the face speaks with by default."""
    original_voice_id: str | None = None
    """Voice the face was created with (read-only)."""
    finetune_status: FinetuneStatus | None = None
    """Phoenix-4.5 tuning stage after the preview is ready; ``None`` for other models."""

    @property
    def progress(self) -> float | None:
        """``training_progress`` as a fraction in ``[0, 1]``, or ``None`` if absent/unparsable.

        ``"45/100"`` and ``"450/1000"`` are 0.45 (so are ``"45/100 (processing)"`` and
        ``"step 45 of 100"``: one count in words is read); a bare number is a percent (``"45"``,
        ``"45%"``, and so ``"0.45"`` is 0.0045: a server counting in fractions is read as
        one that has barely started, and waited for as if its progress were silent).
        """
        return _parse_progress(self.training_progress)

    @property
    def is_phoenix_45(self) -> bool:
        """Trained on Phoenix-4.5, whose ``completed`` status means *preview ready*."""
        return (self.model_name or "").startswith("phoenix-4.5")


@attrs.frozen(kw_only=True)
class Replica(Face):
    """A face under its replica-era names (``/v2/replicas``).

    Same resource and ids as :class:`Face`; the replica names are read-only aliases.
    """

    @property
    def replica_id(self) -> str:
        """Alias of :attr:`face_id`."""
        return self.face_id

    @property
    def replica_name(self) -> str | None:
        """Alias of :attr:`face_name`."""
        return self.face_name

    @property
    def replica_type(self) -> str | None:
        """Alias of :attr:`face_type`."""
        return self.face_type


@attrs.frozen(kw_only=True)
class Voice:
    """A stock voice (``GET /v2/voices``), usable as ``voice_name`` for image training."""

    voice_name: str
    """Slug to pass as ``voice_name`` (case-insensitive), e.g. ``anna``."""
    voice_id: str | None = None
    """Voice id (``v…``) when the API returns one; usable as ``default_voice_id``."""
    replica_id: str | None = attrs.field(default=None, metadata=_aliases("face_id"))
    """The stock face this voice belongs to."""
    audio_url: str | None = None
    """Preview clip, when available."""
    tags: tuple[str, ...] = ()
    """Tag names (the API's ``[{"tag_name": …}]`` flattened)."""
    status: str | None = None
    """For created voices: ``started``, ``completed`` or ``error``."""

    @property
    def face_id(self) -> str | None:
        """Alias of :attr:`replica_id`."""
        return self.replica_id


class ConversationStatus(_OpenStrEnum):
    """Conversation status: ``active`` or ``ended`` (``error`` also seen); others kept."""

    ACTIVE = "active"
    ENDED = "ended"
    ERROR = "error"


@attrs.frozen(kw_only=True)
class Conversation:
    """A conversation with a trained face (``/v2/conversations``)."""

    conversation_id: str
    """Identifier, e.g. ``c123456``."""
    status: ConversationStatus | None = None
    """``active`` or ``ended``; unknown values kept."""
    conversation_url: str | None = None
    """URL to join the call."""
    conversation_name: str | None = None
    """Display name."""
    callback_url: str | None = None
    """Where conversation events are posted."""
    replica_id: str | None = attrs.field(default=None, metadata=_aliases("face_id"))
    """The face in the conversation (``replica_id`` on the wire)."""
    persona_id: str | None = attrs.field(default=None, metadata=_aliases("pal_id"))
    """The PAL (persona) in the conversation (``persona_id`` on the wire)."""
    created_at: dt.datetime | None = None
    """Creation time (timezone-aware)."""
    updated_at: dt.datetime | None = None
    """Last change (timezone-aware)."""
    meeting_token: str | None = None
    """Join token when the conversation was created with ``require_auth``."""
    events: tuple[dict[str, Any], ...] = ()
    """Event log (``verbose=True`` only), kept as the API sent it."""

    @property
    def face_id(self) -> str | None:
        """Alias of :attr:`replica_id`."""
        return self.replica_id

    @property
    def pal_id(self) -> str | None:
        """Alias of :attr:`persona_id`."""
        return self.persona_id


@attrs.frozen(kw_only=True)
class TrainingCallback:
    """A training callback Tavus POSTs to ``callback_url`` (parsed, not yet trusted).

    A callback is a *hint*: Tavus documents no signature, so tavus_async confirms the face
    with one GET before any waiting job resolves.
    """

    face_id: str = attrs.field(metadata=_aliases("replica_id"))
    """The face the callback is about (``face_id`` or ``replica_id`` on the wire)."""
    status: FaceStatus
    """``ready``/``completed`` on success, ``error`` on failure; unknown values kept."""
    error_message: str | None = None
    """Failure reason when ``status`` is ``error``."""
    finetune_status: FinetuneStatus | None = None
    """Phoenix-4.5 tuning stage, when the callback reports one."""
