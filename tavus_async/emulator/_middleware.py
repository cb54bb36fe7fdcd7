"""The emulator's middlewares: the request log, the ``Date`` header, auth, and faults.

Every API request passes through them in that order (control routes skip the log, auth and
faults): it is recorded (never its API key), dated on emulated wall time, checked for a key,
then given the fault the :class:`~._faults.FaultInjector` picks for it, if any.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from aiohttp import web

from ._base import EmulatorBase
from ._control import CONTROL_PREFIX
from ._faults import Fault, FaultInjector
from ._wire import abort, json_response, retry_after_seconds, truncated

__all__ = ["Handler", "Middlewares", "RecordedRequest"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_UNAUTHORIZED = {"message": "Invalid access token"}


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


class Middlewares(EmulatorBase):
    """The middlewares, in the order the app runs them (see the module doc)."""

    faults: FaultInjector
    record_requests: bool
    requests: list[RecordedRequest]
    counters: Counter[str]
    _in_flight: dict[int, RecordedRequest]

    def middlewares(self) -> list[Any]:
        """The middlewares for the app, outermost first."""
        return [self._record, self._dated, self._auth, self._inject]

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
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
            response = json_response({"message": exc.reason}, status=exc.status)
        if not response.prepared and not self.real_date:
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
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        key = request.headers.get("x-api-key", "")
        if not key.strip() or (self.api_key is not None and key != self.api_key):
            return json_response(_UNAUTHORIZED, status=401)
        return await handler(request)

    @web.middleware
    async def _inject(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        fault = self.faults.pick(request.method, request.path, self.now())
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
            return json_response(
                {"message": "Too many requests, slow down"},
                status=429,
                headers={"Retry-After": retry_after_seconds(fault.retry_after)},
            )
        if kind == "server_error":
            status = self._rng.choice(fault.statuses)
            html = fault.body == "html" or (fault.body == "mixed" and self._rng.random() < 0.5)
            headers = (
                {"Retry-After": retry_after_seconds(fault.retry_after)} if status == 503 else None
            )
            if html:
                page = (
                    f"<html><head><title>{status} Bad Gateway</title></head>"
                    f"<body><h1>{status}</h1><p>upstream error</p></body></html>"
                )
                return web.Response(
                    text=page, status=status, content_type="text/html", headers=headers
                )
            return json_response({"error": "Internal server error"}, status=status, headers=headers)
        if kind == "slow":
            await asyncio.sleep(fault.delay)
            return await handler(request)
        if kind == "not_json":
            return web.Response(text="<html><body>OK</body></html>", content_type="text/html")
        if kind == "empty":
            return web.Response(body=b"", content_type="application/json")
        if kind == "not_yet_visible":
            field = "replica_id" if "/replicas" in request.path else "face_id"
            return json_response({"error": f"Invalid {field}"}, status=400)
        if kind == "truncated":
            return await truncated(request, await handler(request))
        if kind in ("store_then_reset", "store_then_500"):
            await handler(request)  # the create is stored
            if kind == "store_then_500":
                return json_response({"error": "Internal server error"}, status=500)
            abort(request)
            raise web.HTTPInternalServerError  # never reaches the client
        # reset
        abort(request)
        raise web.HTTPInternalServerError  # never reaches the client
