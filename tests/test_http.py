"""The session layer over real loopback HTTP: headers, bodies, errors, retries, timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gzip
import json
import logging
import socket
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tavus_async import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidIdError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
    TavusClient,
    TrainingMayHaveStartedError,
    UnprocessableEntityError,
)
from tavus_async._http import MAX_RESPONSE_BYTES, USER_AGENT
from tavus_async._version import __version__
from tavus_async.emulator import Emulator, Fault, Rule, Scenario

from .conftest import API_KEY, Stub

FACE = {"face_id": "r1", "status": "started", "training_progress": "3/100"}


async def test_headers_and_user_agent(stub: Stub, stub_client: TavusClient) -> None:
    stub.reply(200, FACE)
    await stub_client.faces.get("r1")
    (req,) = stub.seen
    assert req.headers["x-api-key"] == API_KEY
    assert req.headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith(f"tavus-async/{__version__} ")
    assert req.headers["Accept"] == "application/json"
    assert req.method == "GET"
    assert req.path == "/v2/faces/r1"


async def test_json_bodies_drop_none_fields(stub: Stub, stub_client: TavusClient) -> None:
    stub.reply(200, {"face_id": "r9", "status": "started"})
    _ = await stub_client.faces.create(
        train_video_url="https://cdn.test/train.mp4",
        face_name="Rio",
        callback_url=None,
        model_name=None,
    )
    (req,) = stub.seen
    assert req.headers["Content-Type"] == "application/json"
    assert json.loads(req.body) == {
        "train_video_url": "https://cdn.test/train.mp4",
        "face_name": "Rio",
    }


@pytest.mark.parametrize(
    ("status", "body", "cls"),
    [
        (400, {"error": "Bad thing"}, BadRequestError),
        (400, {"error": "Invalid face_id"}, InvalidIdError),
        (401, {"message": "Invalid access token"}, AuthenticationError),
        (403, {"message": "IP not allowed"}, PermissionDeniedError),
        (404, {"message": "Not found"}, NotFoundError),
        (409, {"error": "Conflict"}, ConflictError),
        (422, {"message": "Invalid JSON patch format"}, UnprocessableEntityError),
    ],
)
async def test_each_status_over_http(
    stub: Stub, stub_client: TavusClient, status: int, body: Any, cls: type[APIStatusError]
) -> None:
    stub.reply(status, body, headers={"X-Request-Id": "req-9"})
    with pytest.raises(cls) as info:
        await stub_client.faces.get("r1")
    err = info.value
    assert type(err) is cls
    assert err.status == status
    assert err.message == (body.get("error") or body.get("message"))
    assert err.body == body
    assert err.request_id == "req-9"
    assert err.method == "GET"
    assert err.url == f"{stub.url}/v2/faces/r1"
    assert len(stub.seen) == 1  # 4xx other than 408/429 is never retried


async def test_server_errors_are_retried_then_raised(stub: Stub, stub_client: TavusClient) -> None:
    stub.reply(502, raw=b"<html><title>502 Bad Gateway</title></html>", content_type="text/html")
    with pytest.raises(ServerError) as info:
        await stub_client.faces.get("r1")
    assert info.value.status == 502
    assert info.value.message == "HTML page: 502 Bad Gateway"
    assert len(stub.seen) == 3  # max_attempts


async def test_get_retries_503_and_429_honouring_retry_after(
    emulator: Emulator, client: TavusClient
) -> None:
    job = await client.faces.create(train_video_url="https://cdn.test/v.mp4")
    emulator.add_fault(
        Fault(kind="server_error", statuses=(503,), body="json", retry_after=4, times=1,
              route="GET /v2/faces/*")
    )  # fmt: skip
    emulator.add_fault(Fault(kind="rate_limit", retry_after=7, times=1, route="GET /v2/faces/*"))
    face = await client.faces.get(job.face_id)
    assert face.face_id == job.face_id
    gets = emulator.calls("GET", f"/v2/faces/{job.face_id}")
    assert [g.fault for g in gets] == ["server_error", "rate_limit", None]
    # Each retry came only after the Retry-After of the previous answer (virtual time).
    assert gets[1].loop_time - gets[0].loop_time >= 4 - 1e-3
    assert gets[2].loop_time - gets[1].loop_time >= 7 - 1e-3


async def test_retry_after_longer_than_the_cap_is_raised(stub: Stub) -> None:
    stub.reply(429, {"error": "slow down"}, headers={"Retry-After": "3600"})
    async with TavusClient(
        api_key=API_KEY, base_url=stub.url, retry=RetryPolicy(max_retry_after=60)
    ) as client:
        with pytest.raises(RateLimitError) as info:
            await client.faces.get("r1")
        assert info.value.retry_after == 3600
        assert len(stub.seen) == 1
        # The pause holds every request of this client: nothing more is sent.
        with pytest.raises(RateLimitError):
            await client.faces.get("r2")
        assert len(stub.seen) == 1


async def test_create_is_sent_exactly_once_when_the_server_fails(
    emulator: Emulator, client: TavusClient
) -> None:
    emulator.add_fault(Fault(kind="store_then_500", route="POST /v2/faces"))
    with pytest.raises(TrainingMayHaveStartedError) as info:
        _ = await client.faces.create(train_video_url="https://cdn.test/v.mp4", face_name="Rio")
    assert len(emulator.calls("POST", "/v2/faces")) == 1
    err = info.value
    assert isinstance(err.cause, ServerError)
    assert err.__cause__ is err.cause
    assert err.name == "Rio"
    assert "recover(name='Rio'" in str(err)
    # The training did start on the server: recover() finds it.
    (job,) = await client.faces.recover(name="Rio", since=err.started_at)
    assert job.face_id in emulator.faces


async def test_a_create_cancelled_in_flight_says_a_training_may_have_started(
    emulator: Emulator, client: TavusClient, caplog: pytest.LogCaptureFixture
) -> None:
    # A cancellation cannot be replaced by TrainingMayHaveStartedError: the same advice is
    # logged instead, where a create under asyncio.wait_for() would otherwise leave nothing.
    emulator.add_fault(Fault(kind="slow", route="POST /v2/faces", delay=60.0))
    create = client.faces.create(train_video_url="https://cdn.test/v.mp4", face_name="Rio")
    with (
        caplog.at_level(logging.WARNING, logger="tavus_async"),
        pytest.raises(asyncio.TimeoutError),
    ):
        _ = await asyncio.wait_for(create, timeout=5)
    assert "a training may have started" in caplog.text
    assert "recover(name='Rio', since=" in caplog.text
    assert API_KEY not in caplog.text


async def test_recover_finds_a_training_that_already_ended_only_when_asked(
    emulator: Emulator, client: TavusClient
) -> None:
    # A create whose answer was lost, for a training that failed within seconds.
    emulator.add_rule(Rule(name_contains="Rio", scenario=Scenario(fail="video_codec", fail_at=0)))
    emulator.add_fault(Fault(kind="store_then_500", route="POST /v2/faces"))
    with pytest.raises(TrainingMayHaveStartedError) as info:
        _ = await client.faces.create(train_video_url="https://cdn.test/v.mp4", face_name="Rio")
    await asyncio.sleep(60)
    since = info.value.started_at
    assert await client.faces.recover(name="Rio", since=since) == []
    (job,) = await client.faces.recover(name="Rio", since=since, finished=True)
    assert job.face is not None
    assert job.face.status.is_failure
    with pytest.raises(TypeError):
        await client.faces.recover(finished="yes")  # type: ignore[arg-type]  # wrong on purpose


@pytest.mark.parametrize("hours", [-3.0, 5.0])
async def test_recover_reads_created_at_on_the_server_clock(hours: float) -> None:
    # A server whose clock is hours behind (or ahead of) ours: its Date and its created_at
    # agree with each other, not with us. The lost create's training is found all the same,
    # and a face created well before it is still ruled out.
    skew = hours * 3600
    async with (
        Emulator(api_key=API_KEY, date_skew=skew) as emulator,
        TavusClient(api_key=API_KEY, base_url=emulator.url) as client,
    ):
        emulator.add_rule(Rule(name_contains="Rio", scenario=Scenario(created_at_skew=skew)))
        earlier = emulator.add_face(name="Rio", started_ago=3 * 3600)
        emulator.add_fault(Fault(kind="store_then_500", route="POST /v2/faces"))
        with pytest.raises(TrainingMayHaveStartedError) as info:
            _ = await client.faces.create(train_video_url="https://cdn.test/v.mp4", face_name="Rio")
        jobs = await client.faces.recover(name="Rio", since=info.value.started_at)
    lost = [f for f, face in emulator.faces.items() if face.name == "Rio" and f != earlier]
    assert len(lost) == 1
    assert [job.face_id for job in jobs] == lost


async def test_recover_keeps_a_face_whose_creation_time_is_not_listed(
    stub: Stub, stub_client: TavusClient
) -> None:
    # Without created_at a face cannot be ruled out: missing it could start a second training.
    old = {"face_name": "Rio", "status": "started", "created_at": "2020-01-01T00:00:00Z"}
    stub.reply(
        200,
        {
            "data": [
                {"face_id": "f-undated", "face_name": "Rio", "status": "started"},
                {"face_id": "f-old", **old},
                {"face_id": "f-other", "face_name": "Ana", "status": "started"},
            ],
            "total_count": 3,
        },
    )
    since = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    jobs = await stub_client.faces.recover(name="Rio", since=since)
    assert [job.face_id for job in jobs] == ["f-undated"]


async def test_create_is_not_retried_on_a_plain_500_either(
    stub: Stub, stub_client: TavusClient
) -> None:
    stub.reply(500, {"error": "Internal"})
    with pytest.raises(TrainingMayHaveStartedError):
        _ = await stub_client.faces.create(train_video_url="https://cdn.test/v.mp4")
    assert [s.method for s in stub.seen] == ["POST"]


async def test_create_refused_by_429_is_a_definite_refusal(
    stub: Stub, stub_client: TavusClient
) -> None:
    stub.reply(429, {"error": "Too many"}, headers={"Retry-After": "1"})
    with pytest.raises(RateLimitError):
        _ = await stub_client.faces.create(train_video_url="https://cdn.test/v.mp4")
    assert len(stub.seen) == 1


async def test_non_json_2xx_is_a_validation_error(stub: Stub, stub_client: TavusClient) -> None:
    stub.reply(200, raw=b"<html>OK</html>", content_type="text/html")
    with pytest.raises(ResponseValidationError) as info:
        await stub_client.faces.get("r1")
    assert info.value.body == "<html>OK</html>"
    assert info.value.status == 200


def _oversized(status: int, how: str) -> Any:
    """A handler answering with a body past the client's cap: ``framed`` by a
    Content-Length, ``streamed`` in chunks without one, or ``gzipped`` (a few kilobytes
    that inflate past the cap: its Content-Length is no bound)."""
    size = MAX_RESPONSE_BYTES + 1024 * 1024

    async def handler(request: web.Request) -> web.StreamResponse:
        if how == "framed":
            return web.Response(status=status, body=b"x" * size)
        if how == "gzipped":
            body = gzip.compress(b"x" * size)
            return web.Response(status=status, body=body, headers={"Content-Encoding": "gzip"})
        response = web.StreamResponse(status=status)
        await response.prepare(request)
        with contextlib.suppress(ConnectionError):  # the client stops reading: it may hang up
            for _ in range(size // (1024 * 1024)):
                await response.write(b"x" * 1024 * 1024)
            await response.write_eof()
        return response

    return handler


@pytest.mark.parametrize("how", ["framed", "streamed", "gzipped"])
async def test_a_body_past_the_cap_is_a_validation_error_not_a_memory_bill(
    stub: Stub, stub_client: TavusClient, how: str
) -> None:
    stub.handler = _oversized(200, how)
    with pytest.raises(ResponseValidationError, match="too large") as info:
        await stub_client.faces.get("r1")
    assert info.value.status == 200
    assert len(str(info.value.body)) <= 1000  # a snippet, not the body
    # The connection is not reused half-read: the next request is answered normally.
    stub.handler = None
    stub.reply(200, {"face_id": "r1", "status": "started"})
    assert (await stub_client.faces.get("r1")).face_id == "r1"


async def test_an_error_status_with_a_body_past_the_cap_keeps_its_status(
    stub: Stub, stub_client: TavusClient
) -> None:
    stub.handler = _oversized(404, "streamed")
    with pytest.raises(APIStatusError) as info:
        await stub_client.faces.get("r1")
    assert info.value.status == 404
    assert len(str(info.value)) <= 1000


async def test_a_json_body_behind_a_byte_order_mark_is_read(
    stub: Stub, stub_client: TavusClient
) -> None:
    stub.reply(200, raw=b"\xef\xbb\xbf" + json.dumps(FACE).encode())
    face = await stub_client.faces.get("r1")
    assert face.face_id == FACE["face_id"]
    assert face.status == FACE["status"]


async def test_answers_in_a_data_envelope_are_read(stub: Stub, stub_client: TavusClient) -> None:
    # Some gateways wrap every answer: {"data": {...}}. The object inside is read when the
    # envelope has none of the object's own keys.
    stub.reply(200, {"data": {"face_id": "r1", "status": "started"}})  # the create
    stub.reply(200, {"data": FACE})
    stub.reply(200, {"data": {**FACE, "status": "completed", "training_progress": "100/100"}})
    job = await stub_client.faces.create(train_video_url="https://cdn.test/v.mp4")
    face = await job
    assert (job.face_id, face.face_id, face.status) == ("r1", "r1", "completed")
    assert [s.method for s in stub.seen] == ["POST", "GET", "GET"]
    # An object that has its keys is read as it is, whatever its "data" holds.
    stub.queue[:] = []
    stub.reply(200, {**FACE, "data": {"face_id": "r9", "status": "error"}})
    assert (await stub_client.faces.get("r1")).status == "started"


async def test_wrong_type_in_2xx_body(stub: Stub, stub_client: TavusClient) -> None:
    # The status is what a face read cannot do without (other fields are kept leniently).
    stub.reply(200, {"face_id": "r1", "status": 45, "training_progress": 45})
    with pytest.raises(ResponseValidationError) as info:
        await stub_client.faces.get("r1")
    assert "$.status" in str(info.value)
    assert info.value.body["status"] == 45


async def test_unknown_status_and_extra_keys_over_http(
    stub: Stub, stub_client: TavusClient
) -> None:
    stub.reply(200, {**FACE, "status": "queued_for_gpu", "brand_new_field": {"x": 1}})
    face = await stub_client.faces.get("r1")
    assert face.status == "queued_for_gpu"
    assert not face.status.is_known


async def test_timeouts_become_api_timeout_error(emulator: Emulator) -> None:
    emulator.add_fault(Fault(kind="slow", delay=120, route="GET /v2/faces/*"))
    async with TavusClient(
        api_key=API_KEY, base_url=emulator.url, timeout=5, retry=RetryPolicy(max_attempts=2)
    ) as client:
        with pytest.raises(APITimeoutError) as info:
            await client.faces.get("r4067604db72")
    assert "no response within 5" in str(info.value)
    assert isinstance(info.value.__cause__, TimeoutError)
    assert len(emulator.calls("GET")) == 2


@pytest.mark.parametrize("kind", ["reset", "truncated"])
async def test_broken_connections_become_api_connection_error(
    emulator: Emulator, kind: str
) -> None:
    emulator.add_fault(Fault(kind=kind, route="GET /v2/faces/*"))
    async with TavusClient(
        api_key=API_KEY, base_url=emulator.url, retry=RetryPolicy(max_attempts=1)
    ) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.faces.get("r4067604db72")
    assert isinstance(info.value.__cause__, aiohttp.ClientError)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_refused_create_is_retried_and_creates_exactly_one_face() -> None:
    port = _free_port()
    emulator = Emulator(api_key=API_KEY, port=port)
    started: list[float] = []

    async def start_server_during_backoff(seconds: float) -> None:
        # The first attempt was refused (nothing listens yet); bring the API up now.
        started.append(seconds)
        await emulator.start()

    client = TavusClient(
        api_key=API_KEY,
        base_url=f"http://127.0.0.1:{port}",
        retry=RetryPolicy(sleep=start_server_during_backoff),
    )
    try:
        job = await client.faces.create(train_video_url="https://cdn.test/v.mp4")
        assert len(started) == 1
        assert len(emulator.calls("POST", "/v2/faces")) == 1
        assert next(f for f in emulator.faces.values() if f.face_type == "user").face_id == (
            job.face_id
        )
    finally:
        await client.close()
        await emulator.stop()


async def test_refused_connection_for_get_is_api_connection_error() -> None:
    port = _free_port()
    slept: list[float] = []

    async def no_wait(seconds: float) -> None:
        slept.append(seconds)

    async with TavusClient(
        api_key=API_KEY,
        base_url=f"http://127.0.0.1:{port}",
        retry=RetryPolicy(max_attempts=3, initial_delay=1, sleep=no_wait),
    ) as client:
        with pytest.raises(APIConnectionError) as info:
            await client.faces.get("r1")
    assert "could not connect" in str(info.value)
    # Two retries, backing off exponentially, each jittered but kept above a floor.
    assert len(slept) == 2
    assert 0.5 <= slept[0] <= 1.0
    assert 1.0 <= slept[1] <= 2.0


async def test_retry_policy_delays_follow_backoff_expo() -> None:
    policy = RetryPolicy(max_attempts=6, initial_delay=0.5, max_delay=3)
    assert list(policy.delays()) == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert list(RetryPolicy(max_attempts=1).delays()) == []


async def test_delete_and_rename_bodies(stub: Stub, stub_client: TavusClient) -> None:
    stub.reply(200, raw=b"OK", content_type="text/plain")
    await stub_client.faces.delete("r1", hard=True)
    await stub_client.faces.rename("r1", "Rio 2")
    await stub_client.faces.delete("r1")
    delete_hard, rename, delete_soft = stub.seen
    assert (delete_hard.method, delete_hard.path, delete_hard.query) == (
        "DELETE",
        "/v2/faces/r1",
        {"hard": "true"},
    )
    assert (rename.method, rename.path, json.loads(rename.body)) == (
        "PATCH",
        "/v2/faces/r1/name",
        {"face_name": "Rio 2"},
    )
    assert delete_soft.query == {}


async def test_unreachable_handler_bug_is_not_masked(stub: Stub, stub_client: TavusClient) -> None:
    async def explode(_request: web.Request) -> web.StreamResponse:
        return web.Response(status=500, text="Traceback (most recent call last): ...")

    stub.handler = explode
    with pytest.raises(ServerError) as info:
        await stub_client.faces.get("r1")
    assert "Traceback" in info.value.message


async def test_a_redirect_to_another_origin_is_not_followed_and_the_key_stays(
    stub: Stub, stub_client: TavusClient
) -> None:
    # localhost is another origin than 127.0.0.1, yet the same stub: a followed redirect
    # would show up in stub.seen, carrying the key.
    port = stub.url.rsplit(":", 1)[1]
    stub.reply(302, {"error": "moved"}, headers={"Location": f"http://localhost:{port}/v2/x"})
    with pytest.raises(APIStatusError) as info:
        await stub_client.faces.get("r1")
    assert [seen.path for seen in stub.seen] == ["/v2/faces/r1"]
    error = info.value
    assert (error.status, error.body) == (302, {"error": "moved"})
    assert f"another origin (http://localhost:{port})" in str(error)
    assert API_KEY not in str(error)


async def test_redirects_within_the_origin_are_followed(
    stub: Stub, stub_client: TavusClient
) -> None:
    stub.reply(307, headers={"Location": "/v3/faces/r1?verbose=true"})
    stub.reply(200, FACE)
    face = await stub_client.faces.get("r1")
    assert face.training_progress == "3/100"
    moved = stub.seen[1]
    assert (moved.method, moved.path, moved.query) == ("GET", "/v3/faces/r1", {"verbose": "true"})
    assert moved.headers["x-api-key"] == API_KEY


async def test_a_create_answered_see_other_is_read_not_sent_again(
    stub: Stub, stub_client: TavusClient
) -> None:
    stub.reply(303, headers={"Location": "/v2/faces/r9"})
    stub.reply(200, {"face_id": "r9", "status": "started"})
    job = await stub_client.faces.create(
        train_video_url="https://cdn.test/train.mp4", face_name="Rio"
    )
    assert job.face_id == "r9"
    assert [(seen.method, seen.path, seen.body) for seen in stub.seen] == [
        ("POST", "/v2/faces", stub.seen[0].body),
        ("GET", "/v2/faces/r9", b""),
    ]


async def test_a_redirect_loop_ends_in_an_error(stub: Stub, stub_client: TavusClient) -> None:
    stub.reply(302, headers={"Location": "/v2/faces/r1"})
    with pytest.raises(APIStatusError, match="more than 5 redirects"):
        await stub_client.faces.get("r1")
    assert len(stub.seen) == 6


# ---------------------------------------------------------------------- a key echoed back


async def test_a_key_the_server_echoes_reaches_no_error_log_or_model(
    stub: Stub, stub_client: TavusClient, caplog: pytest.LogCaptureFixture
) -> None:
    # A proxy's error page or a debug dump may quote the key it was sent: it is replaced
    # where the body is read, before any error, log line or model can carry it.
    caplog.set_level(logging.DEBUG, logger="tavus_async")
    stub.reply(401, {"error": f"Invalid API key {API_KEY}", "sent": {"x-api-key": API_KEY}})
    stub.reply(
        200, raw=f"<html>debug: x-api-key={API_KEY}</html>".encode(), content_type="text/html"
    )
    stub.reply(200, {"face_id": "r1", "status": "started", "face_name": f"key {API_KEY}"})
    with pytest.raises(AuthenticationError) as refused:
        await stub_client.faces.get("r1")
    with pytest.raises(ResponseValidationError) as garbled:
        await stub_client.faces.get("r1")
    face = await stub_client.faces.get("r1")
    assert refused.value.message == "Invalid API key [redacted]"
    assert refused.value.body == {
        "error": refused.value.message,
        "sent": {"x-api-key": "[redacted]"},
    }
    assert face.face_name == "key [redacted]"
    texts = [repr(face), caplog.text]
    for error in (refused.value, garbled.value):
        texts += [str(error), repr(error), repr(vars(error))]
    assert all(API_KEY not in text for text in texts)
    assert "[redacted]" in str(garbled.value.body)


async def test_a_key_echoed_in_json_escapes_is_replaced_too(stub: Stub) -> None:
    key = 'tvs/quoted"key'
    escaped = json.dumps(key)[1:-1]
    stub.reply(403, raw=b'{"error": "not for ' + escaped.replace("/", "\\/").encode() + b'"}')
    async with TavusClient(api_key=key, base_url=stub.url) as client:
        with pytest.raises(PermissionDeniedError) as info:
            await client.faces.get("r1")
    assert info.value.message == "not for [redacted]"


async def test_a_short_key_is_redacted_from_errors_and_leaves_data_alone(stub: Stub) -> None:
    # A test's short key ("test", "k3y") is looked for in error bodies only: replacing it in
    # data would mangle it ("https://cdn.test/…"). A one- or two-letter key is not looked for
    # at all (it would cut up every word of a message).
    stub.reply(200, {"face_id": "r1", "status": "started", "face_name": "test face"})
    stub.reply(401, {"error": "bad key test"})
    stub.reply(401, {"error": "bad key k"})
    async with TavusClient(api_key="test", base_url=stub.url) as client:
        face = await client.faces.get("r1")
        with pytest.raises(AuthenticationError) as refused:
            await client.faces.get("r1")
    async with TavusClient(api_key="k", base_url=stub.url) as client:
        with pytest.raises(AuthenticationError) as short:
            await client.faces.get("r1")
    assert face.face_name == "test face"
    assert refused.value.message == "bad key [redacted]"
    assert short.value.message == "bad key k"
