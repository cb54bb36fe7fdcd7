"""``/v2/faces`` and ``/v2/replicas``: one set of handlers, two namings."""

from __future__ import annotations

import random
from typing import Any

from aiohttp import web

from ._delivery import CallbackSender
from ._scenarios import Scenario
from ._state import FACE_NAMES, STOCK_VOICES, FaceRecord, Names, new_id
from ._wire import error, is_http_url, json_body, json_response, list_response, paging

__all__ = ["FacesAPI"]


class FacesAPI(CallbackSender):
    """Create, get, list, rename, update and delete faces, under either naming."""

    def _record_for(self, request: web.Request, names: Names) -> FaceRecord | web.Response:
        record = self.faces.get(request.match_info["id"])
        if record is None or record.deleted:
            return error(f"Invalid {names['id']}")
        return record

    def _render(
        self, record: FaceRecord, names: Names, *, verbose: bool, listing: bool = False
    ) -> dict[str, Any]:
        return record.render(
            names, now=self.now(), epoch=self.epoch, verbose=verbose, listing=listing
        )

    async def _create_face(self, request: web.Request, names: Names) -> web.StreamResponse:
        body = await json_body(request)
        if not isinstance(body, dict):
            return error("Invalid request body: expected a JSON object")
        video, image = body.get("train_video_url"), body.get("train_image_url")
        if not video and not image:
            return error("Either train_video_url or train_image_url must be provided.")
        if video and image:
            return error("Only one of train_video_url or train_image_url may be provided.")
        for field in ("train_video_url", "train_image_url", "callback_url", "consent_video_url"):
            value = body.get(field)
            if value is not None and not is_http_url(value):
                return error(f"Invalid {field}: must be a public http(s) URL")
        name = body.get(names["name"])
        if name is not None and not isinstance(name, str):
            return error(f"Invalid {names['name']}: must be a string")
        voice, voice_id = body.get("voice_name"), body.get("default_voice_id")
        if voice is not None and voice_id is not None:
            return error("Provide voice_name or default_voice_id, not both.")
        if image and voice is None and voice_id is None:
            return error("voice_name is required when train_image_url is provided.")
        if voice is not None and (
            not isinstance(voice, str) or voice.lower() not in {v[0] for v in STOCK_VOICES}
        ):
            return error(f"Invalid voice_name: {voice!r}. Use List Voices to find valid names.")
        if body.get("auto_fix_training_image") is not None and not image:
            return error("auto_fix_training_image applies only to train_image_url.")
        model = body.get("model_name") or "phoenix-4"
        if not isinstance(model, str):
            return error("Invalid model_name")
        url = video or image
        scenario = self._scenario_for(name, url, model)
        face_id = self._new_face_id()
        record = FaceRecord(
            face_id=face_id,
            name=name,
            created=self.now(),
            scenario=scenario,
            points=scenario.points(random.Random(f"{self.seed}:{face_id}")),
            model_name=model,
            callback_url=body.get("callback_url"),
            train_url=url,
            default_voice_id=voice_id or f"v{face_id[1:]}0",
            original_voice_id=voice_id or f"v{face_id[1:]}0",
            request=body,
            seq=len(self.faces),
        )
        self.faces[face_id] = record
        if record.callback_url:
            self._spawn(self._deliver_callbacks(record, names))
        return json_response({names["id"]: face_id, "status": "started"})

    def _scenario_for(self, name: str | None, url: str | None, model: str) -> Scenario:
        for rule in self.rules:
            if rule.matches(name, url):
                return rule.scenario
        if model.startswith("phoenix-4.5") and self.scenario.preview_after is None:
            return Scenario.phoenix45(tuning=self.scenario.duration)
        return self.scenario

    def _new_face_id(self) -> str:
        while True:
            face_id = new_id(self._rng, "r")
            if face_id not in self.faces:
                return face_id

    async def _get_face(self, request: web.Request, names: Names) -> web.StreamResponse:
        found = self._record_for(request, names)
        if isinstance(found, web.Response):
            return found
        verbose = request.query.get("verbose", "").lower() == "true"
        return json_response(self._render(found, names, verbose=verbose))

    async def _list_faces(self, request: web.Request, names: Names) -> web.StreamResponse:
        query = request.query
        try:
            limit, page = paging(query, default_limit=10, maximum=100, cap=self.page_cap)
        except ValueError as exc:
            return error(str(exc))
        kind = query.get(names["type"])
        if kind is not None and kind not in ("user", "system"):
            return error(f"Invalid {names['type']}: must be user or system")
        wanted = {i for i in query.get(names["ids"], "").split(",") if i}
        model = query.get("model_name")
        rows = [
            r
            for r in self.faces.values()
            if not r.deleted
            and (kind is None or r.face_type == kind)
            and (not wanted or r.face_id in wanted)
            and (model is None or r.model_name == model)
        ]
        # Newest user faces first, then stock faces.
        rows.sort(key=lambda r: (r.face_type != "user", -r.created, -r.seq))
        return list_response(
            rows,
            limit=limit,
            page=page,
            render=lambda r: self._render(r, names, verbose=True, listing=True),
            total=self.total_count,
        )

    async def _delete_face(self, request: web.Request, names: Names) -> web.StreamResponse:
        found = self._record_for(request, names)
        if isinstance(found, web.Response):
            return found
        if found.face_type == "system":
            return error(f"Invalid {names['id']}: stock faces cannot be deleted")
        found.deleted = True
        found.hard_deleted = request.query.get("hard", "").lower() == "true"
        return web.Response(status=200)

    async def _rename_face(self, request: web.Request, names: Names) -> web.StreamResponse:
        found = self._record_for(request, names)
        if isinstance(found, web.Response):
            return found
        body = await json_body(request)
        name = body.get(names["name"]) if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip():
            return error(f"{names['name']} is required")
        found.name = name
        found.updated = self.now()
        return web.Response(status=200)

    async def _update_face(self, request: web.Request) -> web.StreamResponse:
        found = self._record_for(request, FACE_NAMES)
        if isinstance(found, web.Response):
            return found
        body = await json_body(request)
        if not isinstance(body, dict) or not {"face_name", "default_voice_id"} & body.keys():
            return error("Provide face_name and/or default_voice_id")
        for field in ("face_name", "default_voice_id"):
            if field in body and (not isinstance(body[field], str) or not body[field].strip()):
                return error(f"{field} cannot be null or blank")
        if "face_name" in body:
            found.name = body["face_name"]
        if "default_voice_id" in body:
            found.default_voice_id = body["default_voice_id"]
        found.updated = self.now()
        return json_response(
            {
                "face_id": found.face_id,
                "face_name": found.name,
                "default_voice_id": found.default_voice_id,
                "original_voice_id": found.original_voice_id,
            }
        )
