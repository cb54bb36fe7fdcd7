"""The Tavus emulator: an aiohttp.web application with state, time, faults and callbacks.

Its parts, by what a reader looks for: faces and replicas (:mod:`._faces_api`), voices
(:mod:`._voices_api`), conversations (:mod:`._conversations_api`), training callbacks
(:mod:`._delivery`), the control API (:mod:`._control`), the middlewares (request log,
``Date``, auth, faults: :mod:`._middleware`); this module is the app factory, its lifecycle
and the test helpers.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any

import aiohttp
from aiohttp import web

from ._base import CallbackDelivery, CallbackMode
from ._clock import EmulatorClock, LoopClock
from ._control import add_control_routes
from ._conversations_api import ConversationsAPI
from ._faces_api import FacesAPI
from ._faults import Fault, FaultInjector
from ._middleware import Handler, Middlewares, RecordedRequest
from ._scenarios import Rule, Scenario, resolve_scenario
from ._state import FACE_NAMES, REPLICA_NAMES, STOCK_FACES, ConversationRecord, FaceRecord, Names
from ._voices_api import VoicesAPI

__all__ = ["CallbackDelivery", "Emulator", "RecordedRequest"]

logger = logging.getLogger("tavus_async.emulator")

#: Pending connections the listening socket holds (the kernel caps it at somaxconn).
BACKLOG = 4096


class Emulator(FacesAPI, VoicesAPI, ConversationsAPI, Middlewares):
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
        real_date: Leave the ``Date`` header to aiohttp: the machine's real clock, which
            does not move with emulated time (a server on accelerated or virtual time whose
            HTTP layer knows nothing of it). ``date_skew`` is then ignored.
        page_cap: Serve at most this many items per list page, whatever ``limit`` asks for
            (``total_count`` stays the whole count), like servers that cap page sizes.
        total_count: Send ``total_count`` in list responses (``False``: leave it out, so
            that only an empty page tells a client it has read every page).
        callbacks: ``"deliver"`` (default), ``"drop"`` (lose every callback) or
            ``"duplicate"`` (deliver each twice).
        host: Where :meth:`start` listens.
        port: The port to listen on (0: any free port).
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
        real_date: bool = False,
        page_cap: int | None = None,
        total_count: bool = True,
        callbacks: CallbackMode = "deliver",
        host: str = "127.0.0.1",
        port: int = 0,
        record_requests: bool = True,
    ) -> None:
        self.api_key = api_key
        self.clock: EmulatorClock = clock if clock is not None else LoopClock(speed)
        self.scenario = resolve_scenario(scenario)
        self.rules: list[Rule] = list(rules)
        self.faults = FaultInjector(faults, seed=seed)
        self.seed = seed
        self.epoch = epoch or dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.date_skew = date_skew
        self.real_date = real_date
        if page_cap is not None and page_cap < 1:
            msg = f"page_cap must be a positive int, got {page_cap!r}"
            raise ValueError(msg)
        self.page_cap = page_cap
        self.total_count = total_count
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
        # Thousands of clients may connect at once (a benchmark's stateless workers). With a
        # short backlog the kernel drops their SYNs and retries a second later, and on
        # virtual time (looptime) a second of waiting for a socket is a connect timeout.
        site = web.TCPSite(runner, self.host, self.port, backlog=BACKLOG)
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
            resolve_scenario(scenario)
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
            middlewares=self.middlewares(),
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
        add_control_routes(self, r)
        return app

    @staticmethod
    def _bind(
        handler: Callable[[web.Request, Names], Awaitable[web.StreamResponse]], names: Names
    ) -> Handler:
        async def bound(request: web.Request) -> web.StreamResponse:
            return await handler(request, names)

        return bound
