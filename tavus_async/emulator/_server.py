"""The Tavus emulator: an aiohttp.web application with state, time, faults and callbacks."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
import attrs
from aiohttp import web

from ._clock import EmulatorClock, LoopClock
from ._faults import Fault, FaultInjector
from ._scenarios import SCENARIOS, Rule, Scenario
from ._state import (
    FACE_NAMES,
    REPLICA_NAMES,
    STOCK_FACES,
    STOCK_VOICES,
    ConversationRecord,
    FaceRecord,
    Names,
    new_id,
)

__all__ = ["CallbackDelivery", "Emulator", "RecordedRequest"]

logger = logging.getLogger("tavus_async.emulator")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
CallbackMode = Literal["deliver", "drop", "duplicate"]

_UNAUTHORIZED = {"message": "Invalid access token"}
_CONTROL_PREFIX = "/_emulator"


@attrs.define(kw_only=True)
class RecordedRequest:
    """One request as the emulator received it (the API key header is never kept)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    time: float
    """Emulated time of arrival."""
    loop_time: float
    """Event-loop time of arrival (virtual under looptime)."""
    had_api_key: bool
    status: int | None = None
    fault: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form (for the control API)."""
        return attrs.asdict(self)


@attrs.define(kw_only=True)
class CallbackDelivery:
    """One attempt to POST a training callback."""

    url: str
    payload: dict[str, Any]
    time: float
    attempt: int
    status: int | None
    error: str | None = None


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


def _error(message: str, status: int = 400) -> web.Response:
    return _json({"error": message}, status=status)


class Emulator:
    """A local, stateful Tavus API for tests, demos and development.

    Use it in-process::

        async with Emulator(api_key="test-key", clock=LoopClock(speed=600)) as emu:
            async with TavusClient(api_key="test-key", base_url=emu.url) as client:
                ...

    or standalone: ``tavus-async emulator --port 8089`` / ``python -m tavus_async.emulator``.

    Args:
        api_key: The only key accepted (401 ``Invalid access token`` otherwise). ``None``
            accepts any non-empty key.
        clock: An :class:`EmulatorClock` (:class:`LoopClock`, :class:`VirtualClock`);
            default: the loop's clock at ``speed``.
        speed: Time acceleration for the default clock (``600``: 3.5 h in 21 s).
        scenario: Default training :class:`Scenario` or a name from :data:`SCENARIOS`.
        rules: :class:`Rule` objects choosing scenarios by face name or URL.
        faults: :class:`Fault` objects to inject.
        seed: Seed for ids, progress curves and faults (same seed, same run).
        epoch: Wall-clock time at emulated time 0 (default: now); served in ``Date``.
        date_skew: Seconds added to the ``Date`` header (a server whose clock is off), or
            ``None`` to send an empty one (a server that gives no usable ``Date``).
        callbacks: ``"deliver"`` (default), ``"drop"`` (lose every callback) or
            ``"duplicate"`` (deliver each twice).
        host, port: Where :meth:`start` listens (port 0: any free port).
        record_requests: Keep every request in :attr:`requests` (counters are always kept);
            turn off for very long or very large runs.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        clock: EmulatorClock | None = None,
        speed: float = 1.0,
        scenario: Scenario | str = "realistic",
        rules: Iterable[Rule] = (),
        faults: Iterable[Fault] = (),
        seed: int | None = 0,
        epoch: dt.datetime | None = None,
        date_skew: float | None = 0.0,
        callbacks: CallbackMode = "deliver",
        host: str = "127.0.0.1",
        port: int = 0,
        record_requests: bool = True,
    ) -> None:
        self.api_key = api_key
        self.clock: EmulatorClock = clock if clock is not None else LoopClock(speed)
        self.scenario = _scenario(scenario)
        self.rules: list[Rule] = list(rules)
        self.faults = FaultInjector(faults, seed=seed)
        self.seed = seed
        self.epoch = epoch or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.date_skew = date_skew
        self.callback_mode: CallbackMode = callbacks
        self.record_requests = record_requests
        self.host, self.port = host, port
        self._rng = random.Random(seed)
        self.faces: dict[str, FaceRecord] = {}
        self.conversations: dict[str, ConversationRecord] = {}
        #: Every API request received, oldest first (control routes are not recorded).
        self.requests: list[RecordedRequest] = []
        #: Every callback delivery attempt.
        self.deliveries: list[CallbackDelivery] = []
        self.counters: Counter[str] = Counter()
        self._in_flight: dict[int, RecordedRequest] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._session: aiohttp.ClientSession | None = None
        self._seed_stock()
        self.app = self._build_app()

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """Base URL to give a client (``http://127.0.0.1:<port>``)."""
        if self._site is None:
            msg = "the emulator is not started; use `async with Emulator(...)` or start()"
            raise RuntimeError(msg)
        return f"http://{self.host}:{self.port}"

    async def start(self) -> str:
        """Listen on ``host:port`` and return the base URL."""
        if self._runner is not None:
            return self.url
        runner = web.AppRunner(
            self.app, handle_signals=False, handler_cancellation=True, access_log=None
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        server = getattr(site, "_server", None)
        sockets = getattr(server, "sockets", None) or ()
        if sockets:
            self.port = int(sockets[0].getsockname()[1])
        self._runner, self._site = runner, site
        return self.url

    async def stop(self) -> None:
        """Stop listening, cancel pending callback deliveries, close the callback session."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = self._site = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Emulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ test helpers

    def now(self) -> float:
        """Current emulated time in seconds."""
        return self.clock.time()

    def wall(self, t: float | None = None) -> dt.datetime:
        """Wall-clock time (UTC) at emulated time ``t`` (default: now)."""
        return self.epoch + dt.timedelta(seconds=self.now() if t is None else t)

    def add_rule(self, rule: Rule) -> None:
        """Choose a scenario for faces matching ``rule`` (checked before older rules)."""
        self.rules.insert(0, rule)

    def add_fault(self, fault: Fault) -> None:
        """Inject ``fault`` from now on."""
        self.faults.add(fault)

    def calls(self, method: str | None = None, path: str | None = None) -> list[RecordedRequest]:
        """Recorded API requests, optionally filtered by method and exact path or prefix*."""
        found = []
        for req in self.requests:
            if method is not None and req.method != method:
                continue
            if path is not None:
                if path.endswith("*"):
                    if not req.path.startswith(path[:-1]):
                        continue
                elif req.path != path:
                    continue
            found.append(req)
        return found

    def add_face(
        self,
        *,
        name: str | None = None,
        scenario: Scenario | str | None = None,
        model_name: str = "phoenix-4",
        started_ago: float = 0.0,
        callback_url: str | None = None,
    ) -> str:
        """Add a user face directly (no HTTP), e.g. one already training; returns its id.

        ``started_ago`` backdates its creation, so ``started_ago=3 * 3600`` gives a face
        three hours into its training.
        """
        chosen = (
            _scenario(scenario)
            if scenario is not None
            else self._scenario_for(name, None, model_name)
        )
        face_id = self._new_face_id()
        self.faces[face_id] = FaceRecord(
            face_id=face_id,
            name=name,
            created=self.now() - started_ago,
            scenario=chosen,
            points=chosen.points(random.Random(f"{self.seed}:{face_id}")),
            model_name=model_name,
            callback_url=callback_url,
            default_voice_id=f"v{face_id[1:]}0",
            original_voice_id=f"v{face_id[1:]}0",
            seq=len(self.faces),
        )
        if callback_url:
            # Needs the running loop, like every delivery.
            self._spawn(self._deliver_callbacks(self.faces[face_id], FACE_NAMES))
        return face_id

    def finish_time(self, face_id: str) -> float | None:
        """Emulated time at which ``face_id``'s training ends (``None`` if unknown)."""
        record = self.faces.get(face_id)
        if record is None:
            return None
        scenario = record.scenario
        if scenario.preview_after is not None:
            return record.created + scenario.preview_after + scenario.duration
        if scenario.fail is not None:
            return record.created + scenario.fail_at * scenario.duration
        return record.created + scenario.duration

    def reset(self) -> None:
        """Forget every user face, conversation, request, fault and rule."""
        self.faces = {k: v for k, v in self.faces.items() if v.face_type == "system"}
        self.conversations.clear()
        self.requests.clear()
        self.deliveries.clear()
        self.counters.clear()
        self.faults.clear()
        self.rules.clear()

    # ------------------------------------------------------------------ app

    def _seed_stock(self) -> None:
        for face_id, name, model in STOCK_FACES:
            self.faces[face_id] = FaceRecord(
                face_id=face_id,
                name=name,
                created=-30 * 24 * 3600.0,
                scenario=Scenario(),
                points=((0.0, 0),),
                model_name=model,
                face_type="system",
            )

    def _build_app(self) -> web.Application:
        app = web.Application(
            middlewares=[self._record, self._dated, self._auth, self._inject],
            client_max_size=64 * 1024,
        )
        r = app.router
        for names in (FACE_NAMES, REPLICA_NAMES):
            base = "/v2/faces" if names is FACE_NAMES else "/v2/replicas"
            r.add_post(base, self._bind(self._create_face, names))
            r.add_get(base, self._bind(self._list_faces, names))
            r.add_get(base + "/{id}", self._bind(self._get_face, names))
            r.add_delete(base + "/{id}", self._bind(self._delete_face, names))
            r.add_patch(base + "/{id}/name", self._bind(self._rename_face, names))
        r.add_patch("/v2/faces/{id}", self._update_face)
        r.add_get("/v2/voices", self._list_voices)
        r.add_get("/v2/voices/{id}", self._get_voice)
        r.add_post("/v2/conversations", self._create_conversation)
        r.add_get("/v2/conversations", self._list_conversations)
        r.add_get("/v2/conversations/{id}", self._get_conversation)
        r.add_post("/v2/conversations/{id}/end", self._end_conversation)
        r.add_delete("/v2/conversations/{id}", self._delete_conversation)
        _add_control_routes(self, r)
        return app

    @staticmethod
    def _bind(
        handler: Callable[[web.Request, Names], Awaitable[web.StreamResponse]], names: Names
    ) -> Handler:
        async def bound(request: web.Request) -> web.StreamResponse:
            return await handler(request, names)

        return bound

    # ------------------------------------------------------------------ middlewares

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(_CONTROL_PREFIX):
            return await handler(request)
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", errors="replace")[:2000]
        entry = RecordedRequest(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers={k: v for k, v in request.headers.items() if k.lower() != "x-api-key"},
            body=body,
            time=self.now(),
            loop_time=asyncio.get_running_loop().time(),
            had_api_key="x-api-key" in request.headers,
        )
        if self.record_requests:
            self.requests.append(entry)
        self.counters[f"{request.method} {request.path}"] += 1
        # Keyed by identity: request storage needs typed keys only newer aiohttp has.
        self._in_flight[id(request)] = entry
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            entry.status = exc.status
            raise
        finally:
            self._in_flight.pop(id(request), None)
        entry.status = response.status
        return response

    @web.middleware
    async def _dated(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            if exc.status not in (404, 405, 413):
                raise
            # aiohttp's own answers are text; the API's are JSON {"message": ...}.
            response = _json({"message": exc.reason}, status=exc.status)
        if not response.prepared:
            # Emulated wall time, so clients can relate created_at to "now". (aiohttp would add
            # a real Date of its own: an empty one is how this emulates "no Date".)
            if self.date_skew is None:
                response.headers["Date"] = ""
            else:
                served = self.wall() + dt.timedelta(seconds=self.date_skew)
                response.headers["Date"] = email.utils.format_datetime(served, usegmt=True)
        return response

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(_CONTROL_PREFIX):
            return await handler(request)
        key = request.headers.get("x-api-key", "")
        if not key.strip() or (self.api_key is not None and key != self.api_key):
            return _json(_UNAUTHORIZED, status=401)
        return await handler(request)

    @web.middleware
    async def _inject(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(_CONTROL_PREFIX):
            return await handler(request)
        fault = self.faults.pick(request.method, request.path)
        if fault is None:
            return await handler(request)
        record = self._in_flight.get(id(request))
        if record is not None:
            record.fault = fault.kind
        return await self._apply_fault(fault, request, handler)

    async def _apply_fault(
        self, fault: Fault, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        kind = fault.kind
        if kind == "rate_limit":
            return _json(
                {"message": "Too many requests, slow down"},
                status=429,
                headers={"Retry-After": _seconds(fault.retry_after)},
            )
        if kind == "server_error":
            status = self._rng.choice(fault.statuses)
            html = fault.body == "html" or (fault.body == "mixed" and self._rng.random() < 0.5)
            headers = {"Retry-After": _seconds(fault.retry_after)} if status == 503 else None
            if html:
                page = (
                    f"<html><head><title>{status} Bad Gateway</title></head>"
                    f"<body><h1>{status}</h1><p>upstream error</p></body></html>"
                )
                return web.Response(
                    text=page, status=status, content_type="text/html", headers=headers
                )
            return _json({"error": "Internal server error"}, status=status, headers=headers)
        if kind == "slow":
            await asyncio.sleep(fault.delay)
            return await handler(request)
        if kind == "not_json":
            return web.Response(text="<html><body>OK</body></html>", content_type="text/html")
        if kind == "empty":
            return web.Response(body=b"", content_type="application/json")
        if kind == "truncated":
            return await _truncated(request, await handler(request))
        if kind in ("store_then_reset", "store_then_500"):
            await handler(request)  # the create is stored
            if kind == "store_then_500":
                return _json({"error": "Internal server error"}, status=500)
            _abort(request)
            raise web.HTTPInternalServerError  # never reaches the client
        # reset
        _abort(request)
        raise web.HTTPInternalServerError  # never reaches the client

    # ------------------------------------------------------------------ faces / replicas

    def _record_for(self, request: web.Request, names: Names) -> FaceRecord | web.Response:
        record = self.faces.get(request.match_info["id"])
        if record is None or record.deleted:
            return _error(f"Invalid {names['id']}")
        return record

    def _render(
        self, record: FaceRecord, names: Names, *, verbose: bool, listing: bool = False
    ) -> dict[str, Any]:
        return record.render(
            names, now=self.now(), epoch=self.epoch, verbose=verbose, listing=listing
        )

    async def _create_face(self, request: web.Request, names: Names) -> web.StreamResponse:
        body = await _json_body(request)
        if not isinstance(body, dict):
            return _error("Invalid request body: expected a JSON object")
        video, image = body.get("train_video_url"), body.get("train_image_url")
        if not video and not image:
            return _error("Either train_video_url or train_image_url must be provided.")
        if video and image:
            return _error("Only one of train_video_url or train_image_url may be provided.")
        for field in ("train_video_url", "train_image_url", "callback_url", "consent_video_url"):
            value = body.get(field)
            if value is not None and not _is_http_url(value):
                return _error(f"Invalid {field}: must be a public http(s) URL")
        name = body.get(names["name"])
        if name is not None and not isinstance(name, str):
            return _error(f"Invalid {names['name']}: must be a string")
        voice, voice_id = body.get("voice_name"), body.get("default_voice_id")
        if voice is not None and voice_id is not None:
            return _error("Provide voice_name or default_voice_id, not both.")
        if image and voice is None and voice_id is None:
            return _error("voice_name is required when train_image_url is provided.")
        if voice is not None and (
            not isinstance(voice, str) or voice.lower() not in {v[0] for v in STOCK_VOICES}
        ):
            return _error(f"Invalid voice_name: {voice!r}. Use List Voices to find valid names.")
        if body.get("auto_fix_training_image") is not None and not image:
            return _error("auto_fix_training_image applies only to train_image_url.")
        model = body.get("model_name") or "phoenix-4"
        if not isinstance(model, str):
            return _error("Invalid model_name")
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
        return _json({names["id"]: face_id, "status": "started"})

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
        return _json(self._render(found, names, verbose=verbose))

    async def _list_faces(self, request: web.Request, names: Names) -> web.StreamResponse:
        query = request.query
        try:
            limit, page = _paging(query, default_limit=10, maximum=100)
        except ValueError as exc:
            return _error(str(exc))
        kind = query.get(names["type"])
        if kind is not None and kind not in ("user", "system"):
            return _error(f"Invalid {names['type']}: must be user or system")
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
        chunk = rows[(page - 1) * limit : page * limit]
        return _json(
            {
                "data": [self._render(r, names, verbose=True, listing=True) for r in chunk],
                "total_count": len(rows),
            }
        )

    async def _delete_face(self, request: web.Request, names: Names) -> web.StreamResponse:
        found = self._record_for(request, names)
        if isinstance(found, web.Response):
            return found
        if found.face_type == "system":
            return _error(f"Invalid {names['id']}: stock faces cannot be deleted")
        found.deleted = True
        found.hard_deleted = request.query.get("hard", "").lower() == "true"
        return web.Response(status=200)

    async def _rename_face(self, request: web.Request, names: Names) -> web.StreamResponse:
        found = self._record_for(request, names)
        if isinstance(found, web.Response):
            return found
        body = await _json_body(request)
        name = body.get(names["name"]) if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip():
            return _error(f"{names['name']} is required")
        found.name = name
        found.updated = self.now()
        return web.Response(status=200)

    async def _update_face(self, request: web.Request) -> web.StreamResponse:
        found = self._record_for(request, FACE_NAMES)
        if isinstance(found, web.Response):
            return found
        body = await _json_body(request)
        if not isinstance(body, dict) or not {"face_name", "default_voice_id"} & body.keys():
            return _error("Provide face_name and/or default_voice_id")
        for field in ("face_name", "default_voice_id"):
            if field in body and (not isinstance(body[field], str) or not body[field].strip()):
                return _error(f"{field} cannot be null or blank")
        if "face_name" in body:
            found.name = body["face_name"]
        if "default_voice_id" in body:
            found.default_voice_id = body["default_voice_id"]
        found.updated = self.now()
        return _json(
            {
                "face_id": found.face_id,
                "face_name": found.name,
                "default_voice_id": found.default_voice_id,
                "original_voice_id": found.original_voice_id,
            }
        )

    # ------------------------------------------------------------------ voices

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
            limit, page = _paging(query, default_limit=10, maximum=100)
        except ValueError as exc:
            return _error(str(exc))
        rows = self._voice_rows()
        search = query.get("search", "").lower()
        if search:
            rows = [v for v in rows if search in v["voice_name"].lower()]
        tag = query.get("tag", "").lower()
        if tag:
            rows = [v for v in rows if tag in {t["tag_name"].lower() for t in v["tags"]}]
        rows.sort(key=lambda v: v["voice_name"], reverse=query.get("sort") == "desc")
        chunk = rows[(page - 1) * limit : page * limit]
        return _json({"data": chunk, "total_count": len(rows), "page": page, "limit": limit})

    async def _get_voice(self, request: web.Request) -> web.StreamResponse:
        for voice in self._voice_rows():
            if voice["voice_id"] == request.match_info["id"]:
                return _json({**voice, "status": "completed"})
        return _json({"message": "Voice not found"}, status=404)

    # ------------------------------------------------------------------ conversations

    async def _create_conversation(self, request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        if not isinstance(body, dict):
            return _error("Invalid request body: expected a JSON object")
        face_id = body.get("replica_id") or body.get("face_id")
        if not isinstance(face_id, str):
            return _error("replica_id is required (or a persona with a default replica)")
        record = self.faces.get(face_id)
        if record is None or record.deleted:
            return _error("Invalid replica_id")
        state = record.state(self.now())
        if state.status != "completed":
            # Tavus refuses a face that is still training or failed.
            return _error(
                f"Replica {face_id} is not ready (status {state.status}); "
                "wait for training to complete"
            )
        callback = body.get("callback_url")
        if callback is not None and not _is_http_url(callback):
            return _error("Invalid callback_url")
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
        return _json(
            conversation.render(epoch=self.epoch, verbose=False, listing=True)
            | {"status": conversation.status}
        )

    def _conversation(self, request: web.Request) -> ConversationRecord | web.Response:
        found = self.conversations.get(request.match_info["id"])
        if found is None or found.deleted:
            return _error("Invalid conversation_id")
        return found

    async def _list_conversations(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        try:
            limit, page = _paging(query, default_limit=10, maximum=100)
        except ValueError as exc:
            return _error(str(exc))
        status = query.get("status")
        if status is not None and status not in ("active", "ended"):
            return _error("Invalid status: must be active or ended")
        rows = [
            c
            for c in self.conversations.values()
            if not c.deleted and (status is None or c.status == status)
        ]
        rows.sort(key=lambda c: (-c.created, c.conversation_id))
        chunk = rows[(page - 1) * limit : page * limit]
        return _json(
            {
                "data": [c.render(epoch=self.epoch, verbose=False, listing=True) for c in chunk],
                "total_count": len(rows),
            }
        )

    async def _get_conversation(self, request: web.Request) -> web.StreamResponse:
        found = self._conversation(request)
        if isinstance(found, web.Response):
            return found
        verbose = request.query.get("verbose", "").lower() == "true"
        return _json(found.render(epoch=self.epoch, verbose=verbose, listing=False))

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

    # ------------------------------------------------------------------ callbacks

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_callbacks(self, record: FaceRecord, names: Names) -> None:
        """POST the documented payload at each stage end (one, or two for Phoenix-4.5)."""
        sent_stage: tuple[str, str | None] | None = None
        while True:
            state = record.state(self.now())
            stage = (state.status, state.finetune_status)
            if stage != sent_stage and state.status in ("completed", "error"):
                if record.deleted:
                    return
                payload: dict[str, Any] = {
                    "replica_id": record.face_id,
                    "status": "ready" if state.status == "completed" else "error",
                }
                if names is FACE_NAMES:
                    payload["face_id"] = record.face_id
                if state.error_message:
                    payload["error_message"] = state.error_message
                if state.finetune_status is not None:
                    payload["finetune_status"] = state.finetune_status
                sent_stage = stage
                if self.callback_mode != "drop":
                    assert record.callback_url is not None
                    await self._post_callback(record.callback_url, payload)
                    if self.callback_mode == "duplicate":
                        await self._post_callback(record.callback_url, payload)
            if state.done_at is None:
                return
            await self.clock.wait_until(record.created + state.done_at)

    async def _post_callback(self, url: str, payload: dict[str, Any]) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        delay = 1.0
        for attempt in range(1, 6):
            status: int | None = None
            error: str | None = None
            try:
                async with self._session.post(url, json=payload) as response:
                    status = response.status
                    await response.read()
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"[:200]
            self.deliveries.append(
                CallbackDelivery(
                    url=url,
                    payload=payload,
                    time=self.now(),
                    attempt=attempt,
                    status=status,
                    error=error,
                )
            )
            if status is not None and 200 <= status < 300:
                return
            logger.info("callback to %s failed (%s); retrying", url, status or error)
            await self.clock.wait_until(self.now() + delay)
            delay *= 2


def _scenario(value: Scenario | str) -> Scenario:
    if isinstance(value, Scenario):
        return value
    try:
        return SCENARIOS[value]
    except KeyError:
        msg = f"unknown scenario {value!r}; known: {', '.join(SCENARIOS)}"
        raise ValueError(msg) from None


def _seconds(value: float) -> str:
    # Retry-After is whole seconds (RFC 9110); round up so a client never comes back early.
    whole = int(value)
    return str(whole if whole == value else whole + 1)


def _is_http_url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _paging(query: Any, *, default_limit: int, maximum: int) -> tuple[int, int]:
    try:
        limit = int(query.get("limit", default_limit))
        page = int(query.get("page", 1))
    except ValueError:
        msg = "limit and page must be integers"
        raise ValueError(msg) from None
    if not 1 <= limit <= maximum:
        msg = f"limit must be between 1 and {maximum}"
        raise ValueError(msg)
    if page < 1:
        msg = "page must be >= 1"
        raise ValueError(msg)
    return limit, page


def _abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


async def _truncated(request: web.Request, full: web.StreamResponse) -> web.StreamResponse:
    body = full.body if isinstance(full, web.Response) else b"{}"
    data = bytes(body) if isinstance(body, (bytes, bytearray)) else b'{"data": []}'
    response = web.StreamResponse(
        status=full.status,
        headers={"Content-Type": "application/json", "Content-Length": str(len(data) + 64)},
    )
    await response.prepare(request)
    await response.write(data[: max(1, len(data) // 2)])
    _abort(request)
    return response


def _add_control_routes(emu: Emulator, router: web.UrlDispatcher) -> None:
    """The control API (``/_emulator/…``) for the standalone server: no key needed."""

    async def requests_log(request: web.Request) -> web.StreamResponse:
        if request.method == "DELETE":
            emu.requests.clear()
            return _json({"cleared": True})
        return _json([r.to_json() for r in emu.requests])

    async def stats(_request: web.Request) -> web.StreamResponse:
        return _json(
            {
                "time": emu.now(),
                "wall": emu.wall().isoformat(),
                "requests": len(emu.requests),
                "by_route": dict(emu.counters),
                "faults": dict(emu.faults.counts),
                "callbacks": len(emu.deliveries),
                "faces": len([f for f in emu.faces.values() if f.face_type == "user"]),
            }
        )

    async def faults(request: web.Request) -> web.StreamResponse:
        if request.method == "DELETE":
            emu.faults.clear()
            return _json({"cleared": True})
        if request.method == "POST":
            body = await _json_body(request)
            try:
                emu.add_fault(Fault(**_fields(body, Fault)))
            except (TypeError, ValueError) as exc:
                return _error(f"bad fault: {exc}")
        return _json([f.describe() for f in emu.faults.faults])

    async def rules(request: web.Request) -> web.StreamResponse:
        if request.method == "DELETE":
            emu.rules.clear()
            return _json({"cleared": True})
        body = await _json_body(request)
        try:
            if not isinstance(body, dict):
                msg = "expected a JSON object"
                raise TypeError(msg)
            rule = Rule(
                scenario=_scenario_from_json(body.get("scenario", "realistic")),
                name_contains=body.get("name_contains"),
                url_contains=body.get("url_contains"),
            )
        except (TypeError, ValueError) as exc:
            return _error(f"bad rule: {exc}")
        emu.add_rule(rule)
        return _json({"rules": len(emu.rules)})

    async def scenario(request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        try:
            emu.scenario = _scenario_from_json(body)
        except (TypeError, ValueError) as exc:
            return _error(f"bad scenario: {exc}")
        return _json(attrs.asdict(emu.scenario))

    async def advance(request: web.Request) -> web.StreamResponse:
        body = await _json_body(request)
        step = body.get("seconds") if isinstance(body, dict) else None
        mover = getattr(emu.clock, "advance", None)
        if mover is None:
            return _error("this emulator's clock cannot be advanced (start it with a VirtualClock)")
        if not isinstance(step, (int, float)) or isinstance(step, bool) or step < 0:
            return _error("seconds must be a number >= 0")
        mover(float(step))
        return _json({"time": emu.now()})

    async def reset(_request: web.Request) -> web.StreamResponse:
        emu.reset()
        return _json({"reset": True})

    async def faces(_request: web.Request) -> web.StreamResponse:
        now = emu.now()
        return _json(
            [
                {
                    "face_id": f.face_id,
                    "name": f.name,
                    "deleted": f.deleted,
                    "finishes_at": emu.finish_time(f.face_id),
                    **attrs.asdict(f.state(now)),
                }
                for f in emu.faces.values()
                if f.face_type == "user"
            ]
        )

    router.add_route("*", _CONTROL_PREFIX + "/requests", requests_log)
    router.add_get(_CONTROL_PREFIX + "/stats", stats)
    router.add_route("*", _CONTROL_PREFIX + "/faults", faults)
    router.add_route("*", _CONTROL_PREFIX + "/rules", rules)
    router.add_put(_CONTROL_PREFIX + "/scenario", scenario)
    router.add_post(_CONTROL_PREFIX + "/time", advance)
    router.add_post(_CONTROL_PREFIX + "/reset", reset)
    router.add_get(_CONTROL_PREFIX + "/faces", faces)


def _fields(body: Any, cls: type[Any]) -> dict[str, Any]:
    if not isinstance(body, dict):
        msg = "expected a JSON object"
        raise TypeError(msg)
    allowed = {a.name for a in attrs.fields(cls)} - {"injected"}
    unknown = set(body) - allowed
    if unknown:
        msg = f"unknown fields: {', '.join(sorted(unknown))}"
        raise TypeError(msg)
    data = dict(body)
    if "statuses" in data:
        data["statuses"] = tuple(data["statuses"])
    return data


def _scenario_from_json(value: Any) -> Scenario:
    if isinstance(value, str):
        return _scenario(value)
    if isinstance(value, dict):
        fields = _fields(value, Scenario)
        if isinstance(fields.get("curve"), list):
            fields["curve"] = tuple(tuple(p) for p in fields["curve"])
        return Scenario(**fields)
    msg = "a scenario is a name or an object of Scenario fields"
    raise TypeError(msg)
