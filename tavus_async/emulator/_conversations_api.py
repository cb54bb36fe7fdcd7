"""``/v2/conversations``: create with a completed face, get, list, end, delete."""

from __future__ import annotations

from aiohttp import web

from ._base import EmulatorBase
from ._state import ConversationRecord, new_id
from ._wire import error, is_http_url, json_body, json_response, list_response, paging

__all__ = ["ConversationsAPI"]


class ConversationsAPI(EmulatorBase):
    """Conversations with trained faces."""

    async def _create_conversation(self, request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        if not isinstance(body, dict):
            return error("Invalid request body: expected a JSON object")
        face_id = body.get("replica_id") or body.get("face_id")
        if not isinstance(face_id, str):
            return error("replica_id is required (or a persona with a default replica)")
        record = self.faces.get(face_id)
        if record is None or record.deleted:
            return error("Invalid replica_id")
        state = record.state(self.now())
        if state.status != "completed":
            # Tavus refuses a face that is still training or failed.
            return error(
                f"Replica {face_id} is not ready (status {state.status}); "
                "wait for training to complete"
            )
        callback = body.get("callback_url")
        if callback is not None and not is_http_url(callback):
            return error("Invalid callback_url")
        conversation = ConversationRecord(
            conversation_id=new_id(self._rng, "c", 7),
            replica_id=face_id,
            persona_id=body.get("persona_id") or body.get("pal_id"),
            name=body.get("conversation_name"),
            callback_url=callback,
            created=self.now(),
            test_mode=bool(body.get("test_mode")),
            status="ended" if body.get("test_mode") else "active",
            request=body,
        )
        self.conversations[conversation.conversation_id] = conversation
        return json_response(
            conversation.render(epoch=self.epoch, verbose=False, listing=True)
            | {"status": conversation.status}
        )

    def _conversation(self, request: web.Request) -> ConversationRecord | web.Response:
        found = self.conversations.get(request.match_info["id"])
        if found is None or found.deleted:
            return error("Invalid conversation_id")
        return found

    async def _list_conversations(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        try:
            limit, page = paging(query, default_limit=10, maximum=100, cap=self.page_cap)
        except ValueError as exc:
            return error(str(exc))
        status = query.get("status")
        if status is not None and status not in ("active", "ended"):
            return error("Invalid status: must be active or ended")
        rows = [
            c
            for c in self.conversations.values()
            if not c.deleted and (status is None or c.status == status)
        ]
        rows.sort(key=lambda c: (-c.created, c.conversation_id))
        return list_response(
            rows,
            limit=limit,
            page=page,
            render=lambda c: c.render(epoch=self.epoch, verbose=False, listing=True),
            total=self.total_count,
        )

    async def _get_conversation(self, request: web.Request) -> web.StreamResponse:
        found = self._conversation(request)
        if isinstance(found, web.Response):
            return found
        verbose = request.query.get("verbose", "").lower() == "true"
        return json_response(found.render(epoch=self.epoch, verbose=verbose, listing=False))

    async def _end_conversation(self, request: web.Request) -> web.StreamResponse:
        found = self._conversation(request)
        if isinstance(found, web.Response):
            return found
        found.status = "ended"
        found.updated = self.now()
        return web.Response(status=200)

    async def _delete_conversation(self, request: web.Request) -> web.StreamResponse:
        found = self._conversation(request)
        if isinstance(found, web.Response):
            return found
        found.deleted = True
        return web.Response(status=204)
