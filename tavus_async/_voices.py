"""``client.voices``: the stock voices an image-trained face can speak with."""

from __future__ import annotations

import difflib
from typing import Any
from urllib.parse import quote

from ._converter import structure
from ._errors import InvalidArgumentError
from ._http import HTTPSession
from ._models import Voice
from ._pages import Listing, paginate
from ._validation import check_id, check_page_size, check_text

__all__ = ["VoicesService"]


class VoicesService:
    """``client.voices``: list stock voices (``GET /v2/voices``) and read one voice."""

    def __init__(self, http: HTTPSession) -> None:
        self._http = http

    def list(
        self, *, search: str | None = None, tag: str | None = None, page_size: int = 100
    ) -> Listing[Voice]:
        """Every stock voice: ``async for`` pages lazily (``page`` from 1), ``await`` collects.

        Args:
            search: Case-insensitive substring of ``voice_name``.
            tag: Only voices with this tag (case-insensitive).
            page_size: Items per request, 1 to 100.

        Raises:
            InvalidArgumentError: a bad filter (nothing is sent).
            APIError: as for any read, after retries.
        """
        params: dict[str, Any] = {}
        if search is not None:
            params["search"] = check_text("search", search, limit=200)
        if tag is not None:
            params["tag"] = check_text("tag", tag, limit=200)
        check_page_size(page_size)
        return Listing(
            lambda: paginate(
                self._http,
                "/v2/voices",
                Voice,
                params=params,
                page_size=page_size,
                key=lambda voice: voice.voice_name,
            )
        )

    async def get(self, voice_id: str) -> Voice:
        """Read one voice by id (``v…``).

        Raises:
            NotFoundError: no such voice (404). APIError: other failures, after retries.
        """
        response = await self._http.request(
            "GET", f"/v2/voices/{quote(check_id('voice_id', voice_id), safe='')}"
        )
        return structure(
            response.data, Voice, method=response.method, url=response.url, status=response.status
        )

    async def check_voice_name(self, voice_name: str) -> str:
        """Return the stock voice's own spelling of ``voice_name`` (case-insensitive match).

        Raises:
            InvalidArgumentError: no stock voice has that name; the message lists close
                matches.
        """
        names = [voice.voice_name async for voice in self.list()]
        by_lower = {name.lower(): name for name in names}
        found = by_lower.get(voice_name.strip().lower())
        if found is not None:
            return found
        close = difflib.get_close_matches(voice_name.lower(), list(by_lower), n=3, cutoff=0.6)
        hint = (
            f"; did you mean {', '.join(repr(by_lower[c]) for c in close)}?"
            if close
            else f"; {len(names)} stock voices exist (client.voices.list())"
        )
        msg = f"voice_name {voice_name!r} is not a stock voice{hint}"
        raise InvalidArgumentError(msg)
