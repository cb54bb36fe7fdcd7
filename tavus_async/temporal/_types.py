"""What the workflow and its activities exchange: attrs models, JSON through one converter."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from tavus_async._models import Face, TrainingCallback
from tavus_async._policies import check_deadline
from tavus_async._training import FACES
from tavus_async._validation import CreateFields, check_choice, check_timeout, create_body

#: The error type of a create that may have reached Tavus: look for the training first.
CREATE_UNSURE = "TrainingMayHaveStartedError"
#: The error type of a create that provably started nothing (unsent, or rate limited).
CREATE_NOT_SENT = "CreateNotSentError"
#: The callback URL's query parameter that names the workflow to signal.
WORKFLOW_PARAMETER = "tavus_workflow"

__all__ = [
    "CREATE_NOT_SENT",
    "PAYLOAD_TYPES",
    "CREATE_UNSURE",
    "WORKFLOW_PARAMETER",
    "CreateInput",
    "Created",
    "PollInput",
    "PollOutcome",
    "RecoverInput",
    "Recovered",
    "TrainFaceRequest",
    "TrainingProgress",
]


@attrs.frozen(kw_only=True)
class TrainFaceRequest:
    """What to train: the same choices as ``client.faces.create()``, as a JSON-able request.

    Give ``train_video_url``, or ``train_image_url`` with a voice. ``callback_url`` is the URL
    of a :class:`~tavus_async.CallbackReceiver` that forwards to workflows
    (``client.callbacks.url(...)`` of a client whose receiver has
    :func:`~tavus_async.temporal.signal_workflows`); the workflow adds its own id to it.
    ``until="preview"`` returns a Phoenix-4.5 face at its preview. ``timeout`` ends the
    workflow (not the training) with a ``TrainingTimeoutError`` when the face is still training
    that long after its creation (``None``: no limit). ``poll_timeout`` is how
    long (real seconds) a poll may go silent (no read, no heartbeat) before another worker
    takes over; ``create_timeout`` bounds a create, after which the workflow looks for the
    training before it would create again.

    Raises:
        InvalidArgumentError: the arguments ``faces.create()`` would refuse (checked here,
            before any workflow starts), an unknown ``until``, a timeout out of range.
        TypeError: an argument of the wrong type.
    """

    train_video_url: str | None = None
    train_image_url: str | None = None
    face_name: str | None = None
    voice_name: str | None = None
    default_voice_id: str | None = None
    auto_fix_training_image: bool | None = None
    model_name: str | None = None
    background_green_screen: bool | None = None
    callback_url: str | None = None
    until: str = "final"
    timeout: float | None = 8 * 3600.0
    poll_timeout: float = 60.0
    create_timeout: float = 120.0

    def __attrs_post_init__(self) -> None:
        # The same checks as faces.create(), so a bad request fails where it is made.
        arguments = self.create_arguments()
        arguments["name"] = arguments.pop("face_name")
        create_body(CreateFields(**arguments), name_field=FACES.name)
        check_choice("until", self.until, ("final", "preview"))
        if self.timeout is not None:
            check_deadline("timeout", self.timeout)
        check_timeout("poll_timeout", self.poll_timeout, maximum=3600)
        check_timeout("create_timeout", self.create_timeout, maximum=3600)

    def create_arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``client.faces.create()`` this request stands for."""
        return {
            "train_video_url": self.train_video_url,
            "train_image_url": self.train_image_url,
            "face_name": self.face_name,
            "voice_name": self.voice_name,
            "default_voice_id": self.default_voice_id,
            "auto_fix_training_image": self.auto_fix_training_image,
            "callback_url": self.callback_url,
            "model_name": self.model_name,
            "background_green_screen": self.background_green_screen,
        }


@attrs.frozen(kw_only=True)
class CreateInput:
    """The create activity's input: the request, under the workflow's unique face name."""

    request: TrainFaceRequest
    face_name: str
    callback_url: str | None = None


@attrs.frozen(kw_only=True)
class Created:
    """A training started: its face id, the cadence's state, and the first wait (real s)."""

    face_id: str
    state: str
    first_delay: float


@attrs.frozen(kw_only=True)
class PollInput:
    """One poll: the face, the cadence's state, and when the wait ends."""

    face_id: str
    state: str
    until: str = "final"


@attrs.frozen(kw_only=True)
class PollOutcome:
    """What one poll learned: the face, whether the wait is over, the next state and wait."""

    face: Face
    done: bool
    state: str
    sleep: float
    """Real seconds to wait before the next poll (the cadence's delay, time-scaled)."""
    due: float | None = None
    """When the next poll is due (epoch seconds of the worker's clock)."""
    age: float | None = None
    """Seconds since the face was created (the training's own time), when known."""
    eta: float | None = None
    """The cadence's estimate of the seconds left (the training's own time)."""


@attrs.frozen(kw_only=True)
class RecoverInput:
    """Look for the training a create may have started: its unique name, and since when."""

    face_name: str
    since: dt.datetime


@attrs.frozen(kw_only=True)
class Recovered:
    """The training found (with a cadence state to follow it), or nothing."""

    face_id: str | None = None
    state: str | None = None


@attrs.frozen(kw_only=True)
class TrainingProgress:
    """The ``progress`` query's answer: what the workflow knows now, without any I/O."""

    phase: str
    """``creating``, ``recovering`` (after a create that may have reached Tavus),
    ``training`` or ``done``."""
    face_name: str | None = None
    """The face's name on Tavus (the request's, with the workflow's tag)."""
    face_id: str | None = None
    face: Face | None = None
    """The face as last read."""
    eta: float | None = None
    """Seconds left at the last read, as the cadence estimated them."""
    checked_at: dt.datetime | None = None
    """When the face was last read."""
    callbacks: int = 0
    """Training callbacks received as signals."""


#: Every type the workflow and its activities exchange (hooks built before the sandbox runs).
PAYLOAD_TYPES: tuple[type, ...] = (
    TrainFaceRequest,
    CreateInput,
    Created,
    PollInput,
    PollOutcome,
    RecoverInput,
    Recovered,
    TrainingProgress,
    TrainingCallback,
    Face,
)
