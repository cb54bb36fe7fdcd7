"""``client.conversations``: start a conversation with a trained face, read and end it.

On the wire this endpoint is sent ``replica_id``/``persona_id``: the official client says
``/v2/conversations`` is not part of the face/PAL alias, so the replica-era names are the
safe ones (reference §6, §12). The Python API speaks faces and PALs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ._converter import structure
from ._errors import InvalidArgumentError
from ._http import HTTPSession, Response, Retry
from ._models import Conversation, Face
from ._pages import Listing, paginate
from ._validation import (
    check_bool,
    check_choice,
    check_id,
    check_name,
    check_page_size,
    check_text,
    check_url,
)

__all__ = ["ConversationsService"]


class ConversationsService:
    """``client.conversations``: create, get, list, end and delete conversations."""

    def __init__(self, http: HTTPSession) -> None:
        self._http = http

    def _path(self) -> str:
        return "/v2/conversations"

    def _item(self, conversation_id: str, suffix: str = "") -> str:
        safe = quote(check_id("conversation_id", conversation_id), safe="")
        return f"/v2/conversations/{safe}{suffix}"

    def _conversation(self, response: Response, conversation_id: str | None = None) -> Conversation:
        return structure(
            response.data,
            Conversation,
            method=response.method,
            url=response.url,
            status=response.status,
            # Read by its id, a conversation may come without it (the URL says it).
            known=None if conversation_id is None else {"conversation_id": conversation_id},
        )

    async def create(
        self,
        *,
        face: Face | None = None,
        face_id: str | None = None,
        pal_id: str | None = None,
        conversation_name: str | None = None,
        conversational_context: str | None = None,
        custom_greeting: str | None = None,
        callback_url: str | None = None,
        test_mode: bool | None = None,
        audio_only: bool | None = None,
        properties: Mapping[str, Any] | None = None,
    ) -> Conversation:
        """Start a conversation with a trained face (``POST /v2/conversations``).

        Args:
            face: A :class:`Face` (e.g. from ``await job``); refused before any request
                unless its training completed.
            face_id: The face's id, instead of ``face``.
            pal_id: The PAL (persona) to use; may supply a default face.
            conversation_name: Display name.
            conversational_context: Context for the conversation.
            custom_greeting: What the face says first.
            callback_url: Where conversation events are posted.
            test_mode: Create without the face joining (no cost; status ``ended``).
            audio_only: Audio-only conversation.
            properties: Conversation properties (``max_call_duration``, ``language``, …),
                sent as given.

        Raises:
            InvalidArgumentError: both or neither of ``face``/``face_id`` (without a PAL),
                a face whose training is not completed, or a malformed value (nothing sent).
            BadRequestError: Tavus refused it (e.g. a face still training, or the
                concurrency limit of your plan).
            APIError: other failures; a create is not retried once it may have reached
                Tavus (it could start a second, billed conversation).
        """
        if face is not None and face_id is not None:
            msg = "give face or face_id, not both"
            raise InvalidArgumentError(msg)
        if face is not None:
            face_id = _completed_face_id(face)
        if face_id is None and pal_id is None:
            msg = "a conversation needs a face (face= or face_id=) or a PAL with a default face"
            raise InvalidArgumentError(msg)
        body: dict[str, Any] = {
            "replica_id": check_id("face_id", face_id) if face_id is not None else None,
            "persona_id": check_id("pal_id", pal_id) if pal_id is not None else None,
            "conversation_name": _opt(check_name, "conversation_name", conversation_name),
            "conversational_context": _opt(
                check_text, "conversational_context", conversational_context
            ),
            "custom_greeting": _opt(check_text, "custom_greeting", custom_greeting),
            "callback_url": _opt(check_url, "callback_url", callback_url),
            "test_mode": _opt(check_bool, "test_mode", test_mode),
            "audio_only": _opt(check_bool, "audio_only", audio_only),
            "properties": _properties(properties),
        }
        response = await self._http.request(
            "POST", self._path(), json=body, retry=Retry.UNSENT_ONLY
        )
        return self._conversation(response)

    async def get(self, conversation_id: str, *, verbose: bool = False) -> Conversation:
        """Read a conversation; ``verbose=True`` adds its ``events``.

        Raises:
            InvalidIdError: unknown id (400). APIError: other failures, after retries.
        """
        check_bool("verbose", verbose)
        response = await self._http.request(
            "GET", self._item(conversation_id), params={"verbose": True} if verbose else None
        )
        return self._conversation(response, conversation_id)

    def list(self, *, status: str | None = None, page_size: int = 100) -> Listing[Conversation]:
        """Every conversation: ``async for`` pages lazily (``page`` from 1), ``await`` collects.

        Args:
            status: ``"active"`` or ``"ended"``.
            page_size: Items per request, 1 to 100.

        Raises:
            InvalidArgumentError: a bad filter (nothing is sent).
            APIError: as for any read, after retries.
        """
        params: dict[str, Any] = {}
        if status is not None:
            params["status"] = check_choice("status", status, ("active", "ended"))
        check_page_size(page_size)
        return Listing(
            lambda: paginate(
                self._http,
                self._path(),
                Conversation,
                params=params,
                page_size=page_size,
                key=lambda conversation: conversation.conversation_id,
            )
        )

    async def end(self, conversation_id: str) -> None:
        """End a live conversation (``POST …/end``); ending twice is harmless, so it retries.

        Raises:
            InvalidIdError: unknown id. APIError: other failures, after retries.
        """
        await self._http.request(
            "POST", self._item(conversation_id, "/end"), retry=Retry.IDEMPOTENT, expect_json=False
        )

    async def delete(self, conversation_id: str, *, hard: bool = False) -> None:
        """Delete a conversation (Tavus answers 204 No Content).

        Raises:
            InvalidIdError: unknown id. APIError: other failures, after retries.
        """
        check_bool("hard", hard)
        await self._http.request(
            "DELETE",
            self._item(conversation_id),
            params={"hard": True} if hard else None,
            expect_json=False,
        )


def _completed_face_id(face: Any) -> str:
    if not isinstance(face, Face):
        msg = f"face must be a Face, got {type(face).__name__}"
        raise TypeError(msg)
    if not face.status.is_success:
        msg = (
            f"face {face.face_id} is not trained (status {face.status}); wait for it first: "
            f"face = await client.faces.job({face.face_id!r})"
        )
        raise InvalidArgumentError(msg)
    return face.face_id


def _opt(check: Any, name: str, value: Any) -> Any:
    return None if value is None else check(name, value)


def _properties(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        msg = "properties must be a mapping with string keys"
        raise TypeError(msg)
    return dict(value)
