"""The create POST, sent at most once: a second could start (and bill) a second training.

A create is retried only while it provably never left this process (no connection was
made). Once it may have reached Tavus, any doubt (a dropped connection, a 5xx or 408, a
2xx whose body names no face) is :class:`TrainingMayHaveStartedError`, which says how to
find the training that may be running; a 4xx is the plain error (nothing started).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import attrs

from ._converter import structure
from ._errors import (
    APIConnectionError,
    APIStatusError,
    ResponseValidationError,
    TavusError,
    TrainingMayHaveStartedError,
)
from ._http import HTTPSession, Retry, _UnsentError
from ._models import ALIASES, FaceStatus

__all__ = ["Created", "post_create"]

logger = logging.getLogger("tavus_async")


@attrs.frozen(kw_only=True)
class _CreatedBody:
    face_id: str = attrs.field(metadata={ALIASES: ("replica_id",)})
    status: FaceStatus | None = None


@attrs.frozen(kw_only=True)
class Created:
    """What a create answered: the new face's id, its status, the server's ``Date``."""

    face_id: str
    status: FaceStatus | None
    server_date: dt.datetime | None


async def post_create(
    http: HTTPSession, path: str, body: dict[str, Any], *, resource: str, name: str | None
) -> Created:
    """POST ``body`` to ``path`` once (see the module doc) and read the new face's id.

    A cancellation while the request is out is logged (a warning: a training may have
    started) and propagates.

    Raises:
        TrainingMayHaveStartedError: the create may have reached Tavus, and we cannot tell
            which face it started (if any).
        APIStatusError: a 4xx (other than 408): nothing started.
        APIError: a failure before anything was sent.
    """
    started_at = dt.datetime.now(dt.timezone.utc)

    def may_have_started(cause: TavusError) -> TrainingMayHaveStartedError:
        return TrainingMayHaveStartedError(
            resource=resource, name=name, started_at=started_at, cause=cause
        )

    try:
        response = await http.request("POST", path, json=body, retry=Retry.UNSENT_ONLY)
    except asyncio.CancelledError:
        # Nothing can be raised instead of a cancellation: say it where it will be seen.
        named = f"name={name!r}, " if name else ""
        logger.warning(
            "POST /v2/%s was cancelled after it may have reached Tavus: a training may have "
            "started. Look for it before creating another: "
            "await client.%s.recover(%ssince=%s)",
            resource,
            resource,
            named,
            started_at.isoformat(timespec="seconds"),
        )
        raise
    except _UnsentError:
        raise  # provably never sent: nothing started
    except APIConnectionError as exc:
        raise may_have_started(exc) from exc
    except APIStatusError as exc:
        if exc.status >= 500 or exc.status == 408:
            raise may_have_started(exc) from exc
        raise
    except ResponseValidationError as exc:
        raise may_have_started(exc) from exc
    try:
        created = structure(
            response.data,
            _CreatedBody,
            method=response.method,
            url=response.url,
            status=response.status,
        )
    except ResponseValidationError as exc:
        # 2xx: Tavus accepted the training, but we cannot tell which face it is.
        raise may_have_started(exc) from exc
    return Created(face_id=created.face_id, status=created.status, server_date=response.server_date)
