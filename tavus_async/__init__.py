"""tavus_async: an asyncio-native SDK for training Tavus faces.

Start with :class:`TavusClient`; ``client.faces.create(...)`` returns an awaitable
:class:`TrainingJob`. Every exception derives from :class:`TavusError`.
"""

from ._callbacks import CallbackReceiver, CallbackResult, Forwarder, parse_training_callback
from ._client import TavusClient
from ._conversations import ConversationsService
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CadenceStateError,
    CallbackError,
    ClientClosedError,
    ConflictError,
    EventLoopError,
    FinetuneFailedError,
    InvalidArgumentError,
    InvalidIdError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    TavusError,
    TrainingError,
    TrainingFailedError,
    TrainingMayHaveStartedError,
    TrainingTimeoutError,
    UnprocessableEntityError,
)
from ._faces import FacesService, ReplicasService
from ._jobs import PollResult, TrainingJob
from ._models import (
    Conversation,
    ConversationStatus,
    Face,
    FaceStatus,
    FinetuneStatus,
    Replica,
    TrainingCallback,
    Voice,
)
from ._pages import Listing
from ._policies import PollPolicy, RetryPolicy
from ._version import __version__
from ._voices import VoicesService

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CadenceStateError",
    "CallbackError",
    "CallbackReceiver",
    "CallbackResult",
    "ClientClosedError",
    "ConflictError",
    "Conversation",
    "ConversationStatus",
    "ConversationsService",
    "EventLoopError",
    "Face",
    "FaceStatus",
    "FacesService",
    "FinetuneFailedError",
    "FinetuneStatus",
    "Forwarder",
    "InvalidArgumentError",
    "InvalidIdError",
    "Listing",
    "NotFoundError",
    "PermissionDeniedError",
    "PollPolicy",
    "PollResult",
    "RateLimitError",
    "Replica",
    "ReplicasService",
    "ResponseValidationError",
    "RetryPolicy",
    "ServerError",
    "TavusClient",
    "TavusError",
    "TrainingCallback",
    "TrainingError",
    "TrainingFailedError",
    "TrainingJob",
    "TrainingMayHaveStartedError",
    "TrainingTimeoutError",
    "UnprocessableEntityError",
    "Voice",
    "VoicesService",
    "__version__",
    "parse_training_callback",
]
