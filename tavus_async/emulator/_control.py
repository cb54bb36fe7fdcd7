"""The control API under ``/_emulator/``, for the standalone server: no key needed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from aiohttp import web

from ._faults import Fault
from ._scenarios import Rule, Scenario, resolve_scenario
from ._wire import error, json_body, json_response

if TYPE_CHECKING:
    from ._server import Emulator

__all__ = ["CONTROL_PREFIX", "add_control_routes"]

CONTROL_PREFIX = "/_emulator"


def add_control_routes(emu: Emulator, router: web.UrlDispatcher) -> None:
    """The control API (``/_emulator/…``) for the standalone server: no key needed."""

    async def requests_log(request: web.Request) -> web.StreamResponse:
        if request.method == "DELETE":
            emu.requests.clear()
            return json_response({"cleared": True})
        return json_response([r.to_json() for r in emu.requests])

    async def stats(_request: web.Request) -> web.StreamResponse:
        return json_response(
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
            return json_response({"cleared": True})
        if request.method == "POST":
            body = await json_body(request)
            try:
                emu.add_fault(Fault(**_fields(body, Fault)))
            except (TypeError, ValueError) as exc:
                return error(f"bad fault: {exc}")
        return json_response([f.describe() for f in emu.faults.faults])

    async def rules(request: web.Request) -> web.StreamResponse:
        if request.method == "DELETE":
            emu.rules.clear()
            return json_response({"cleared": True})
        body = await json_body(request)
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
            return error(f"bad rule: {exc}")
        emu.add_rule(rule)
        return json_response({"rules": len(emu.rules)})

    async def scenario(request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        try:
            emu.scenario = _scenario_from_json(body)
        except (TypeError, ValueError) as exc:
            return error(f"bad scenario: {exc}")
        return json_response(attrs.asdict(emu.scenario))

    async def advance(request: web.Request) -> web.StreamResponse:
        body = await json_body(request)
        step = body.get("seconds") if isinstance(body, dict) else None
        mover = getattr(emu.clock, "advance", None)
        if mover is None:
            return error("this emulator's clock cannot be advanced (start it with a VirtualClock)")
        if not isinstance(step, (int, float)) or isinstance(step, bool) or step < 0:
            return error("seconds must be a number >= 0")
        mover(float(step))
        return json_response({"time": emu.now()})

    async def reset(_request: web.Request) -> web.StreamResponse:
        emu.reset()
        return json_response({"reset": True})

    async def faces(_request: web.Request) -> web.StreamResponse:
        now = emu.now()
        return json_response(
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

    router.add_route("*", CONTROL_PREFIX + "/requests", requests_log)
    router.add_get(CONTROL_PREFIX + "/stats", stats)
    router.add_route("*", CONTROL_PREFIX + "/faults", faults)
    router.add_route("*", CONTROL_PREFIX + "/rules", rules)
    router.add_put(CONTROL_PREFIX + "/scenario", scenario)
    router.add_post(CONTROL_PREFIX + "/time", advance)
    router.add_post(CONTROL_PREFIX + "/reset", reset)
    router.add_get(CONTROL_PREFIX + "/faces", faces)


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
    """A scenario name, ``{"scenario": <name or fields>}``, or an object of Scenario fields."""
    if isinstance(value, str):
        return resolve_scenario(value)
    if isinstance(value, dict) and set(value) == {"scenario"}:
        return _scenario_from_json(value["scenario"])
    if isinstance(value, dict):
        fields = _fields(value, Scenario)
        if isinstance(fields.get("curve"), list):
            fields["curve"] = tuple(tuple(p) for p in fields["curve"])
        return Scenario(**fields)
    msg = "a scenario is a name or an object of Scenario fields"
    raise TypeError(msg)
