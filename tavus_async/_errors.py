"""Every exception tavus_async raises on purpose.

The hierarchy::

    TavusError
    ├── InvalidArgumentError        bad input, caught before any request (also a ValueError)
    │   └── CadenceStateError       a cadence state token that cannot be used (see PollResult.state)
    ├── ClientClosedError           the client was used after close() (also a RuntimeError)
    ├── EventLoopError              the client was used in another event loop (a RuntimeError)
    ├── APIError                    something went wrong talking to the API
    │   ├── APIStatusError          a non-2xx response: .status .message .body .request_id
    │   │   ├── BadRequestError             400
    │   │   │   └── InvalidIdError          400 "Invalid face_id" (Tavus's answer for unknown ids)
    │   │   ├── AuthenticationError         401
    │   │   ├── PermissionDeniedError       403
    │   │   ├── NotFoundError               404
    │   │   ├── ConflictError               409
    │   │   ├── UnprocessableEntityError    422
    │   │   ├── RateLimitError              429 (.retry_after)
    │   │   └── ServerError                 5xx
    │   ├── APIConnectionError      no usable response: refused, reset, truncated
    │   │   └── APITimeoutError     the per-request timeout passed
    │   └── ResponseValidationError a 2xx body that does not fit the model (.errors, .body)
    ├── TrainingMayHaveStartedError a create failed after it may have reached Tavus
    ├── TrainingError               the outcome of waiting for a training
    │   ├── TrainingFailedError     status "error", "cancelled"… (.face, .error_message)
    │   ├── FinetuneFailedError     Phoenix-4.5 tuning failed; the preview is usable (.face)
    │   └── TrainingTimeoutError    our deadline passed; the training goes on (.face_id)
    └── CallbackError               a training callback body that cannot be parsed

Foreign exceptions (aiohttp, asyncio timeouts, cattrs) are translated once, at the boundary
that meets them, and chained with ``raise … from``. No exception message contains the API key.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ._models import Face

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CadenceStateError",
    "CallbackError",
    "ClientClosedError",
    "ConflictError",
    "EventLoopError",
    "FinetuneFailedError",
    "InvalidArgumentError",
    "InvalidIdError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
    "TavusError",
    "TrainingError",
    "TrainingFailedError",
    "TrainingMayHaveStartedError",
    "TrainingTimeoutError",
    "UnprocessableEntityError",
]


class TavusError(Exception):
    """Root of every exception tavus_async raises on purpose."""


class InvalidArgumentError(TavusError, ValueError):
    """An argument was refused before any request was sent (e.g. a relative URL).

    Wrong *types* raise :class:`TypeError` instead, as for any Python API.
    """


class CadenceStateError(InvalidArgumentError):
    """A cadence state token (``PollResult.state``) that cannot be used.

    It is malformed or truncated, was written by a newer tavus_async (an unknown version is
    refused, never guessed at), belongs to another face, or holds values no cadence writes
    (an edited token). Nothing is sent.
    """


class ClientClosedError(TavusError, RuntimeError):
    """The :class:`~tavus_async.TavusClient` was used after ``close()``, or closed mid-wait."""


class EventLoopError(TavusError, RuntimeError):
    """The client was used in an event loop other than the one it started in.

    A :class:`~tavus_async.TavusClient` owns an aiohttp session, and a session belongs to the
    event loop it was made in: a second ``asyncio.run()`` cannot reuse it. Create the client
    inside the coroutine you run (``async with TavusClient() as client:``), one per loop.
    """


#: Characters of another error's text that a message quotes.
_QUOTED = 300


def _snippet(text: str) -> str:
    return text if len(text) <= _QUOTED else text[: _QUOTED - 1] + "…"


class APIError(TavusError):
    """Something went wrong talking to the Tavus API.

    Attributes:
        method: HTTP method of the failed request.
        url: URL of the failed request (never contains the API key).
    """

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class APIStatusError(APIError):
    """The API answered with a non-2xx status.

    Attributes:
        status: The HTTP status code.
        message: The API's own message, read from ``error`` or ``message`` in the body
            (or a short snippet of a non-JSON body).
        body: The decoded JSON body, or the (truncated) text of a non-JSON body.
        request_id: A request id from the response headers, when the server sent one.
        retry_after: Seconds the server asked us to wait (``Retry-After``), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        method: str,
        url: str,
        body: Any = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.body = body
        self.request_id = request_id
        self.retry_after = retry_after
        super().__init__(self._describe(), method=method, url=url)

    def _describe(self) -> str:
        text = f"HTTP {self.status}: {self.message}"
        if self.request_id:
            text += f" (request id {self.request_id})"
        return text

    def __str__(self) -> str:
        return f"{self._describe()} [{self.method} {self.url}]"


class BadRequestError(APIStatusError):
    """400: the API refused the request (its ``error`` says why)."""


class InvalidIdError(BadRequestError):
    """400 ``Invalid face_id`` (or ``replica_id``, ``conversation_id``…): the id is unknown.

    Tavus answers unknown ids with 400, not 404; this subclass makes the case recognisable,
    and a waiting :class:`~tavus_async.TrainingJob` stops on it at once, save for a face
    the client has just created and not yet read: for two minutes after its create, that
    is a store catching up with its write, and the wait retries it as a fault.

    Attributes:
        id_field: The field the API named, e.g. ``"face_id"``.
    """

    def __init__(self, message: str, *, id_field: str, **kwargs: Any) -> None:
        self.id_field = id_field
        super().__init__(message, **kwargs)


class AuthenticationError(APIStatusError):
    """401: the API key is missing or invalid."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this (e.g. an IP-restricted key)."""


class NotFoundError(APIStatusError):
    """404: no such resource or route."""


class ConflictError(APIStatusError):
    """409: the resource is in a state that does not allow this."""


class UnprocessableEntityError(APIStatusError):
    """422: the body was understood but refused."""


class RateLimitError(APIStatusError):
    """429: too many requests; :attr:`retry_after` says how long to wait, when sent."""


class ServerError(APIStatusError):
    """5xx: the API failed; usually transient."""


class APIConnectionError(APIError):
    """No usable response: connection refused or reset, body truncated, or similar."""


class APITimeoutError(APIConnectionError):
    """The per-request timeout passed (this is not the training deadline)."""


class ResponseValidationError(APIError):
    """A 2xx body that does not fit the expected model.

    Attributes:
        status: HTTP status of the response.
        errors: Readable problems with their field paths, e.g. ``"… @ $.face_id"``.
        body: The raw decoded body (or text snippet) as received.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        url: str,
        status: int,
        errors: Sequence[str],
        body: Any,
    ) -> None:
        super().__init__(message, method=method, url=url)
        self.status = status
        self.errors = tuple(errors)
        self.body = body

    def __str__(self) -> str:
        problems = "; ".join(self.errors) if self.errors else "unexpected body"
        return f"{self.args[0]}: {problems} [{self.method} {self.url}]"


class TrainingMayHaveStartedError(TavusError):
    """A create request failed *after* it may have reached Tavus.

    The request was not retried, because a retry could start (and bill) a second multi-hour
    training. The training may be running: find it by name (``recover(name=…, since=…)``) before
    creating another one.

    Attributes:
        resource: ``"faces"`` or ``"replicas"``.
        name: The name given at creation, if any.
        started_at: Wall-clock time just before the request was sent (UTC).
        cause: The underlying error (also ``__cause__``).
    """

    def __init__(
        self,
        *,
        resource: str,
        name: str | None,
        started_at: dt.datetime,
        cause: TavusError,
    ) -> None:
        self.resource = resource
        self.name = name
        self.started_at = started_at
        self.cause = cause
        named = f"name={name!r}, " if name else ""
        super().__init__(
            f"POST /v2/{resource} failed after the request may have reached Tavus ({cause}); "
            "a training may have started. It was not retried, to avoid a second training. "
            f"Look for it before creating another: "
            f"await client.{resource}.recover({named}since=<started_at>)"
        )


class TrainingError(TavusError):
    """The outcome of waiting for a training, when it is not a usable face.

    Attributes:
        face_id: The face the wait was for.
    """

    def __init__(self, message: str, *, face_id: str) -> None:
        super().__init__(message)
        self.face_id = face_id


class TrainingFailedError(TrainingError):
    """Training ended in failure: status ``error`` (or ``failed``, ``cancelled``, ``deleted``…).

    The words that count are those of :attr:`FaceStatus.is_failure
    <tavus_async.FaceStatus.is_failure>`.

    Attributes:
        face: The final face as last read.
        error_message: Tavus's reason (e.g. ``video_codec``), if it gave one.
    """

    def __init__(self, face: Face) -> None:
        self.face = face
        self.error_message = face.error_message
        reason = face.error_message or "no error_message given"
        status = face.status.value
        # "failed" says it all for the documented word; another one is quoted as sent.
        how = "failed" if status.strip().lower() == "error" else f"ended as {status!r}"
        super().__init__(f"training of {face.face_id} {how}: {reason}", face_id=face.face_id)


class FinetuneFailedError(TrainingError):
    """Phoenix-4.5 tuning failed (``finetune_status`` ``errored``).

    The watermarked preview is still usable: it is :attr:`face`.
    """

    def __init__(self, face: Face) -> None:
        self.face = face
        super().__init__(
            f"tuning of Phoenix-4.5 face {face.face_id} failed "
            f"(finetune_status={face.finetune_status}); the preview remains usable",
            face_id=face.face_id,
        )


class TrainingTimeoutError(TrainingError, TimeoutError):
    """The wait's deadline passed. The training itself goes on, untouched.

    Resume later with ``client.faces.job(face_id)``.

    Attributes:
        timeout: The deadline that passed, in seconds.
        face: The face as last read, or ``None`` if no read succeeded.
        last_error: Why the last read failed, when it did (a server down, a body that
            does not fit, a connection refused): also the exception's ``__cause__``, and
            named in its message.
    """

    def __init__(
        self,
        *,
        face_id: str,
        timeout: float,
        face: Face | None,
        last_error: APIError | None = None,
    ) -> None:
        self.timeout = timeout
        self.face = face
        self.last_error = last_error
        last = (
            f"last seen {face.status}"
            + (f" at {face.training_progress}" if face.training_progress else "")
            if face is not None
            else "no successful read"
        )
        if last_error is not None:
            last += f"; the last read failed: {_snippet(str(last_error))}"
        super().__init__(
            f"face {face_id} was not done after {timeout:g}s ({last}); training continues "
            f"on Tavus: resume with client.faces.job({face_id!r})",
            face_id=face_id,
        )
        self.__cause__ = last_error


class CallbackError(TavusError):
    """A training callback body that cannot be parsed (bad JSON or wrong shape)."""
