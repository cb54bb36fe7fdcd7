"""``/v2/voices``: the stock voices, paged and searchable."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ._base import EmulatorBase
from ._state import STOCK_VOICES
from ._wire import error, json_response, list_response, paging

__all__ = ["VoicesAPI"]


class VoicesAPI(EmulatorBase):
    """List and get stock voices."""

    def _voice_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "voice_name": name,
                "voice_id": f"v{face_id[1:]}0",
                "replica_id": face_id,
                "audio_url": f"https://emulator.tavus.invalid/voices/{name}.mp3",
                "tags": [{"tag_name": t} for t in tags],
            }
            for name, face_id, tags in STOCK_VOICES
        ]

    async def _list_voices(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        try:
            limit, page = paging(query, default_limit=10, maximum=100, cap=self.page_cap)
        except ValueError as exc:
            return error(str(exc))
        rows = self._voice_rows()
        search = query.get("search", "").lower()
        if search:
            rows = [v for v in rows if search in v["voice_name"].lower()]
        tag = query.get("tag", "").lower()
        if tag:
            rows = [v for v in rows if tag in {t["tag_name"].lower() for t in v["tags"]}]
        rows.sort(key=lambda v: v["voice_name"], reverse=query.get("sort") == "desc")
        return list_response(
            rows,
            limit=limit,
            page=page,
            render=lambda v: v,
            extra={"page": page, "limit": limit},
            total=self.total_count,
        )

    async def _get_voice(self, request: web.Request) -> web.StreamResponse:
        for voice in self._voice_rows():
            if voice["voice_id"] == request.match_info["id"]:
                return json_response({**voice, "status": "completed"})
        return json_response({"message": "Voice not found"}, status=404)
