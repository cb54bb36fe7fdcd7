"""Training callbacks: parsing, the receiver, authenticity, and the bridge to waiting jobs."""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tavus_async import (
    CallbackError,
    FaceStatus,
    InvalidArgumentError,
    TavusClient,
    TrainingCallback,
    parse_training_callback,
)
from tavus_async.emulator import Emulator, Rule, Scenario

from .conftest import API_KEY

VIDEO = "https://cdn.test/train.mp4"
HOURS_3_5 = 3.5 * 3600


@pytest.fixture
async def callback_url(client: TavusClient) -> AsyncIterator[str]:
    """The client's receiver, served standalone on loopback."""
    async with client.callbacks.serve(host="127.0.0.1", port=0) as url:
        yield url


async def post(url: str, body: Any, *, raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else json.dumps(body).encode()
    async with aiohttp.ClientSession() as session, session.post(url, data=data) as response:
        return response.status, await response.json()


def face_requests(emulator: Emulator, face_id: str) -> list[Any]:
    return [r for r in emulator.requests if face_id in r.path or r.method == "POST"]


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    ("body", "face_id", "status"),
    [
        ({"replica_id": "r1", "status": "ready"}, "r1", FaceStatus.READY),
        ({"face_id": "r2", "status": "completed", "extra": [1]}, "r2", FaceStatus.COMPLETED),
        ({"replica_id": "r3", "face_id": "r3", "status": "sparkling"}, "r3", "sparkling"),
    ],
)
def test_parse(body: dict[str, Any], face_id: str, status: str) -> None:
    for form in (body, json.dumps(body), json.dumps(body).encode()):
        parsed = parse_training_callback(form)
        assert (parsed.face_id, parsed.status) == (face_id, status)


def test_parse_error_and_tuning() -> None:
    failed = parse_training_callback(
        b'{"replica_id": "r1", "status": "error", "error_message": "video_codec"}'
    )
    assert failed.status.is_failure
    assert failed.error_message == "video_codec"
    tuned = parse_training_callback(
        {"replica_id": "r1", "status": "ready", "finetune_status": "completed"}
    )
    assert tuned.finetune_status == "completed"


@pytest.mark.parametrize(
    "body",
    [b"not json", b"\xff\xfe", b"[1, 2]", b'{"status": "ready"}', b'{"replica_id": "r1"}',
     b'{"replica_id": 5, "status": "ready"}', b'{"replica_id": "r1", "status": true}', b""],
)  # fmt: skip
def test_malformed_bodies_raise_callback_error(body: bytes) -> None:
    with pytest.raises(CallbackError):
        parse_training_callback(body)


# --------------------------------------------------------------------------- the URL


def test_url_carries_the_secret(client: TavusClient) -> None:
    url = client.callbacks.url("https://my.app/tavus/callback?env=prod")
    assert url == f"https://my.app/tavus/callback?env=prod&token={client.callbacks.secret}"
    assert client.callbacks.secret not in repr(client.callbacks)
    with pytest.raises(InvalidArgumentError):
        client.callbacks.url("/tavus/callback")


def test_callback_secret_is_checked() -> None:
    with pytest.raises(InvalidArgumentError):
        TavusClient(api_key=API_KEY, callback_secret="short")
    with pytest.raises(TypeError):
        TavusClient(api_key=API_KEY, callback_secret=12345)  # type: ignore[arg-type]  # on purpose
    fixed = TavusClient(api_key=API_KEY, callback_secret="s" * 24)
    assert fixed.callbacks.secret == "s" * 24


# --------------------------------------------------------------------------- the bridge


async def test_a_callback_resolves_the_job_with_three_requests(
    emulator: Emulator, client: TavusClient, callback_url: str
) -> None:
    job = await client.faces.create(train_video_url=VIDEO, callback_url=callback_url)
    assert job.safety_net
    face = await job
    returned = emulator.now()
    assert face.status is FaceStatus.COMPLETED
    # POST, the check right after subscribing, and the confirming GET: nothing else in 3.5 h.
    assert len(emulator.requests) <= 3
    assert [r.method for r in emulator.requests] == ["POST", "GET", "GET"]
    (delivery,) = emulator.deliveries
    assert delivery.time >= HOURS_3_5
    assert returned - delivery.time < 1.0
    assert client.callbacks.accepted == 1


async def test_a_wait_resolved_by_a_callback_learns_what_polling_learns(
    emulator: Emulator, client: TavusClient, callback_url: str
) -> None:
    # Read at its start and at the callback an hour later: dated "between the two reads",
    # the finish taught half its length (three one-hour trainings moved the client's
    # median to 1.1 h). The callback dates it: the same as a client that polled learns.
    emulator.add_rule(Rule(name_contains="short", scenario=Scenario(duration=3600)))
    told = client.expected_duration
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as polling:
        for _ in range(3):
            await (
                await client.faces.create(
                    train_video_url=VIDEO, face_name="short", callback_url=callback_url
                )
            )
            await (await polling.faces.create(train_video_url=VIDEO, face_name="short"))
        assert client.callbacks.accepted == 3
        learned, polled = client.expected_duration, polling.expected_duration
    median = [math.sqrt(low * high) for low, high in (told, learned, polled)]
    assert median[1] < 2 * 3600 < median[0]
    assert abs(median[1] / median[2] - 1) < 0.03


async def test_a_lost_callback_is_caught_by_the_safety_net(emulator: Emulator) -> None:
    emulator.callback_mode = "drop"
    async with (
        TavusClient(api_key=API_KEY, base_url=emulator.url) as client,
        client.callbacks.serve(host="127.0.0.1", port=0) as url,
    ):
        job = await client.faces.create(train_video_url=VIDEO, callback_url=url)
        face = await job
    assert face.status is FaceStatus.COMPLETED
    assert emulator.deliveries == []
    gets = emulator.calls("GET", f"/v2/faces/{job.face_id}")
    # One check at subscription, then the safety net from 4 h (15 min apart).
    assert len(gets) == 2
    assert gets[-1].time >= 4 * 3600 - 60


async def test_a_forged_success_does_not_resolve_the_job(
    emulator: Emulator, client: TavusClient, callback_url: str
) -> None:
    job = await client.faces.create(train_video_url=VIDEO, callback_url=callback_url)
    waiter = asyncio.ensure_future(job.wait())
    await asyncio.sleep(3600)
    before = len(emulator.calls("GET"))
    status, _ = await post(callback_url, {"replica_id": job.face_id, "status": "ready"})
    assert status == 200  # a valid-looking delivery is acknowledged...
    await asyncio.sleep(5)
    assert not waiter.done()  # ...but the confirming GET says "started"
    assert len(emulator.calls("GET")) == before + 1
    assert job.status is FaceStatus.STARTED
    face = await waiter  # the real callback resolves it later
    assert face.status is FaceStatus.COMPLETED


@pytest.mark.parametrize(
    ("body", "token", "status"),
    [
        (b"{nope", "good", 400),
        (b"[1, 2, 3]", "good", 400),
        (b'{"status": "ready"}', "good", 400),
        (b'{"replica_id": "x", "status": "ready", "pad": "' + b"x" * 20_000 + b'"}', "good", 413),
        (b'{"replica_id": "x", "status": "ready"}', None, 401),
        (b'{"replica_id": "x", "status": "ready"}', "wrong-token", 403),
    ],
)
async def test_bad_requests_get_their_status_and_change_nothing(
    emulator: Emulator,
    client: TavusClient,
    callback_url: str,
    body: bytes,
    token: str | None,
    status: int,
) -> None:
    job = await client.faces.create(train_video_url=VIDEO, callback_url=callback_url)
    waiter = asyncio.ensure_future(job.wait())
    await asyncio.sleep(60)
    sent = len(emulator.requests)
    body = body.replace(b'"x"', json.dumps(job.face_id).encode())
    base = callback_url.split("?", maxsplit=1)[0]
    url = (
        base
        if token is None
        else f"{base}?token=" + (client.callbacks.secret if token == "good" else token)
    )
    answer, message = await post(url, None, raw=body)
    assert answer == status
    assert message["message"]
    await asyncio.sleep(5)
    assert len(emulator.requests) == sent  # no confirming GET was triggered
    assert client.callbacks.accepted == 0
    assert not waiter.done()
    waiter.cancel()


async def test_duplicate_deliveries_confirm_once(emulator: Emulator) -> None:
    emulator.callback_mode = "duplicate"
    async with (
        TavusClient(api_key=API_KEY, base_url=emulator.url) as client,
        client.callbacks.serve(host="127.0.0.1", port=0) as url,
    ):
        job = await client.faces.create(train_video_url=VIDEO, callback_url=url)
        await job
        assert len(emulator.deliveries) == 2
        assert client.callbacks.accepted == 1
    assert len(emulator.calls("GET")) == 2


async def test_a_callback_that_came_before_the_wait(
    emulator: Emulator, client: TavusClient, callback_url: str
) -> None:
    emulator.scenario = Scenario(duration=600)
    job = await client.faces.create(train_video_url=VIDEO, callback_url=callback_url)
    await asyncio.sleep(900)  # the training ended and its callback came: nobody waited
    assert len(emulator.deliveries) == 1
    started = emulator.now()
    face = await job  # the check right after subscribing sees it
    assert face.status is FaceStatus.COMPLETED
    assert emulator.now() - started < 1.0
    assert len(emulator.calls("GET")) == 1


async def test_phoenix_45_waits_for_the_tuning_callback(
    emulator: Emulator, client: TavusClient, callback_url: str
) -> None:
    emulator.add_rule(Rule(name_contains="p45", scenario=Scenario.phoenix45(tuning=2 * 3600)))
    job = await client.faces.create(
        train_video_url=VIDEO, face_name="p45", model_name="phoenix-4.5", callback_url=callback_url
    )
    preview = await job.wait(until="preview")
    assert preview.finetune_status == "training"
    final = await job
    assert final.finetune_status == "completed"
    assert len(emulator.deliveries) == 2
    assert len(emulator.calls("GET")) <= 4


async def test_jobs_without_our_callback_poll_normally(
    emulator: Emulator, client: TavusClient
) -> None:
    foreign = await client.faces.create(
        train_video_url=VIDEO, callback_url="https://someone-else.test/hook"
    )
    plain = await client.faces.create(train_video_url=VIDEO)
    assert not foreign.safety_net
    assert not plain.safety_net


async def test_a_restarted_worker_with_the_same_secret(emulator: Emulator) -> None:
    secret = "worker-secret-0123456789"
    async with (
        TavusClient(api_key=API_KEY, base_url=emulator.url, callback_secret=secret) as a,
        a.callbacks.serve(host="127.0.0.1", port=0) as url,
    ):
        port = int(url.split(":")[2].split("/")[0])
        face_id = (await a.faces.create(train_video_url=VIDEO, callback_url=url)).face_id
    # The receiver went away with the first worker; a second one takes over the same URL.
    async with (
        TavusClient(api_key=API_KEY, base_url=emulator.url, callback_secret=secret) as b,
        b.callbacks.serve(host="127.0.0.1", port=port),
    ):
        job = b.faces.job(face_id, expect_callback=True)
        face = await job
    assert face.status is FaceStatus.COMPLETED
    assert len(emulator.calls("GET")) == 2
    assert b.callbacks.accepted == 1


async def test_mounting_the_sub_app(emulator: Emulator, client: TavusClient) -> None:
    app = web.Application()
    app.add_subapp("/tavus/callback/", client.callbacks.app())
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]  # started, so bound
    try:
        url = client.callbacks.url(f"http://127.0.0.1:{port}/tavus/callback/")
        job = await client.faces.create(train_video_url=VIDEO, callback_url=url)
        assert (await job).status is FaceStatus.COMPLETED
        assert len(emulator.requests) == 3
        status, _ = await post(url, {"replica_id": job.face_id, "status": "ready"})
        assert status == 200  # the repeat is acknowledged and ignored
    finally:
        await runner.cleanup()


async def test_handle_is_framework_agnostic(client: TavusClient) -> None:
    secret = client.callbacks.secret
    ok = await client.callbacks.handle(b'{"replica_id": "r1", "status": "ready"}', token=secret)
    assert (ok.status, ok.woke, json.loads(ok.body)) == (200, 0, {"message": "ok"})
    assert ok.callback is not None
    assert ok.callback.face_id == "r1"
    again = await client.callbacks.handle(b'{"replica_id": "r1", "status": "ready"}', token=secret)
    assert json.loads(again.body) == {"message": "duplicate"}


# --------------------------------------------------------------------------- forwarding


async def test_accepted_callbacks_are_forwarded_with_the_urls_parameters(
    client: TavusClient, callback_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    got: list[tuple[str, dict[str, str]]] = []

    async def record(callback: TrainingCallback, params: Mapping[str, str]) -> int:
        got.append((callback.face_id, dict(params)))
        return 1

    async def broken(_callback: TrainingCallback, _params: Mapping[str, str]) -> int:
        raise RuntimeError("the workflow engine is down")

    client.callbacks.forward(broken)
    client.callbacks.forward(record)
    url = f"{callback_url}&tavus_workflow=wf-7"  # the served URL carries the token already
    status, _ = await post(url, {"replica_id": "r9", "status": "ready"})
    assert status == 200  # a forwarder's failure is not Tavus's problem
    assert got == [("r9", {"tavus_workflow": "wf-7"})]  # the token is not handed on
    assert "forwarding the callback for r9 failed" in caplog.text
    # Forged, malformed and repeated deliveries reach no forwarder.
    await post(url.replace(client.callbacks.secret, "wrong"), {"replica_id": "r8"})
    await post(url, None, raw=b"not json")
    await post(url, {"replica_id": "r9", "status": "ready"})
    assert len(got) == 1
    result = await client.callbacks.handle(
        b'{"face_id": "r10", "status": "error"}', token=client.callbacks.secret, params={"a": "b"}
    )
    assert result.woke == 1
    assert got[-1] == ("r10", {"a": "b"})


async def test_expect_callback_needs_a_callback_url(
    emulator: Emulator, client: TavusClient
) -> None:
    with pytest.raises(InvalidArgumentError, match="callback_url"):
        _ = await client.faces.create(train_video_url=VIDEO, expect_callback=True)
    with pytest.raises(TypeError):
        # Wrong on purpose:
        _ = await client.faces.create(train_video_url=VIDEO, expect_callback="yes")  # type: ignore[arg-type]
    assert not [r for r in emulator.requests if r.method == "POST"]


async def test_a_callback_to_another_receiver_makes_the_job_a_safety_net(
    emulator: Emulator, client: TavusClient
) -> None:
    # Another process's receiver will wake this job: it polls only as a safety net.
    job = await client.faces.create(
        train_video_url=VIDEO, callback_url="https://elsewhere.test/cb", expect_callback=True
    )
    polled = asyncio.ensure_future(job.wait())
    await asyncio.sleep(HOURS_3_5 / 2)
    assert len(face_requests(emulator, job.face_id)) <= 3
    polled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await polled
