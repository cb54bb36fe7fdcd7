"""Faces and replicas: one engine, two sets of names.

:class:`FacesService` (``client.faces``) and :class:`ReplicasService` (``client.replicas``)
only fix the names and spell out ``create``'s keyword arguments for readers and type
checkers; every operation is implemented once, in :mod:`tavus_async._training`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._errors import InvalidArgumentError
from ._http import HTTPSession
from ._hub import JobHub
from ._jobs import TrainingJob
from ._models import Face, Replica
from ._pages import Listing
from ._training import FACES, REPLICAS, VoiceCatalog, _TrainingResource
from ._validation import CreateFields, check_id, check_name

__all__ = ["FacesService", "ReplicasService"]


class FacesService(_TrainingResource[Face]):
    """``client.faces``: train faces (``/v2/faces``) and wait for them."""

    def __init__(self, http: HTTPSession, hub: JobHub, voices: VoiceCatalog | None = None) -> None:
        super().__init__(http, hub, naming=FACES, model=Face, voices=voices)

    async def create(
        self,
        *,
        train_video_url: str | None = None,
        train_image_url: str | None = None,
        face_name: str | None = None,
        voice_name: str | None = None,
        default_voice_id: str | None = None,
        auto_fix_training_image: bool | None = None,
        callback_url: str | None = None,
        model_name: str | None = None,
        background_green_screen: bool | None = None,
        validate_voice: bool = False,
        expect_callback: bool | None = None,
    ) -> TrainingJob[Face]:
        """Start training a face and return its :class:`TrainingJob` (``await`` it to wait).

        Args:
            train_video_url: Public URL of the training video (or give ``train_image_url``).
            train_image_url: Public URL of one training image; needs a voice.
            face_name: Display name.
            voice_name: Stock voice slug (e.g. ``"anna"``) for image training.
            default_voice_id: A voice id instead of ``voice_name``.
            auto_fix_training_image: Let Tavus fix the image (image training only).
            callback_url: Tavus POSTs here when training completes or fails.
            model_name: ``phoenix-4`` (Tavus's default), ``phoenix-4.5``, ``phoenix-3``.
            background_green_screen: Train with a green-screen background.
            validate_voice: Check ``voice_name`` against the stock voices first
                (case-insensitive; a GET of the voice list), refusing an unknown name with
                close matches before the create is sent.
            expect_callback: The ``callback_url`` reaches a receiver that wakes this job
                (another process's, a workflow's): poll only as a safety net. Default: only
                when the URL carries this client's callback token.

        Raises:
            InvalidArgumentError: inconsistent or malformed arguments, or an unknown voice
                with ``validate_voice=True`` (no create is sent).
            TrainingMayHaveStartedError: the request failed after it may have reached Tavus;
                it was not retried. Find the training with :meth:`recover`.
            BadRequestError, AuthenticationError, RateLimitError: Tavus refused it.
            APIConnectionError: Tavus could not be reached (nothing was sent).
        """
        fields = CreateFields(
            name=face_name,
            train_video_url=train_video_url,
            train_image_url=train_image_url,
            voice_name=voice_name,
            default_voice_id=default_voice_id,
            auto_fix_training_image=auto_fix_training_image,
            callback_url=callback_url,
            model_name=model_name,
            background_green_screen=background_green_screen,
        )
        return await self._create(
            fields, validate_voice=validate_voice, expect_callback=expect_callback
        )

    def list(
        self,
        *,
        face_type: str = "user",
        model_name: str | None = None,
        face_ids: Iterable[str] | None = None,
        verbose: bool = False,
        page_size: int = 50,
    ) -> Listing[Face]:
        """Your faces: ``async for`` fetches pages lazily (``page`` from 1), ``await`` collects.

        Every page is followed until ``total_count`` items have been seen, even when the
        server returns fewer items per page than asked for; a page that repeats the previous
        one (a server that ignores ``page``) or an empty one ends the listing.

        Args:
            face_type: ``"user"`` (yours, the default), ``"system"`` (stock faces) or
                ``"all"``.
            model_name: Only faces of this Phoenix model, e.g. ``"phoenix-4"``.
            face_ids: Only these ids (sent comma-separated).
            verbose: Also return ``face_type`` on each item.
            page_size: Items per request, 1 to 100.

        Raises:
            InvalidArgumentError: a bad filter (nothing is sent).
            ResponseValidationError: a page that is not ``{data: [...], total_count}``.
            APIError: other failures, after retries.
        """
        return self._list(
            face_type=face_type,
            model_name=model_name,
            ids=face_ids,
            verbose=verbose,
            page_size=page_size,
        )

    async def update(
        self,
        face_id: str,
        *,
        face_name: str | None = None,
        default_voice_id: str | None = None,
    ) -> None:
        """Change a face's name and/or default voice (``PATCH /v2/faces/{id}``).

        Raises:
            InvalidArgumentError: nothing to change, a blank value or a bad id.
            InvalidIdError: unknown id. APIError: other failures, after retries.
        """
        body: dict[str, Any] = {}
        if face_name is not None:
            body["face_name"] = check_name("face_name", face_name)
        if default_voice_id is not None:
            body["default_voice_id"] = check_id("default_voice_id", default_voice_id)
        if not body:
            msg = "update needs face_name or default_voice_id"
            raise InvalidArgumentError(msg)
        await self._http.request("PATCH", self._item(face_id), json=body, expect_json=False)


class ReplicasService(_TrainingResource[Replica]):
    """``client.replicas``: the same resource under its replica-era names (``/v2/replicas``)."""

    def __init__(self, http: HTTPSession, hub: JobHub, voices: VoiceCatalog | None = None) -> None:
        super().__init__(http, hub, naming=REPLICAS, model=Replica, voices=voices)

    async def create(
        self,
        *,
        train_video_url: str | None = None,
        train_image_url: str | None = None,
        replica_name: str | None = None,
        consent_video_url: str | None = None,
        voice_name: str | None = None,
        default_voice_id: str | None = None,
        auto_fix_training_image: bool | None = None,
        callback_url: str | None = None,
        model_name: str | None = None,
        background_green_screen: bool | None = None,
        validate_voice: bool = False,
        expect_callback: bool | None = None,
    ) -> TrainingJob[Replica]:
        """Start training a replica; as :meth:`FacesService.create` with replica names.

        ``consent_video_url`` is a separate consent clip (replica-era; legacy for faces).

        Raises:
            As :meth:`FacesService.create`.
        """
        fields = CreateFields(
            name=replica_name,
            train_video_url=train_video_url,
            train_image_url=train_image_url,
            voice_name=voice_name,
            default_voice_id=default_voice_id,
            auto_fix_training_image=auto_fix_training_image,
            callback_url=callback_url,
            model_name=model_name,
            background_green_screen=background_green_screen,
            consent_video_url=consent_video_url,
        )
        return await self._create(
            fields, validate_voice=validate_voice, expect_callback=expect_callback
        )

    def list(
        self,
        *,
        replica_type: str = "user",
        model_name: str | None = None,
        replica_ids: Iterable[str] | None = None,
        verbose: bool = False,
        page_size: int = 50,
    ) -> Listing[Replica]:
        """Your replicas: ``async for`` pages lazily (``page`` from 1), ``await`` collects.

        Every page is followed until ``total_count`` items have been seen, even when the
        server returns fewer items per page than asked for.

        Args:
            replica_type: ``"user"`` (yours, the default), ``"system"`` (stock replicas) or
                ``"all"``.
            model_name: Only replicas of this Phoenix model, e.g. ``"phoenix-4"``.
            replica_ids: Only these ids (sent comma-separated).
            verbose: Also return ``replica_type`` on each item.
            page_size: Items per request, 1 to 100.

        Raises:
            InvalidArgumentError: a bad filter (nothing is sent).
            ResponseValidationError: a page that is not ``{data: [...], total_count}``.
            APIError: other failures, after retries.
        """
        return self._list(
            face_type=replica_type,
            model_name=model_name,
            ids=replica_ids,
            verbose=verbose,
            page_size=page_size,
        )
