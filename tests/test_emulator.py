"""The emulator as a product: fidelity, scenarios, time, faults, callbacks, control API."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import attrs
import pytest
from aiohttp import web

from tavus_async.emulator import (
    ERROR_MESSAGES,
    SCENARIOS,
    Emulator,
    Fault,
    LoopClock,
    Rule,
    Scenario,
    VirtualClock,
    parse_faults,
)

from .conftest import API_KEY

VIDEO = "https://cdn.test/train.mp4"


@attrs.define
class Raw:
    """Raw HTTP against an emulator (no SDK in between)."""

    session: aiohttp.ClientSession
    base: str

    async def call(
        self, method: str, path: str, *, key: str | None = API_KEY, **kwargs: Any
    ) -> tuple[int, Any, Any]:
        headers = {"x-api-key": key} if key else {}
        async with self.session.request(method, self.base + path, headers=headers, **kwargs) as r:
            body = await r.read()
            try:
                data = json.loads(body) if body else None
            except ValueError:
                data = body.decode()
            return r.status, data, r.headers


@pytest.fixture
async def raw(emulator: Emulator) -> AsyncIterator[Raw]:
    async with aiohttp.ClientSession() as session:
        yield Raw(session, emulator.url)


async def create(raw: Raw, path: str = "/v2/faces", **body: Any) -> str:
    status, data, _ = await raw.call("POST", path, json={"train_video_url": VIDEO, **body})
    assert status == 200, data
    return str(data.get("face_id") or data["replica_id"])


# --------------------------------------------------------------------------- fidelity


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Either train_video_url or train_image_url must be provided."),
        ({"train_video_url": VIDEO, "train_image_url": VIDEO}, "Only one of"),
        ({"train_image_url": VIDEO}, "voice_name is required"),
        ({"train_image_url": VIDEO, "voice_name": "nobody"}, "Invalid voice_name"),
        ({"train_video_url": "not a url"}, "Invalid train_video_url"),
        ({"train_video_url": VIDEO, "callback_url": "ftp://x"}, "Invalid callback_url"),
        ({"train_video_url": VIDEO, "auto_fix_training_image": True}, "only to train_image_url"),
        ({"train_image_url": VIDEO, "voice_name": "anna", "default_voice_id": "v1"}, "not both"),
    ],
)
async def test_create_validation_messages(raw: Raw, body: dict[str, Any], message: str) -> None:
    status, data, _ = await raw.call("POST", "/v2/faces", json=body)
    assert status == 400
    assert message in data["error"]


async def test_non_json_create_body(raw: Raw) -> None:
    status, data, _ = await raw.call("POST", "/v2/faces", data=b"{nope")
    assert (status, data) == (400, {"error": "Invalid request body: expected a JSON object"})


async def test_auth(raw: Raw, emulator: Emulator) -> None:
    for key in (None, "", "wrong"):
        status, data, _ = await raw.call("GET", "/v2/faces", key=key)
        assert (status, data) == (401, {"message": "Invalid access token"})
    async with Emulator() as anykey, aiohttp.ClientSession() as session:
        lenient = Raw(session, anykey.url)
        assert (await lenient.call("GET", "/v2/faces", key="anything"))[0] == 200
        assert (await lenient.call("GET", "/v2/faces", key=None))[0] == 401


async def test_unknown_ids_name_their_field(raw: Raw) -> None:
    assert (await raw.call("GET", "/v2/faces/rnope"))[:2] == (400, {"error": "Invalid face_id"})
    assert (await raw.call("GET", "/v2/replicas/rnope"))[:2] == (
        400,
        {"error": "Invalid replica_id"},
    )
    assert (await raw.call("DELETE", "/v2/faces/rnope"))[0] == 400
    assert (await raw.call("PATCH", "/v2/faces/rnope", json={"face_name": "x"}))[0] == 400


async def test_unknown_routes_answer_json(raw: Raw) -> None:
    status, data, _ = await raw.call("GET", "/v2/nothing")
    assert (status, data) == (404, {"message": "Not Found"})
    status, data, _ = await raw.call("PUT", "/v2/faces")
    assert (status, data) == (405, {"message": "Method Not Allowed"})


async def test_list_paging_and_filters(raw: Raw) -> None:
    ids = [await create(raw, face_name=f"F{i}", model_name="phoenix-3") for i in range(5)]
    status, page, _ = await raw.call("GET", "/v2/faces?limit=2&page=1&face_type=user")
    assert status == 200
    assert page["total_count"] == 5
    assert [f["face_name"] for f in page["data"]] == ["F4", "F3"]
    _, last, _ = await raw.call("GET", "/v2/faces?limit=2&page=3&face_type=user")
    assert [f["face_name"] for f in last["data"]] == ["F0"]
    _, beyond, _ = await raw.call("GET", "/v2/faces?limit=2&page=4&face_type=user")
    assert beyond["data"] == []
    _, chosen, _ = await raw.call("GET", f"/v2/faces?face_ids={ids[0]},{ids[2]}")
    assert {f["face_id"] for f in chosen["data"]} == {ids[0], ids[2]}
    _, stock, _ = await raw.call("GET", "/v2/faces?face_type=system")
    assert stock["data"]
    assert all(f["face_type"] == "system" for f in stock["data"])
    _, p3, _ = await raw.call("GET", "/v2/replicas?model_name=phoenix-3&replica_type=user")
    assert p3["total_count"] == 5
    assert "replica_id" in p3["data"][0]
    assert (await raw.call("GET", "/v2/faces?limit=0"))[0] == 400
    assert (await raw.call("GET", "/v2/faces?page=0"))[0] == 400
    assert (await raw.call("GET", "/v2/faces?face_type=stock"))[0] == 400


async def test_get_verbose_rename_update_delete(raw: Raw, emulator: Emulator) -> None:
    face_id = await create(raw, face_name="Rio")
    _, plain, _ = await raw.call("GET", f"/v2/faces/{face_id}")
    assert "face_type" not in plain
    _, verbose, _ = await raw.call("GET", f"/v2/faces/{face_id}?verbose=true")
    assert verbose["face_type"] == "user"
    assert (await raw.call("PATCH", f"/v2/faces/{face_id}/name", json={"face_name": ""}))[0] == 400
    assert (await raw.call("PATCH", f"/v2/faces/{face_id}/name", json={"face_name": "Rio 2"}))[
        0
    ] == 200
    status, updated, _ = await raw.call(
        "PATCH", f"/v2/faces/{face_id}", json={"default_voice_id": "v123"}
    )
    assert status == 200
    assert updated == {
        "face_id": face_id,
        "face_name": "Rio 2",
        "default_voice_id": "v123",
        "original_voice_id": emulator.faces[face_id].original_voice_id,
    }
    assert (await raw.call("PATCH", f"/v2/faces/{face_id}", json={"face_name": None}))[0] == 400
    assert (await raw.call("DELETE", f"/v2/faces/{face_id}?hard=true"))[0] == 200
    assert emulator.faces[face_id].hard_deleted
    assert (await raw.call("GET", f"/v2/faces/{face_id}"))[0] == 400
    # Stock faces cannot be deleted.
    assert (await raw.call("DELETE", "/v2/faces/r4067604db72"))[0] == 400


async def test_date_header_is_emulated_wall_time(raw: Raw, emulator: Emulator) -> None:
    await asyncio.sleep(7200)
    _, _, headers = await raw.call("GET", "/v2/faces/r4067604db72")
    served = headers["Date"]
    assert served == emulator.wall().strftime("%a, %d %b %Y %H:%M:%S GMT")


# --------------------------------------------------------------------------- scenarios & time


@pytest.mark.parametrize("curve", ["realistic", "plateaus", "slow_finish", "linear"])
def test_curves_have_plateaus_and_end_below_100(curve: str) -> None:
    points = Scenario(curve=curve).points(random.Random(5))
    progress = [p for _, p in points]
    assert progress == sorted(progress)
    assert progress[0] == 0
    assert max(progress) == 99
    assert all(0 <= f < 1 for f, _ in points)


def test_realistic_curves_differ_per_face_but_replay_per_seed() -> None:
    one = Scenario().points(random.Random("a"))
    assert one == Scenario().points(random.Random("a"))
    assert one != Scenario().points(random.Random("b"))
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(one)]
    assert max(gaps) > 5 * min(gaps)  # uneven steps, long plateaus


def test_random_curves_are_a_new_shape_per_face_and_replay_per_seed() -> None:
    drawn = [Scenario(curve="random").points(random.Random(seed)) for seed in range(60)]
    assert drawn[0] == Scenario(curve="random").points(random.Random(0))
    assert len(set(drawn)) == len(drawn)
    for points in drawn:
        fractions = [f for f, _ in points]
        assert fractions == sorted(fractions)
        assert all(0 <= f < 1 for f in fractions)
        assert all(0 <= p <= 100 for _, p in points)
    # Some complete well short of 100/100, some read backwards now and then (noise).
    assert any(max(p for _, p in points) <= 80 for points in drawn)
    assert any(any(b[1] < a[1] for a, b in itertools.pairwise(points)) for points in drawn)


def test_phased_curves_are_a_new_climb_per_face_and_replay_per_seed() -> None:
    drawn = [Scenario(curve="phased").points(random.Random(seed)) for seed in range(60)]
    assert drawn[0] == SCENARIOS["phased"].points(random.Random(0))
    assert len(set(drawn)) > 50
    for points in drawn:
        fractions, progress = [f for f, _ in points], [p for _, p in points]
        assert fractions == sorted(fractions)
        assert all(0 <= f < 1 for f in fractions)
        assert progress == sorted(progress)  # a climb: never backwards
        assert progress[0] == 0
        assert progress[-1] in (60, 80, 95, 99, 100)
    # Some sit on their last value for a long last stretch, some wait at 0 first.
    assert any(points[-1][0] < 0.7 for points in drawn)
    assert any(points[1][0] > 0.1 for points in drawn if len(points) > 1)


def test_state_machine() -> None:
    scenario = Scenario(duration=1000, curve="linear")
    points = scenario.points(random.Random(0))
    assert scenario.state_at(0, points).status == "started"
    assert scenario.state_at(455, points).progress == 45
    assert scenario.state_at(999, points).progress == 99
    assert scenario.state_at(1000, points).status == "completed"
    failing = Scenario.failure("video_fps", at=0.25, duration=1000)
    state = failing.state_at(300, failing.points(random.Random(0)))
    assert state.status == "error"
    assert state.error_message == ERROR_MESSAGES["video_fps"]
    p45 = Scenario.phoenix45(preview_after=60, tuning=600)
    assert p45.state_at(30, ()).status == "started"
    assert (p45.state_at(61, ()).status, p45.state_at(61, ()).finetune_status) == (
        "completed",
        "training",
    )
    assert p45.state_at(700, ()).finetune_status == "completed"


async def test_rules_pick_scenarios_by_name_and_url(raw: Raw, emulator: Emulator) -> None:
    emulator.add_rule(Rule(name_contains="[fail]", scenario=Scenario.failure("file_size", at=0)))
    emulator.add_rule(Rule(url_contains="quick", scenario=Scenario(duration=10)))
    failing = await create(raw, face_name="take 2 [fail]")
    quick = await create(raw, train_video_url="https://cdn.test/quick.mp4")
    normal = await create(raw)
    await asyncio.sleep(11)
    states = {i: (await raw.call("GET", f"/v2/faces/{i}"))[1] for i in (failing, quick, normal)}
    assert states[failing]["status"] == "error"
    assert "750 MB" in states[failing]["error_message"]
    assert states[quick]["status"] == "completed"
    assert states[normal]["status"] == "started"


async def test_phoenix_45_faces_preview_then_tune(raw: Raw, emulator: Emulator) -> None:
    emulator.scenario = Scenario(duration=3600)
    face_id = await create(raw, model_name="phoenix-4.5")
    await asyncio.sleep(120)
    _, preview, _ = await raw.call("GET", f"/v2/faces/{face_id}")
    assert (preview["status"], preview["finetune_status"]) == ("completed", "training")
    await asyncio.sleep(3600)
    _, final, _ = await raw.call("GET", f"/v2/faces/{face_id}")
    assert final["finetune_status"] == "completed"


async def test_scaled_clock_runs_hours_in_seconds() -> None:
    clock = LoopClock(speed=600)
    async with Emulator(api_key=API_KEY, clock=clock) as emu, aiohttp.ClientSession() as s:
        raw = Raw(s, emu.url)
        face_id = await create(raw)
        await asyncio.sleep(21)  # loop time: 21 s x 600 = 3.5 h emulated
        assert (await raw.call("GET", f"/v2/faces/{face_id}"))[1]["status"] == "completed"
        assert emu.now() == pytest.approx(21 * 600, abs=1)


async def test_virtual_clock_moves_only_when_told() -> None:
    clock = VirtualClock()
    async with Emulator(api_key=API_KEY, clock=clock) as emu, aiohttp.ClientSession() as s:
        raw = Raw(s, emu.url)
        face_id = await create(raw)
        await asyncio.sleep(5 * 3600)  # loop time passes; the virtual clock does not
        assert (await raw.call("GET", f"/v2/faces/{face_id}"))[1]["status"] == "started"
        clock.advance(3.5 * 3600)
        assert (await raw.call("GET", f"/v2/faces/{face_id}"))[1]["status"] == "completed"
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


def test_bad_speeds_are_refused() -> None:
    with pytest.raises(ValueError, match="speed"):
        LoopClock(speed=0)
    with pytest.raises(TypeError):
        LoopClock(speed="fast")  # type: ignore[arg-type]  # on purpose


# --------------------------------------------------------------------------- faults


async def test_rate_limit_fault(raw: Raw, emulator: Emulator) -> None:
    emulator.add_fault(Fault(kind="rate_limit", retry_after=2.5, route="GET /v2/voices"))
    status, data, headers = await raw.call("GET", "/v2/voices")
    assert status == 429
    assert headers["Retry-After"] == "3"  # whole seconds, rounded up
    assert "Too many requests" in data["message"]
    assert (await raw.call("GET", "/v2/faces"))[0] == 200  # other routes unaffected


async def test_server_error_faults_json_and_html(raw: Raw, emulator: Emulator) -> None:
    emulator.add_fault(Fault(kind="server_error", statuses=(502,), body="html", times=1))
    emulator.add_fault(Fault(kind="server_error", statuses=(503,), body="json", times=1))
    status, html, _ = await raw.call("GET", "/v2/faces")
    assert status == 502
    assert "<title>502 Bad Gateway</title>" in html
    status, data, headers = await raw.call("GET", "/v2/faces")
    assert (status, data) == (503, {"error": "Internal server error"})
    assert "Retry-After" in headers
    assert (await raw.call("GET", "/v2/faces"))[0] == 200  # both were used up


async def test_not_json_and_empty_faults(raw: Raw, emulator: Emulator) -> None:
    emulator.add_fault(Fault(kind="not_json", times=1))
    emulator.add_fault(Fault(kind="empty", times=1))
    status, body, _ = await raw.call("GET", "/v2/faces/r4067604db72")
    assert status == 200
    assert body.startswith("<html>")
    assert (await raw.call("GET", "/v2/faces/r4067604db72"))[:2] == (200, None)


async def test_slow_fault_outlasts_a_client_timeout(emulator: Emulator) -> None:
    emulator.add_fault(Fault(kind="slow", delay=90))
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        with pytest.raises(asyncio.TimeoutError):
            await Raw(session, emulator.url).call("GET", "/v2/faces")


async def test_reset_and_truncated_faults(raw: Raw, emulator: Emulator) -> None:
    emulator.add_fault(Fault(kind="reset", times=2))  # aiohttp re-sends an idempotent GET once
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await raw.call("GET", "/v2/faces")
    emulator.add_fault(Fault(kind="truncated", times=1))
    with pytest.raises(aiohttp.ClientPayloadError):
        await raw.call("GET", "/v2/faces")


async def test_store_then_cut_keeps_the_face(raw: Raw, emulator: Emulator) -> None:
    emulator.add_fault(Fault(kind="store_then_reset", route="POST /v2/faces", times=1))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await raw.call("POST", "/v2/faces", json={"train_video_url": VIDEO, "face_name": "Rio"})
    stored = [f for f in emulator.faces.values() if f.name == "Rio"]
    assert len(stored) == 1  # the create happened even though no answer came back
    emulator.add_fault(Fault(kind="store_then_500", route="POST /v2/faces", times=1))
    status, _, _ = await raw.call("POST", "/v2/faces", json={"train_video_url": VIDEO})
    assert status == 500
    assert len([f for f in emulator.faces.values() if f.face_type == "user"]) == 2


async def _faulted_indices(seed: int) -> list[int]:
    faults = [Fault(kind="server_error", rate=0.3), Fault(kind="rate_limit", rate=0.1)]
    async with Emulator(api_key=API_KEY, seed=seed, faults=faults) as emu:
        async with aiohttp.ClientSession() as session:
            raw = Raw(session, emu.url)
            for _ in range(40):
                await raw.call("GET", "/v2/voices")
        return [i for i, r in enumerate(emu.requests) if r.fault]


async def test_faults_replay_with_the_same_seed() -> None:
    first = await _faulted_indices(11)
    assert first == await _faulted_indices(11)
    assert first != await _faulted_indices(12)
    assert 6 < len(first) < 30


def test_fault_specs_parse() -> None:
    faults = parse_faults("server_error:0.2@GET /v2/faces/*, rate_limit, reset:0.05")
    assert [(f.kind, f.rate, f.route) for f in faults] == [
        ("server_error", 0.2, "GET /v2/faces/*"),
        ("rate_limit", 1.0, "*"),
        ("reset", 0.05, "*"),
    ]
    outage, late = parse_faults("reset~10800-14400@GET /v2/faces/*, server_error:0.5~60-")
    assert (outage.kind, outage.rate, outage.start, outage.end, outage.route) == (
        "reset",
        1.0,
        10800.0,
        14400.0,
        "GET /v2/faces/*",
    )
    assert (late.kind, late.rate, late.start, late.end) == ("server_error", 0.5, 60.0, None)
    for bad in ("reset~10800", "reset~a-b", "reset~100-50"):
        with pytest.raises(ValueError, match=r"window|after its start"):
            parse_faults(bad)
    with pytest.raises(ValueError, match="unknown fault kind"):
        parse_faults("gremlins")
    with pytest.raises(ValueError, match="rate"):
        parse_faults("reset:often")
    with pytest.raises(ValueError, match="rate"):
        Fault(kind="reset", rate=2)
    with pytest.raises(ValueError, match="after its start"):
        Fault(kind="reset", start=60, end=60)


@pytest.mark.parametrize("status", ["", "  ", 3, None])
def test_a_running_status_is_a_word(status: object) -> None:
    # Served as the face's status while it trains: a word, or the server would serve garbage.
    with pytest.raises(ValueError, match="running_status"):
        Scenario(running_status=status)  # type: ignore[arg-type]  # the check under test


# --------------------------------------------------------------------------- callbacks


@attrs.define
class Receiver:
    url: str = ""
    received: list[tuple[float, dict[str, Any]]] = attrs.Factory(list)
    failures_left: int = 0


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver()

    async def handle(request: web.Request) -> web.Response:
        state.received.append((asyncio.get_running_loop().time(), await request.json()))
        if state.failures_left > 0:
            state.failures_left -= 1
            return web.Response(status=503)
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"  # type: ignore[union-attr]  # started: it has a server
    yield state
    await runner.cleanup()


async def test_callback_on_completion(raw: Raw, emulator: Emulator, receiver: Receiver) -> None:
    emulator.scenario = Scenario(duration=3600)
    face_id = await create(raw, callback_url=receiver.url)
    start = asyncio.get_running_loop().time()
    await asyncio.sleep(3601)
    ((when, payload),) = receiver.received
    assert payload == {"replica_id": face_id, "face_id": face_id, "status": "ready"}
    assert when - start == pytest.approx(3600, abs=1)


async def test_callback_on_error_on_the_replica_path(
    raw: Raw, emulator: Emulator, receiver: Receiver
) -> None:
    emulator.scenario = Scenario.failure("video_duration", at=0.5, duration=600)
    face_id = await create(raw, path="/v2/replicas", callback_url=receiver.url)
    await asyncio.sleep(301)
    ((_, payload),) = receiver.received
    assert payload == {
        "replica_id": face_id,
        "status": "error",
        "error_message": ERROR_MESSAGES["video_duration"],
    }


async def test_callbacks_are_retried_when_the_receiver_fails(
    raw: Raw, emulator: Emulator, receiver: Receiver
) -> None:
    emulator.scenario = Scenario(duration=60)
    receiver.failures_left = 2
    await create(raw, callback_url=receiver.url)
    await asyncio.sleep(120)
    assert len(receiver.received) == 3
    assert [d.status for d in emulator.deliveries] == [503, 503, 204]
    gaps = [b[0] - a[0] for a, b in zip(receiver.received, receiver.received[1:], strict=False)]
    assert gaps == [pytest.approx(1, abs=0.1), pytest.approx(2, abs=0.1)]


async def test_phoenix_45_sends_two_callbacks(
    raw: Raw, emulator: Emulator, receiver: Receiver
) -> None:
    emulator.add_rule(Rule(name_contains="p45", scenario=Scenario.phoenix45(tuning=600)))
    face_id = await create(raw, face_name="p45", callback_url=receiver.url)
    await asyncio.sleep(800)
    payloads = [p for _, p in receiver.received]
    ids = {"replica_id": face_id, "face_id": face_id, "status": "ready"}
    assert payloads == [
        {**ids, "finetune_status": "training"},
        {**ids, "finetune_status": "completed"},
    ]


async def test_callback_fires_when_the_end_time_rounds_short(receiver: Receiver) -> None:
    # (1409.189 + 15140.5) - 1409.189 == 15140.499999999998 in floats: at the exact end time
    # the training used to look a hair short of done. The delivery then waited for that end
    # time again and again without the clock moving, and hung the loop; and a GET could say
    # "started" after the callback said "ready".
    created, duration = 1409.189, 15140.5
    clock = VirtualClock(start=created)
    scenario = Scenario(duration=duration)
    async with (
        Emulator(api_key=API_KEY, clock=clock, scenario=scenario) as emu,
        aiohttp.ClientSession() as session,
    ):
        raw = Raw(session, emu.url)
        face_id = await create(raw, callback_url=receiver.url)
        clock.advance(duration)
        assert clock.time() - created < duration
        _, face, _ = await raw.call("GET", f"/v2/faces/{face_id}")
        assert face["status"] == "completed"
        for _ in range(50):
            if receiver.received:
                break
            await asyncio.sleep(0.01)
    assert [p["face_id"] for _, p in receiver.received] == [face_id]


@pytest.mark.parametrize(("mode", "expected"), [("drop", 0), ("duplicate", 2)])
async def test_lost_and_duplicated_callbacks(receiver: Receiver, mode: Any, expected: int) -> None:
    async with (
        Emulator(api_key=API_KEY, callbacks=mode, scenario=Scenario(duration=60)) as emu,
        aiohttp.ClientSession() as session,
    ):
        await create(Raw(session, emu.url), callback_url=receiver.url)
        await asyncio.sleep(61)
    assert len(receiver.received) == expected


async def test_no_callback_for_a_deleted_face(
    raw: Raw, emulator: Emulator, receiver: Receiver
) -> None:
    emulator.scenario = Scenario(duration=60)
    face_id = await create(raw, callback_url=receiver.url)
    await raw.call("DELETE", f"/v2/faces/{face_id}")
    await asyncio.sleep(61)
    assert receiver.received == []


# --------------------------------------------------------------------------- observability


async def test_request_log_never_keeps_the_key(raw: Raw, emulator: Emulator) -> None:
    await create(raw, face_name="Rio")
    await raw.call("GET", "/v2/faces")
    post, get = emulator.requests
    assert (post.method, post.path, post.body["face_name"], post.status) == (
        "POST",
        "/v2/faces",
        "Rio",
        200,
    )
    assert (get.method, get.query, get.status) == ("GET", {}, 200)
    for entry in emulator.requests:
        assert entry.had_api_key
        assert "x-api-key" not in {k.lower() for k in entry.headers}
        assert API_KEY not in json.dumps(entry.to_json())
    assert emulator.counters["POST /v2/faces"] == 1


async def test_a_fault_with_a_window_is_an_outage(raw: Raw) -> None:
    # Over the control API, as a standalone emulator's user would: the window is read
    # against the emulated time that /_emulator/stats reports.
    _, stats, _ = await raw.call("GET", "/_emulator/stats", key=None)
    outage = {"kind": "server_error", "statuses": [502], "start": stats["time"] + 60}
    status, _, _ = await raw.call(
        "POST", "/_emulator/faults", key=None, json={**outage, "end": stats["time"] + 120}
    )
    assert status == 200
    seen = []
    for _ in range(3):
        seen.append((await raw.call("GET", "/v2/voices"))[0])
        await asyncio.sleep(60)
    assert seen == [200, 502, 200]
    bad = await raw.call(
        "POST", "/_emulator/faults", key=None, json={**outage, "end": stats["time"]}
    )
    assert bad[0] == 400


async def test_control_api(raw: Raw, emulator: Emulator) -> None:
    await create(raw)
    _, log, _ = await raw.call("GET", "/_emulator/requests", key=None)
    assert [r["method"] for r in log] == ["POST"]
    assert API_KEY not in json.dumps(log)
    status, faults, _ = await raw.call(
        "POST", "/_emulator/faults", key=None, json={"kind": "rate_limit", "times": 1}
    )
    assert status == 200
    assert faults[0]["kind"] == "rate_limit"
    assert (await raw.call("GET", "/v2/faces"))[0] == 429
    bad = await raw.call("POST", "/_emulator/faults", key=None, json={"kind": "gremlins"})
    assert bad[0] == 400
    status, _, _ = await raw.call(
        "POST",
        "/_emulator/rules",
        key=None,
        json={"name_contains": "doomed", "scenario": {"fail": "video_fps", "fail_at": 0}},
    )
    assert status == 200
    doomed = await create(raw, face_name="doomed")
    assert (await raw.call("GET", f"/v2/faces/{doomed}"))[1]["status"] == "error"
    status, scenario, _ = await raw.call(
        "PUT", "/_emulator/scenario", key=None, json={"duration": 5, "curve": "linear"}
    )
    assert (status, scenario["duration"]) == (200, 5)
    quick = await create(raw)
    await asyncio.sleep(6)
    assert (await raw.call("GET", f"/v2/faces/{quick}"))[1]["status"] == "completed"
    _, faces, _ = await raw.call("GET", "/_emulator/faces", key=None)
    assert {f["face_id"] for f in faces} >= {doomed, quick}
    _, stats, _ = await raw.call("GET", "/_emulator/stats", key=None)
    assert stats["faults"] == {"rate_limit": 1}
    assert stats["requests"] == len(emulator.requests)
    # This emulator runs on loop time; only a VirtualClock can be moved by hand.
    assert (await raw.call("POST", "/_emulator/time", key=None, json={"seconds": 5}))[0] == 400
    assert (await raw.call("POST", "/_emulator/reset", key=None))[0] == 200
    assert emulator.requests == []
    assert emulator.faults.faults == []


async def test_control_api_moves_a_virtual_clock() -> None:
    clock = VirtualClock()
    async with Emulator(api_key=API_KEY, clock=clock) as emu, aiohttp.ClientSession() as s:
        raw = Raw(s, emu.url)
        status, data, _ = await raw.call("POST", "/_emulator/time", key=None, json={"seconds": 90})
        assert (status, data) == (200, {"time": 90.0})
        assert (await raw.call("POST", "/_emulator/time", key=None, json={"seconds": -1}))[0] == 400


async def test_add_face_seeds_a_training_in_progress(receiver: Receiver) -> None:
    async with Emulator(api_key=API_KEY, record_requests=False) as emu:
        face_id = emu.add_face(
            name="halfway", scenario=Scenario(duration=3600, curve="linear"), started_ago=1800
        )
        done_id = emu.add_face(scenario="quick", started_ago=120, callback_url=receiver.url)
        async with aiohttp.ClientSession() as session:
            raw = Raw(session, emu.url)
            _, half, _ = await raw.call("GET", f"/v2/faces/{face_id}")
            assert (half["face_name"], half["training_progress"]) == ("halfway", "50/100")
            _, done, _ = await raw.call("GET", f"/v2/faces/{done_id}")
            assert done["status"] == "completed"
        await asyncio.sleep(1)
        assert emu.requests == []  # record_requests=False keeps no log...
        assert emu.counters[f"GET /v2/faces/{face_id}"] == 1  # ...but still counts
    # A face that was already done when added still gets its callback.
    assert [p["status"] for _, p in receiver.received] == ["ready"]
