"""Promises under faults: soak, no duplicate trainings, bad input, clean shutdown, secrets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import random
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tavus_async import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    ClientClosedError,
    Face,
    FaceStatus,
    InvalidArgumentError,
    PollPolicy,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
    TavusClient,
    TavusError,
    TrainingJob,
    TrainingMayHaveStartedError,
)
from tavus_async.emulator import Emulator, Fault

from .conftest import API_KEY, Stub, pending_tasks

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from fault_soak import FAULTS, soak

VIDEO = "https://cdn.test/train.mp4"
IMAGE = "https://cdn.test/me.png"


# --------------------------------------------------------------------------- fault soak


async def test_fault_soak_100_jobs() -> None:
    report = await soak(100, seed=3)
    assert report.problems() == []
    assert report.completed == 80
    assert report.failed_as_expected == 20
    assert 0.15 < report.fault_share < 0.25
    assert set(report.faults) == {f.kind for f in FAULTS}
    assert report.virtual_hours >= 4


# --------------------------------------------------------------------------- duplicates


@pytest.mark.parametrize("resource", ["faces", "replicas"])
@pytest.mark.parametrize("fault", ["store_then_reset", "store_then_500"])
async def test_an_ambiguous_create_is_sent_once_and_can_be_found(
    emulator: Emulator, client: TavusClient, resource: str, fault: str
) -> None:
    emulator.add_fault(Fault(kind=fault, route=f"POST /v2/{resource}"))
    service = client.faces if resource == "faces" else client.replicas
    name = {"faces": "face_name", "replicas": "replica_name"}[resource]
    with pytest.raises(TrainingMayHaveStartedError) as info:
        # Wrong on purpose:
        await service.create(train_video_url=VIDEO, **{name: "Rio"})  # type: ignore[arg-type]
    err = info.value
    assert len(emulator.calls("POST")) == 1  # exactly one POST, never retried
    assert "may have started" in str(err)
    assert f"client.{resource}.recover(name='Rio'" in str(err)
    stored = [f for f in emulator.faces.values() if f.face_type == "user"]
    assert len(stored) == 1  # the training did start
    (found,) = await service.recover(name=err.name, since=err.started_at)
    assert found.face_id == stored[0].face_id


async def test_a_create_that_times_out_after_sending_is_not_retried(emulator: Emulator) -> None:
    emulator.add_fault(Fault(kind="slow", delay=300, route="POST /v2/faces"))
    async with TavusClient(api_key=API_KEY, base_url=emulator.url, timeout=30) as client:
        with pytest.raises(TrainingMayHaveStartedError) as info:
            _ = await client.faces.create(train_video_url=VIDEO)
    assert isinstance(info.value.cause, APITimeoutError)
    assert len(emulator.calls("POST")) == 1


async def test_a_2xx_create_answer_without_an_id(stub: Stub, stub_client: TavusClient) -> None:
    stub.reply(200, {"status": "started"})
    with pytest.raises(TrainingMayHaveStartedError) as info:
        _ = await stub_client.faces.create(train_video_url=VIDEO)
    assert isinstance(info.value.cause, ResponseValidationError)
    assert "$.face_id" in str(info.value)
    assert len(stub.seen) == 1


async def test_a_refused_create_is_not_a_may_have_started(stub: Stub) -> None:
    # Nothing listens on port 9: the connection is refused before anything is sent.
    slept: list[float] = []

    async def no_wait(seconds: float) -> None:
        slept.append(seconds)

    async with TavusClient(
        api_key=API_KEY, base_url="http://127.0.0.1:9", retry=RetryPolicy(sleep=no_wait)
    ) as client:
        with pytest.raises(APIConnectionError) as info:
            _ = await client.faces.create(train_video_url=VIDEO)
    assert not isinstance(info.value, TrainingMayHaveStartedError)
    assert len(slept) == 2  # retried, since it provably never left


class _DropsKeptConnections:
    """Raw HTTP/1.1 that answers the first request on each connection and keeps it open, then
    drops the next request on it unanswered: a server that closed an idle keep-alive
    connection just as the client wrote to it (the FIN and the request crossing)."""

    def __init__(self) -> None:
        self.answered: list[str] = []
        self.dropped: list[str] = []
        self.url = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            method, path = await self._read(reader)
            self.answered.append(f"{method} {path}")
            face = {"face_id": path.rsplit("/", 1)[-1], "status": "started"}
            if method == "POST":
                face["face_id"] = f"f{len(self.answered)}"
            if path == "/v2/conversations":
                face = {"conversation_id": f"c{len(self.answered)}", "status": "active"}
            body = json.dumps(face).encode()
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n"
            writer.write(head.encode() + b"Content-Type: application/json\r\n\r\n" + body)
            await writer.drain()
            method, path = await self._read(reader)
            self.dropped.append(f"{method} {path}")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed the connection: nothing more was coming
        finally:
            writer.close()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[str, str]:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        length = 0
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        await reader.readexactly(length)
        method, path, _ = head.split(" ", 2)
        return method, path


async def test_a_create_never_rides_a_connection_the_server_may_have_closed() -> None:
    # On a kept-alive connection, a server's idle close and our POST can cross; the failure
    # then looks like a create that reached Tavus, and we could only raise
    # TrainingMayHaveStartedError. Creates go out on a connection of their own instead.
    server = _DropsKeptConnections()
    listener = await asyncio.start_server(server.serve, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        async with TavusClient(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}") as client:
            await client.faces.get("f0")  # leaves a kept-alive connection in the pool
            first = await client.faces.create(train_video_url=VIDEO)
            second = await client.replicas.create(train_video_url=VIDEO)
            talk = await client.conversations.create(face_id="f0")
            await client.faces.get("f0")  # the pooled connection again: dropped, then resent
    finally:
        listener.close()
        await listener.wait_closed()
    assert (first.face_id, second.face_id, talk.conversation_id) == ("f2", "f3", "c4")
    get = "GET /v2/faces/f0"
    posts = ["POST /v2/faces", "POST /v2/replicas", "POST /v2/conversations"]
    assert server.answered == [get, *posts, get]
    # The server does drop what rides a kept connection: only the GET did (aiohttp resends
    # an idempotent request once on a new connection; a POST it cannot).
    assert server.dropped == [get]


# --------------------------------------------------------------------------- bad input


Call = Callable[[TavusClient], Awaitable[Any]]


def _create(**kwargs: Any) -> Call:
    return lambda c: c.faces.create(**kwargs)


async def _drain(iterator: Any) -> list[Any]:
    return [item async for item in iterator]


CLIENT_SIDE: list[tuple[str, Call, type[Exception], str]] = [
    ("both URLs", _create(train_video_url=VIDEO, train_image_url=IMAGE), InvalidArgumentError,
     "exactly one"),
    ("no URL", _create(face_name="x"), InvalidArgumentError, "exactly one"),
    ("image without voice", _create(train_image_url=IMAGE), InvalidArgumentError, "voice"),
    ("voice twice", _create(train_image_url=IMAGE, voice_name="anna", default_voice_id="v1"),
     InvalidArgumentError, "not both"),
    ("relative URL", _create(train_video_url="videos/v.mp4"), InvalidArgumentError,
     "train_video_url"),
    ("ftp URL", _create(train_video_url="ftp://x.test/v.mp4"), InvalidArgumentError, "http(s)"),
    ("URL without host", _create(train_video_url="https:///v.mp4"), InvalidArgumentError,
     "absolute"),
    ("URL with spaces", _create(train_video_url="https://x.test/my video.mp4"),
     InvalidArgumentError, "not a valid URL"),
    ("bad port", _create(train_video_url="https://x.test:99999/v.mp4"), InvalidArgumentError,
     "not a valid URL"),
    ("relative callback", _create(train_video_url=VIDEO, callback_url="/hook"),
     InvalidArgumentError, "callback_url"),
    ("empty name", _create(train_video_url=VIDEO, face_name=""), InvalidArgumentError, "blank"),
    ("blank name", _create(train_video_url=VIDEO, face_name=" \t "), InvalidArgumentError,
     "blank"),
    ("name too long", _create(train_video_url=VIDEO, face_name="x" * 300), InvalidArgumentError,
     "255"),
    ("name of wrong type", _create(train_video_url=VIDEO, face_name=42), TypeError, "face_name"),
    ("URL of wrong type", _create(train_video_url=b"https://x.test"), TypeError,
     "train_video_url"),
    ("auto-fix with video", _create(train_video_url=VIDEO, auto_fix_training_image=True),
     InvalidArgumentError, "image training"),
    ("flag of wrong type", _create(train_video_url=VIDEO, background_green_screen=1), TypeError,
     "True or False"),
    ("validate without voice", _create(train_image_url=IMAGE, default_voice_id="v1",
     validate_voice=True), InvalidArgumentError, "voice_name"),
    ("id with slash", lambda c: c.faces.get("r1/r2"), InvalidArgumentError, "not allowed"),
    ("id with ?", lambda c: c.faces.get("r1?verbose=true"), InvalidArgumentError, "not allowed"),
    ("id with #", lambda c: c.faces.delete("r1#x"), InvalidArgumentError, "not allowed"),
    ("id with ..", lambda c: c.faces.rename("..", "x"), InvalidArgumentError, "not allowed"),
    ("id with space", lambda c: c.replicas.get("r 1"), InvalidArgumentError, "not allowed"),
    ("empty id", lambda c: c.faces.get(""), InvalidArgumentError, "empty"),
    # Wrong on purpose:
    ("id of wrong type", lambda c: c.faces.get(None), TypeError,  # type: ignore[arg-type]
     "face_id"),
    ("zero deadline", lambda c: c.faces.job("r1").wait(timeout=0), InvalidArgumentError,
     "timeout"),
    ("negative deadline", lambda c: c.faces.job("r1").wait(timeout=-5), InvalidArgumentError,
     "timeout"),
    ("NaN deadline", lambda c: c.faces.job("r1").wait(timeout=math.nan), InvalidArgumentError,
     "finite"),
    ("infinite deadline", lambda c: c.faces.job("r1").wait(timeout=math.inf),
     InvalidArgumentError, "finite"),
    ("absurd deadline", lambda c: c.faces.job("r1").wait(timeout=365 * 86400),
     InvalidArgumentError, "30 days"),
    # Wrong on purpose:
    ("deadline as text", lambda c: c.faces.job("r1").wait(timeout="8h"),  # type: ignore[arg-type]
     TypeError, "timeout"),
    # Wrong on purpose:
    ("until of another kind", lambda c: c.faces.job("r1").wait(until="soon"),  # type: ignore[arg-type]
     InvalidArgumentError, "until"),
    ("page size 0", lambda c: _drain(c.faces.list(page_size=0)), InvalidArgumentError,
     "page_size"),
    ("unknown face type", lambda c: _drain(c.faces.list(face_type="stock")),
     InvalidArgumentError, "face_type"),
    ("conversation face twice", lambda c: c.conversations.create(
        face=Face(face_id="r1", status=FaceStatus.COMPLETED), face_id="r1"),
     InvalidArgumentError, "not both"),
    ("conversation properties list", lambda c: c.conversations.create(face_id="r1",
     properties=[1]), TypeError, "properties"),  # type: ignore[arg-type]  # wrong on purpose
    ("naive since", lambda c: c.faces.recover(since=__import__("datetime").datetime(2026, 1, 1)),
     InvalidArgumentError, "timezone"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("label", "call", "error", "words"), CLIENT_SIDE, ids=[row[0] for row in CLIENT_SIDE]
)
async def test_client_side_bad_input(
    emulator: Emulator,
    client: TavusClient,
    label: str,
    call: Call,
    error: type[Exception],
    words: str,
) -> None:
    with pytest.raises(error) as info:
        await call(client)
    assert type(info.value) is error or isinstance(info.value, error)
    assert words in str(info.value), str(info.value)
    assert emulator.requests == []  # refused before any request


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"timeout": -1}, InvalidArgumentError),
        ({"timeout": math.inf}, InvalidArgumentError),
        ({"timeout": 7200}, InvalidArgumentError),
        ({"retry": RetryPolicy, "timeout": 5}, TypeError),
    ],
)
def test_absurd_client_options(kwargs: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        TavusClient(api_key=API_KEY, **kwargs)
    with pytest.raises(InvalidArgumentError):
        PollPolicy(timeout=-1)
    with pytest.raises(InvalidArgumentError):
        RetryPolicy(max_attempts=1000)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"expected_duration": (3600.0,)}, InvalidArgumentError, "(low, high)"),
        ({"expected_duration": "3-4h"}, TypeError, "(low, high)"),
        ({"expected_duration": (4 * 3600.0, 3 * 3600.0)}, InvalidArgumentError, "low <= high"),
        ({"expected_duration": (10.0, 20.0)}, InvalidArgumentError, "60 <= low"),
        ({"expected_duration": (3600.0, 30 * 86400.0)}, InvalidArgumentError, "high <= 172800"),
        ({"expected_duration": (3600.0, math.nan)}, InvalidArgumentError, "finite"),
        ({"window_interval": 0}, InvalidArgumentError, "window_interval"),
        ({"finish_interval": -1}, InvalidArgumentError, "finish_interval"),
        ({"min_average_interval": 0}, InvalidArgumentError, "min_average_interval"),
        ({"min_average_interval": "2m"}, TypeError, "min_average_interval"),
        ({"learn_duration": "yes"}, TypeError, "learn_duration"),
    ],
)
def test_absurd_poll_policies(kwargs: dict[str, Any], error: type[Exception], words: str) -> None:
    with pytest.raises(error) as info:
        PollPolicy(**kwargs)
    assert words in str(info.value)


SERVER_SIDE: list[tuple[str, int, bytes, str, type[Exception] | None, str]] = [
    ("HTML error page", 502, b"<html><head><title>502 Bad Gateway</title></head></html>",
     "text/html", ServerError, "HTML page: 502 Bad Gateway"),
    ("HTML 404 page", 404, b"<html><body><h1>Not Found</h1></body></html>", "text/html",
     TavusError, "Not Found"),
    ("empty 401", 401, b"", "application/json", AuthenticationError, "HTTP 401"),
    ("empty body on 200", 200, b"", "application/json", ResponseValidationError, "null @ $"),
    ("text on 200", 200, b"OK", "text/plain", ResponseValidationError, "not JSON"),
    ("JSON null", 200, b"null", "application/json", ResponseValidationError, "got null"),
    ("JSON array", 200, b"[{\"face_id\": \"r1\"}]", "application/json", ResponseValidationError,
     "got an array"),
    ("JSON string", 200, b"\"r1\"", "application/json", ResponseValidationError, "a string"),
    ("missing status", 200, b"{\"face_id\": \"r1\"}", "application/json",
     ResponseValidationError, "$.status"),
    ("missing face_id is the one asked for", 200, b"{\"status\": \"started\"}",
     "application/json", None, "started"),
    ("face_id number", 200, b"{\"face_id\": 7, \"status\": \"started\"}", "application/json",
     ResponseValidationError, "$.face_id"),
    ("status number", 200, b"{\"face_id\": \"r1\", \"status\": 1}", "application/json",
     ResponseValidationError, "$.status"),
    ("another face", 200, b"{\"face_id\": \"r2\", \"status\": \"completed\"}",
     "application/json", ResponseValidationError, "'r2' is not the 'r1' asked for @ $.face_id"),
    ("progress number is tolerated", 200, (b"{\"face_id\": \"r1\", \"status\": "
     b"\"started\", \"training_progress\": 45}"), "application/json", None, "started"),
    ("unreadable date is tolerated", 200, (b"{\"face_id\": \"r1\", \"status\": "
     b"\"started\", \"created_at\": \"24/01/2024\"}"), "application/json", None, "started"),
    ("truncated JSON", 200, b"{\"face_id\": \"r1\", \"sta", "application/json",
     ResponseValidationError, "not JSON"),
    ("huge HTML error", 500, b"<html><body>" + b"x" * 3_000_000 + b"</body></html>",
     "text/html", ServerError, "HTML page"),
    ("unknown status is tolerated", 200, b"{\"face_id\": \"r1\", \"status\": \"rendering\"}",
     "application/json", None, "rendering"),
    ("other date shapes are tolerated", 200, (b"{\"face_id\": \"r1\", \"status\": "
     b"\"started\", \"created_at\": \"2024-01-24 07:14\"}"), "application/json", None, "started"),
    ("huge valid body is tolerated", 200, (b"{\"face_id\": \"r1\", \"status\": \"started\", "
     b"\"padding\": \"") + b"y" * 2_000_000 + b"\"}", "application/json", None, "started"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("label", "status", "body", "content_type", "error", "words"),
    SERVER_SIDE,
    ids=[row[0] for row in SERVER_SIDE],
)
async def test_server_side_garbage(
    stub: Stub,
    label: str,
    status: int,
    body: bytes,
    content_type: str,
    error: type[Exception] | None,
    words: str,
) -> None:
    stub.reply(status, raw=body, content_type=content_type)
    async with TavusClient(
        api_key=API_KEY, base_url=stub.url, retry=RetryPolicy(max_attempts=1)
    ) as client:
        if error is None:
            face = await client.faces.get("r1")
            assert words in str(face.status)
            return
        # Only the expected, typed error may come out: anything else fails the test.
        with pytest.raises(error) as info:
            await client.faces.get("r1")
    exc = info.value
    assert isinstance(exc, TavusError)
    assert not isinstance(exc, (KeyError, AttributeError, aiohttp.ClientError))
    text = str(exc)
    assert words in text, text
    assert len(text) < 2000  # a snippet, never the whole body


async def test_list_responses_of_the_wrong_shape(stub: Stub) -> None:
    async with TavusClient(
        api_key=API_KEY, base_url=stub.url, retry=RetryPolicy(max_attempts=1)
    ) as client:
        for body, words in [
            ("[]", "got a string @ $"),
            ([{"face_id": "r1"}], "$.data[0].status"),  # a bare array is a page
            ({"items": []}, "got null @ $.data"),
            ({"data": {}}, "got an object @ $.data"),
            ({"data": [{"face_id": "r1"}], "total_count": 1}, "$.data[0].status"),
        ]:
            stub.queue.clear()
            stub.reply(200, body)
            with pytest.raises(ResponseValidationError) as info:
                [f async for f in client.faces.list()]
            assert words in str(info.value)


async def test_a_null_data_is_an_empty_page(stub: Stub) -> None:
    # How servers that serialise an empty list as null (Go's nil slices) answer.
    async with TavusClient(api_key=API_KEY, base_url=stub.url) as client:
        stub.reply(200, {"data": None, "total_count": 0})
        assert await client.faces.list() == []
        stub.queue.clear()
        stub.reply(200, {"data": [{"face_id": "r1", "status": "started"}]})
        stub.reply(200, {"data": None})
        assert [f.face_id for f in await client.faces.list()] == ["r1"]


# --------------------------------------------------------------------------- shutdown


async def test_closing_the_client_while_100_jobs_wait(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    asyncio.get_running_loop().set_debug(True)
    caplog.set_level(logging.WARNING)
    async with aiohttp.ClientSession() as borrowed:
        client = TavusClient(api_key=API_KEY, base_url=emulator.url, session=borrowed)
        jobs = [await client.faces.create(train_video_url=VIDEO) for _ in range(100)]
        waiters = [asyncio.ensure_future(job.wait()) for job in jobs]
        await asyncio.sleep(1800)
        await client.close()
        results = await asyncio.gather(*waiters, return_exceptions=True)
        assert all(isinstance(r, ClientClosedError) for r in results)
        await asyncio.sleep(0)
        assert not pending_tasks()
        # The borrowed session was left open, and still works for its owner.
        assert not borrowed.closed
        async with borrowed.get(
            f"{emulator.url}/v2/faces/{jobs[0].face_id}", headers={"x-api-key": API_KEY}
        ) as response:
            assert response.status == 200
    assert {r.method for r in emulator.requests} == {"POST", "GET"}
    noisy = [r for r in caplog.records if r.name.startswith(("asyncio", "aiohttp"))]
    assert noisy == [], [r.getMessage() for r in noisy]


async def test_cancelling_waiters_never_deletes_or_renames(
    emulator: Emulator, client: TavusClient
) -> None:
    jobs = [await client.faces.create(train_video_url=VIDEO) for _ in range(20)]
    waiters = [asyncio.ensure_future(job.wait()) for job in jobs for _ in range(2)]
    await asyncio.sleep(3600)
    for waiter in waiters:
        waiter.cancel()
    await asyncio.gather(*waiters, return_exceptions=True)
    await asyncio.sleep(0)
    assert not pending_tasks()
    assert {r.method for r in emulator.requests} == {"POST", "GET"}
    states = {
        f.state(emulator.now()).status for f in emulator.faces.values() if f.face_type == "user"
    }
    assert states == {"started"}


async def test_a_wait_cancelled_at_any_moment_leaves_training_and_job_whole(
    emulator: Emulator, client: TavusClient
) -> None:
    # Waits cancelled at random moments: between polls, in a fault's backoff, in a
    # Retry-After pause, with a slow read in flight, with an async hook mid-call. Whatever
    # the moment, nothing but GETs follow the creates, no task is left behind, the job's
    # state still serializes, and the next wait (of this job, or of its state in a fresh
    # handle) sees the training through.
    rng = random.Random(11)
    emulator.add_fault(Fault(kind="slow", delay=20.0, rate=0.2, route="GET /v2/faces/*"))
    emulator.add_fault(Fault(kind="server_error", rate=0.15, route="GET /v2/faces/*"))
    emulator.add_fault(
        Fault(kind="rate_limit", rate=0.05, retry_after=45.0, route="GET /v2/faces/*")
    )
    jobs = [await client.faces.create(train_video_url=VIDEO) for _ in range(10)]
    hooked: list[float] = []

    async def slow_hook(face: Face) -> None:
        hooked.append(face.progress or 0.0)
        await asyncio.sleep(rng.uniform(0.0, 30.0))

    async def cancel_waits(job: TrainingJob[Face]) -> None:
        for _ in range(4):
            waiter = asyncio.ensure_future(job.wait(on_update=slow_hook))
            # Right away, within a read's round trip, or minutes in.
            await asyncio.sleep(rng.choice((0.0, rng.uniform(0.0, 25.0), rng.uniform(0, 900))))
            assert not waiter.done()  # hours of training left
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            json.loads(json.dumps(job.state))  # a cancelled read leaves a state to carry on

    await asyncio.gather(*(cancel_waits(job) for job in jobs))
    await asyncio.sleep(0)
    assert not pending_tasks()
    assert hooked  # the hook was running when some of them were cancelled
    assert {"slow", "server_error", "rate_limit"} <= set(emulator.faults.counts)
    assert {r.method for r in emulator.requests} == {"POST", "GET"}
    assert all(
        emulator.faces[job.face_id].state(emulator.now()).status == "started" for job in jobs
    )
    # Half the jobs waited for again as they are, half from their state in a fresh handle.
    handles = [
        job if i % 2 else client.faces.job(job.face_id, state=job.state)
        for i, job in enumerate(jobs)
    ]
    faces = await asyncio.gather(*(handle.wait() for handle in handles))
    assert {face.status for face in faces} == {FaceStatus.COMPLETED}
    assert {r.method for r in emulator.requests} == {"POST", "GET"}
    await asyncio.sleep(0)
    assert not pending_tasks()


# --------------------------------------------------------------------------- secrets


async def test_the_key_appears_nowhere(
    emulator: Emulator, stub: Stub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    errors: list[BaseException] = []
    emulator.add_fault(Fault(kind="server_error", times=2, route="GET /v2/faces/*"))
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as client:
        texts += [repr(client), repr(client.callbacks), repr(client.retry_policy)]
        job = await client.faces.create(train_video_url=VIDEO, face_name="Rio")
        texts += [repr(job), repr(await job)]
        for call in (
            lambda: client.faces.get("r000000000000"),
            lambda: client.faces.create(train_video_url="nope"),
            lambda: client.conversations.get("c000"),
        ):
            try:
                await call()
            except Exception as exc:
                errors.append(exc)
    async with TavusClient(api_key=API_KEY, base_url=stub.url) as stubbed:
        for status in (401, 403, 429, 500):
            stub.queue.clear()
            stub.reply(status, {"message": "no"}, headers={"Retry-After": "1"})
            try:
                await stubbed.faces.get("r1")
            except Exception as exc:
                errors.append(exc)
    assert len(errors) == 7
    for error in errors:
        texts += [str(error), repr(error), repr(getattr(error, "body", None)), str(vars(error))]
    texts += [record.getMessage() for record in caplog.records]
    texts += [json.dumps(entry.to_json()) for entry in emulator.requests]
    assert any(r.levelno == logging.DEBUG for r in caplog.records)  # DEBUG was captured
    for text in texts:
        assert API_KEY not in text


# ------------------------------------------------------------------ any answer, any call

_WORDS = ["face_id", "replica_id", "status", "data", "total_count", "voice_id", "voice_name",
          "conversation_id", "conversation_url", "training_progress", "created_at", "error",
          "message", "face_name", "replica_name", "model_name", "finetune_status", "x"]  # fmt: skip
_LEAVES: list[Any] = [None, True, 0, -1, 1.5, 1e308, "", "completed", "error", "started", "45/100",
           "2024-01-24T07:14:03.327Z", "r1", [], {}]  # fmt: skip


_RETRY_AFTERS = ["1", "-1", "soon", "1e9", "Wed, 21 Oct 2015 07:28:00 GMT"]


def _garbage(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.35:
        return rng.choice(_LEAVES)
    if roll < 0.55:
        return [_garbage(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(_WORDS): _garbage(rng, depth + 1) for _ in range(rng.randint(0, 6))}


def _answer(rng: random.Random) -> web.Response:
    """A random answer: any status, a face-like or any JSON body, bytes, odd headers."""
    status = rng.choice([200, 200, 200, 201, 204, 400, 401, 404, 429, 500, 503, 302, 418])
    headers = {}
    if rng.random() < 0.2:
        headers["Retry-After"] = rng.choice(
            ["1", "-1", "soon", "1e9", "Wed, 21 Oct 2015 07:28 GMT"]
        )
    if status == 302 and rng.random() < 0.7:
        headers["Location"] = rng.choice(["/v2/faces/r1", "http://elsewhere.test/", "", "::::"])
    roll = rng.random()
    if roll < 0.1:
        raw = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 30)))
        return web.Response(status=status, body=raw, headers=headers)
    if roll < 0.5:
        body: Any = {"face_id": "r1", "status": rng.choice(["started", "completed", "error", 5])}
        body.update({rng.choice(_WORDS): _garbage(rng, 2) for _ in range(rng.randint(0, 4))})
    elif roll < 0.7:
        body = {"data": [_garbage(rng, 1) for _ in range(rng.randint(0, 4))], "total_count": 3}
    else:
        body = _garbage(rng)
    return web.json_response(body, status=status, headers=headers)


_CALLS: list[tuple[str, Callable[[TavusClient], Awaitable[Any]]]] = [
    ("faces.get", lambda c: c.faces.get("r1")),
    ("faces.create", lambda c: c.faces.create(train_video_url=VIDEO, face_name="a")),
    ("faces.list", lambda c: c.faces.list(page_size=3)),
    ("faces.rename", lambda c: c.faces.rename("r1", "b")),
    ("faces.delete", lambda c: c.faces.delete("r1")),
    ("faces.recover", lambda c: c.faces.recover(name="a")),
    ("job.poll_once", lambda c: c.faces.job("r1").poll_once()),
    ("job.wait", lambda c: c.faces.job("r1").wait(timeout=30)),
    ("replicas.get", lambda c: c.replicas.get("r1")),
    ("replicas.list", lambda c: c.replicas.list(page_size=2)),
    ("voices.list", lambda c: c.voices.list()),
    ("voices.get", lambda c: c.voices.get("v1")),
    ("conversations.create", lambda c: c.conversations.create(face_id="r1")),
    ("conversations.get", lambda c: c.conversations.get("c1")),
    ("conversations.list", lambda c: c.conversations.list()),
    ("conversations.end", lambda c: c.conversations.end("c1")),
]


async def test_any_answer_to_any_call_is_a_result_or_a_typed_error_in_time(stub: Stub) -> None:
    # A seeded stream of random answers (statuses, JSON of any shape, bytes, odd Retry-After
    # and Location headers) to every service call: each ends in a result or a TavusError,
    # never a KeyError or TypeError, and no wait outlives its deadline (a 429's ten-minute
    # pause held one found this way).
    rng = random.Random(13)

    async def answer(_request: web.Request) -> web.StreamResponse:
        return _answer(rng)

    stub.handler = answer
    retry = RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.02)
    async with TavusClient(api_key=API_KEY, base_url=stub.url, retry=retry) as client:
        for _ in range(25):
            for name, call in _CALLS:
                began = asyncio.get_running_loop().time()
                with contextlib.suppress(TavusError):
                    await call(client)
                took = asyncio.get_running_loop().time() - began
                assert took <= (32 if name == "job.wait" else 300), (name, took)
    assert pending_tasks() == set()
