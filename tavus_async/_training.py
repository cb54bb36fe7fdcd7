"""The engine behind faces and replicas: every operation once, against a :class:`Naming`.

``/v2/faces`` and ``/v2/replicas`` address the same resource and ids; they differ only in
path and field names (``face_id``/``replica_id``, ``face_name``/``replica_name``, …).
:class:`_TrainingResource` implements create, read, list, rename, delete and the jobs
(``job``, ``recover``, ``as_completed``) once; :mod:`tavus_async._faces` fixes the names.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import quote

import attrs

from ._converter import structure
from ._create import post_create
from ._durable import decode
from ._errors import InvalidArgumentError, ResponseValidationError
from ._http import HTTPSession, Response, Retry
from ._hub import JobHub
from ._jobs import TrainingJob, as_completed
from ._models import Face, FaceStatus
from ._outcome import Polled
from ._pages import Listing, paginate
from ._policies import PollPolicy
from ._recover import Recovery
from ._sansio import retry_after_from
from ._validation import (
    CreateFields,
    check_bool,
    check_choice,
    check_id,
    check_name,
    check_page_size,
    create_body,
)

__all__ = ["FACES", "REPLICAS", "Naming", "VoiceCatalog", "_TrainingResource"]

FaceT = TypeVar("FaceT", bound=Face)


@attrs.frozen
class Naming:
    """The path and field names of one spelling of the resource."""

    resource: str
    id: str
    name: str
    type: str
    ids: str

    def list_query(
        self,
        *,
        face_type: str | None,
        model_name: str | None,
        ids: Iterable[str] | None,
        verbose: bool,
    ) -> tuple[dict[str, Any], builtins.list[str] | None]:
        """A listing's query in these names, and the ids it asks for (``None``: any).

        Raises:
            InvalidArgumentError: a bad choice, name or id (nothing is sent).
            TypeError: ``ids`` given as one string, or arguments of the wrong type.
        """
        params: dict[str, Any] = {}
        kind = check_choice(self.type, face_type, ("user", "system", "all"))
        if kind != "all":
            params[self.type] = kind
        if model_name is not None:
            params["model_name"] = check_name("model_name", model_name)
        id_list: builtins.list[str] | None = None
        if ids is not None:
            if isinstance(ids, str):
                msg = f"ids must be an iterable of id strings, not one string ({self.ids})"
                raise TypeError(msg)
            id_list = [check_id(self.id, i) for i in ids]
            params[self.ids] = ",".join(id_list)
        if check_bool("verbose", verbose):
            params["verbose"] = True
        return params, id_list


FACES = Naming(resource="faces", id="face_id", name="face_name", type="face_type", ids="face_ids")
REPLICAS = Naming(
    resource="replicas",
    id="replica_id",
    name="replica_name",
    type="replica_type",
    ids="replica_ids",
)


class VoiceCatalog(Protocol):
    """What ``create(validate_voice=True)`` needs: the voices service, by its protocol."""

    async def check_voice_name(self, voice_name: str) -> str:
        """The stock voice's spelling of ``voice_name``, or InvalidArgumentError."""
        ...


class _TrainingResource(Generic[FaceT]):
    """The shared engine. Not public: use ``client.faces`` or ``client.replicas``."""

    def __init__(
        self,
        http: HTTPSession,
        hub: JobHub,
        *,
        naming: Naming,
        model: type[FaceT],
        voices: VoiceCatalog | None = None,
    ) -> None:
        self._http = http
        self._hub = hub
        self._voices = voices
        self._naming = naming
        self._model = model

    @property
    def resource(self) -> str:
        """``"faces"`` or ``"replicas"``."""
        return self._naming.resource

    def _path(self) -> str:
        return f"/v2/{self._naming.resource}"

    def _item(self, face_id: str, suffix: str = "") -> str:
        # Always validated: an id (even None) must never fall back to the collection path.
        face_id = check_id(self._naming.id, face_id)
        segment = face_id if face_id.isalnum() and face_id.isascii() else quote(face_id, safe="")
        return f"{self._path()}/{segment}{suffix}"

    def _face(self, response: Response, face_id: str | None = None) -> FaceT:
        face = structure(
            response.data,
            self._model,
            method=response.method,
            url=response.url,
            status=response.status,
            # A face read by its id may come without it (the URL says it): lenient.
            known=None if face_id is None else {"face_id": face_id},
        )
        if face_id is not None and face.face_id.casefold() != face_id.casefold():
            # An answer about another face is no answer about this one: a wait must never
            # end, or report progress, on someone else's training.
            field = self._naming.id
            msg = f"response is about another {field}"
            raise ResponseValidationError(
                msg,
                method=response.method,
                url=response.url,
                status=response.status,
                errors=[f"{face.face_id!r} is not the {face_id!r} asked for @ $.{field}"],
                body=response.data,
            )
        return face

    # ------------------------------------------------------------------ create

    async def _create(
        self,
        fields: CreateFields,
        *,
        validate_voice: bool,
        expect_callback: bool | None = None,
    ) -> TrainingJob[FaceT]:
        n = self._naming
        name, voice_name = fields.name, fields.voice_name
        if expect_callback is not None:
            check_bool("expect_callback", expect_callback)
            if expect_callback and fields.callback_url is None:
                msg = "expect_callback=True needs a callback_url"
                raise InvalidArgumentError(msg)
        body = create_body(fields, name_field=n.name)
        self._http.check_open()
        if check_bool("validate_voice", validate_voice):
            if voice_name is None:
                msg = "validate_voice=True needs a voice_name to check"
                raise InvalidArgumentError(msg)
            if self._voices is None:  # pragma: no cover - the client always wires it
                msg = "no voice catalog to validate against"
                raise InvalidArgumentError(msg)
            # Reads the stock list (GETs); the create itself is sent only if the name exists.
            body["voice_name"] = await self._voices.check_voice_name(voice_name)
        # Our wall clock's reading for this loop (or clock), taken before the face's
        # created_at is stamped: a client that resumes it on virtual time dates it right.
        self._hub.wall(self._hub.policy.clock)
        created = await post_create(self._http, self._path(), body, resource=n.resource, name=name)
        return TrainingJob(
            created.face_id,
            source=self,
            hub=self._hub,
            status=created.status or FaceStatus.STARTED,
            callback_url=fields.callback_url,
            created_at=self._hub.policy.clock(),
            created_date=created.server_date,
            expect_callback=expect_callback,
        )

    # ------------------------------------------------------------------ read

    async def get(self, face_id: str, *, verbose: bool = False) -> FaceT:
        """Read one face.

        Args:
            face_id: The id, e.g. ``r90bbd427f71``.
            verbose: Also return ``face_type``.

        Raises:
            InvalidArgumentError: the id is empty or contains ``/ ? # %``, ``..`` or spaces
                (nothing is sent).
            InvalidIdError: Tavus does not know the id (400).
            ResponseValidationError: the body does not describe a face, or describes
                another one (an id other than ``face_id``, case aside).
            APIError: other failures, after retries.
        """
        check_bool("verbose", verbose)
        response = await self._http.request(
            "GET", self._item(face_id), params={"verbose": True} if verbose else None
        )
        return self._face(response, face_id)

    async def fetch(self, face_id: str, *, retry: bool) -> Polled[FaceT]:
        """Read a face for a :class:`TrainingJob` (the ``FaceSource`` protocol)."""
        response = await self._http.request(
            "GET", self._item(face_id), retry=Retry.IDEMPOTENT if retry else Retry.NEVER
        )
        return Polled(
            face=self._face(response, face_id),
            retry_after=retry_after_from(response.headers),
            server_date=response.server_date,
        )

    def _list(
        self,
        *,
        face_type: str | None,
        model_name: str | None,
        ids: Iterable[str] | None,
        verbose: bool,
        page_size: int,
        on_page: Callable[[Response], None] | None = None,
    ) -> Listing[FaceT]:
        check_page_size(page_size)
        params, id_list = self._naming.list_query(
            face_type=face_type, model_name=model_name, ids=ids, verbose=verbose
        )

        async def pages() -> AsyncIterator[FaceT]:
            if id_list == []:
                return  # no ids asked for: nothing to list, and no request
            async for face in paginate(
                self._http,
                self._path(),
                self._model,
                params=params,
                page_size=page_size,
                key=lambda face: face.face_id,
                on_page=on_page,
            ):
                yield face

        return Listing(pages)

    # ------------------------------------------------------------------ write

    async def delete(self, face_id: str, *, hard: bool = False) -> None:
        """Delete a face. ``hard=True`` also erases its assets (training footage); irreversible.

        Raises:
            InvalidIdError: unknown id. APIError: other failures, after retries.
        """
        check_bool("hard", hard)
        await self._http.request(
            "DELETE",
            self._item(face_id),
            params={"hard": True} if hard else None,
            expect_json=False,
        )

    async def rename(self, face_id: str, name: str) -> None:
        """Rename a face (``PATCH …/{id}/name``).

        Raises:
            InvalidArgumentError: blank name or bad id (nothing is sent).
            InvalidIdError: unknown id. APIError: other failures, after retries.
        """
        body = {self._naming.name: check_name(self._naming.name, name)}
        await self._http.request(
            "PATCH", self._item(face_id, "/name"), json=body, expect_json=False
        )

    # ------------------------------------------------------------------ jobs

    def job(
        self,
        face_id: str,
        *,
        expect_callback: bool | None = None,
        state: str | None = None,
    ) -> TrainingJob[FaceT]:
        """A handle on the training of ``face_id``, from nothing but the id (no request).

        Use it to resume waiting in another process: ``await client.faces.job(id)``. A worker
        that polls once per process passes the previous poll's state along, and polls as
        economically as one long-lived process::

            result = await client.faces.job(face_id, state=state).poll_once()
            if not result.done:
                queue.enqueue_in(result.next_delay, "check", face_id, result.state)

        Args:
            face_id: The face's id.
            expect_callback: The training was created with a callback URL that reaches this
                client's receiver (same ``callback_secret``): poll only as a safety net.
                Default: as recorded in ``state``, else no.
            state: A :attr:`PollResult.state` (or :attr:`TrainingJob.state`) of this face,
                from any process: the cadence carries on from there.

        Raises:
            InvalidArgumentError: the id cannot be a face id.
            CadenceStateError: ``state`` is corrupt, from a newer release, or another face's.
        """
        face_id = check_id(self._naming.id, face_id)
        decoded = decode(state, face_id=face_id) if state is not None else None
        return TrainingJob(
            face_id,
            source=self,
            hub=self._hub,
            expect_callback=(
                check_bool("expect_callback", expect_callback)
                if expect_callback is not None
                else None
            ),
            state=decoded,
            token=state,
        )

    async def recover(
        self,
        *,
        name: str | None = None,
        since: dt.datetime | None = None,
        finished: bool = False,
        page_size: int = 100,
    ) -> builtins.list[TrainingJob[FaceT]]:
        """Jobs for every face of yours that is still training, to re-attach after a restart.

        Also the way to find a training after :class:`TrainingMayHaveStartedError`:
        ``recover(name=err.name, since=err.started_at, finished=True)`` (a training that
        already failed or completed was started all the same).

        Args:
            name: Only faces with exactly this name.
            since: Only faces created at or after this (aware) time, give or take
                ``CLOCK_SKEW`` (10 minutes). The server's clock is not ours: its
                ``created_at`` is put on our clock by the listing's ``Date`` header, and by
                the skew this client has seen between ``created_at`` and ``Date`` on faces it
                created (a naive timestamp in another time zone). A face listed without
                ``created_at`` is kept.
            finished: Also faces whose training has ended (their jobs resolve at once).
            page_size: Items per list request.

        Raises:
            APIError: as for :meth:`list`.
        """
        wanted = Recovery.checked(
            name=name, since=since, finished=finished, skew=self._hub.clock_skew
        )
        found = self._list(
            face_type="user",
            model_name=None,
            ids=None,
            verbose=False,
            page_size=page_size,
            on_page=lambda response: wanted.note(response.server_date),
        )
        jobs: builtins.list[TrainingJob[FaceT]] = []
        async for face in found:
            if wanted.wants(face):
                job = self.job(face.face_id)
                job._face = face  # known state; the wait still reads it afresh
                jobs.append(job)
        return jobs

    def as_completed(
        self,
        jobs: Iterable[TrainingJob[FaceT]],
        *,
        timeout: float | None = None,
        policy: PollPolicy | None = None,
    ) -> AsyncGenerator[TrainingJob[FaceT], None]:
        """Yield jobs as their trainings end (completed or failed), first finished first.

        After a job is yielded, ``await job`` returns its face or raises its training error
        at once. Leaving the loop early stops the other waits (never the trainings); to stop
        them at once rather than when the generator is collected, close it
        (``contextlib.aclosing``).

        Raises:
            TrainingTimeoutError: a job was not done by its deadline.
            APIError: a permanent error while polling one of the jobs.
        """
        return as_completed(jobs, timeout=timeout, policy=policy)
