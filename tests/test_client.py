"""TavusClient configuration and lifecycle: env fallbacks, sessions, close, secrecy."""

from __future__ import annotations

import asyncio
import gc
import pydoc
import re
import threading
import warnings
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tavus_async import (
    APITimeoutError,
    AuthenticationError,
    ClientClosedError,
    EventLoopError,
    InvalidArgumentError,
    PollPolicy,
    RetryPolicy,
    ServerError,
    TavusClient,
    TavusError,
)
from tavus_async.emulator import Emulator

from .conftest import API_KEY, Stub


def test_api_key_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAVUS_API_KEY", API_KEY)
    monkeypatch.delenv("TAVUS_BASE_URL", raising=False)
    client = TavusClient()
    assert client.base_url == "https://tavusapi.com"


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TAVUS_API_KEY", raising=False)
    with pytest.raises(InvalidArgumentError, match="TAVUS_API_KEY"):
        TavusClient()
    with pytest.raises(InvalidArgumentError, match="TAVUS_API_KEY"):
        TavusClient(api_key="   ")


def test_base_url_from_environment_and_normalised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAVUS_BASE_URL", "http://127.0.0.1:8089/")
    assert TavusClient(api_key=API_KEY).base_url == "http://127.0.0.1:8089"
    explicit = TavusClient(api_key=API_KEY, base_url="https://tavusapi.com/v2")
    assert explicit.base_url == "https://tavusapi.com"  # /v2 is ours to add
    with pytest.raises(InvalidArgumentError, match="base_url"):
        TavusClient(api_key=API_KEY, base_url="tavusapi.com")


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"timeout": 0}, InvalidArgumentError),
        ({"timeout": -1}, InvalidArgumentError),
        ({"timeout": float("nan")}, InvalidArgumentError),
        ({"timeout": float("inf")}, InvalidArgumentError),
        ({"timeout": 86_400 * 7}, InvalidArgumentError),
        ({"timeout": "30"}, TypeError),
        ({"retry": "twice"}, TypeError),
        ({"poll": {"timeout": 5}}, TypeError),
        ({"session": object()}, TypeError),
        ({"api_key": 12345}, TypeError),
        ({"max_polls_per_second": 0}, InvalidArgumentError),
    ],
)
def test_bad_options_are_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    options: dict[str, object] = {"api_key": API_KEY, **kwargs}
    with pytest.raises(error):
        TavusClient(**options)  # type: ignore[arg-type]  # wrong on purpose


@pytest.mark.parametrize(
    ("base_url", "says"),
    [
        ("https://proxy.test/tavus?region=eu", "without a query"),
        ("https://proxy.test/tavus#v2", "without a query or fragment"),
        ("https://proxy.test/?", "without a query"),
        ("https://user:hunter2@proxy.test/tavus", "credentials"),
        ("https://hunter2@proxy.test", "credentials"),
        ("ftp://proxy.test", "absolute http(s) URL"),
        ("proxy.test:8080", "absolute http(s) URL"),
    ],
)
def test_a_base_url_that_cannot_be_the_api_root_is_refused(base_url: str, says: str) -> None:
    # A query or fragment would swallow the paths appended to it; credentials would show in
    # every error's URL, log line and the client's repr (the message leaves them out too).
    with pytest.raises(InvalidArgumentError, match=re.escape(says)) as info:
        TavusClient(api_key=API_KEY, base_url=base_url)
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("base_url", "root"),
    [
        ("https://proxy.test/tavus/", "https://proxy.test/tavus"),
        ("https://proxy.test/tavus/v2", "https://proxy.test/tavus"),
        ("https://proxy.test:8443", "https://proxy.test:8443"),
    ],
)
def test_a_base_url_under_a_path_is_kept(base_url: str, root: str) -> None:
    assert TavusClient(api_key=API_KEY, base_url=base_url).base_url == root


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"timeout": 0}, InvalidArgumentError),
        ({"timeout": 31 * 86_400}, InvalidArgumentError),
        ({"initial_interval": -5}, InvalidArgumentError),
        ({"min_interval": 600, "max_interval": 300}, InvalidArgumentError),
        ({"jitter": 1.0}, InvalidArgumentError),
        ({"timeout": "8h"}, TypeError),
        ({"clock": 5}, TypeError),
    ],
)
def test_bad_poll_policies_are_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    with pytest.raises(error):
        PollPolicy(**kwargs)  # type: ignore[arg-type]  # wrong on purpose


def test_bad_retry_policies_are_refused() -> None:
    with pytest.raises(InvalidArgumentError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(TypeError):
        RetryPolicy(max_attempts=2.5)  # type: ignore[arg-type]  # wrong on purpose


def _session(client: TavusClient) -> aiohttp.ClientSession | None:
    # A call, not an attribute: mypy would keep the attribute narrowed across requests.
    return client._http._sessions.pooled


async def test_owned_session_is_created_once_and_closed(emulator: Emulator) -> None:
    client = TavusClient(api_key=API_KEY, base_url=emulator.url)
    assert _session(client) is None  # created lazily, inside the loop
    await client.faces.get("r4067604db72")
    session = _session(client)
    assert session is not None
    await client.faces.get("r4067604db72")
    assert _session(client) is session  # reused for every request
    await client.close()
    assert session.closed
    await client.close()  # idempotent
    assert client.closed


async def test_borrowed_session_is_never_closed(emulator: Emulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with TavusClient(api_key=API_KEY, base_url=emulator.url, session=session) as client:
            face = await client.faces.get("r4067604db72")
            assert face.face_name == "Anna"
        assert client.closed
        assert not session.closed
        # Still usable by its owner.
        async with session.get(f"{emulator.url}/v2/voices", headers={"x-api-key": API_KEY}) as r:
            assert r.status == 200


async def test_use_after_close_raises_clearly(emulator: Emulator) -> None:
    client = TavusClient(api_key=API_KEY, base_url=emulator.url)
    await client.close()
    with pytest.raises(ClientClosedError, match="closed"):
        await client.faces.get("r4067604db72")
    with pytest.raises(ClientClosedError):
        _ = await client.faces.create(train_video_url="https://cdn.test/v.mp4")
    with pytest.raises(ClientClosedError):
        async with client:
            pass
    assert emulator.requests == []


async def test_closed_borrowed_session_is_reported(emulator: Emulator) -> None:
    session = aiohttp.ClientSession()
    await session.close()
    async with TavusClient(api_key=API_KEY, base_url=emulator.url, session=session) as client:
        with pytest.raises(ClientClosedError, match="borrowed"):
            await client.faces.get("r4067604db72")


async def test_wrong_key_is_authentication_error_without_the_key(emulator: Emulator) -> None:
    wrong = "tvs-wrong-key-1234567890"
    async with TavusClient(api_key=wrong, base_url=emulator.url) as client:
        with pytest.raises(AuthenticationError) as info:
            await client.faces.get("r4067604db72")
    err = info.value
    assert err.status == 401
    assert err.message == "Invalid access token"
    for text in (str(err), repr(err), repr(err.body), err.url):
        assert wrong not in text


async def test_key_never_in_reprs_or_errors(emulator: Emulator) -> None:
    client = TavusClient(api_key=API_KEY, base_url=emulator.url)
    texts = [repr(client), str(client), repr(client._http._key), repr(vars(client._http))]
    texts += [str(vars(client._http)), repr(vars(client)), repr(client._http._headers)]
    assert client._http._headers["x-api-key"] == API_KEY  # it is there, only never shown
    try:
        await client.faces.get("r000000000000")
    except TavusError as exc:
        texts += [str(exc), repr(exc), repr(vars(exc))]
    job = client.faces.job("r4067604db72")
    texts.append(repr(job))
    await client.close()
    assert repr(client) == f"TavusClient(base_url={emulator.url!r}, closed)"
    for text in texts:
        assert API_KEY not in text


# ---------------------------------------------------------------------- one client per loop


def test_a_client_reused_in_a_second_asyncio_run_says_what_to_do() -> None:
    # The emulator runs in a thread of its own; the client is used from two asyncio.run()s
    # and never closed: the second says so in words, and nothing is reported leaked.
    ready = threading.Event()
    found: dict[str, Any] = {}

    def serve() -> None:
        async def main() -> None:
            stop = found["stop"] = asyncio.Event()
            found["loop"] = asyncio.get_running_loop()
            async with Emulator(api_key=API_KEY) as emu:
                found["url"] = emu.url
                ready.set()
                await stop.wait()

        asyncio.run(main())

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        assert ready.wait(10)
        client: TavusClient | None = TavusClient(api_key=API_KEY, base_url=found["url"])

        async def stock() -> list[str]:
            assert client is not None
            return [f.face_id async for f in client.faces.list(face_type="system")]

        async def stock_and_create() -> list[str]:
            # A create opens the client's second, unpooled session: both must go quietly.
            assert client is not None
            _ = await client.faces.create(train_video_url="https://cdn.test/train.mp4")
            return await stock()

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert asyncio.run(stock_and_create())
            with pytest.raises(EventLoopError) as info:
                asyncio.run(stock())
            error, message = type(info.value), str(info.value)
            # Nothing left to hold the client (the traceback's frames would): an unclosed
            # session is reported when it is collected.
            del info
            client = None
            gc.collect()
        assert issubclass(error, TavusError)
        assert issubclass(error, RuntimeError)
        assert "async with TavusClient()" in message
        assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
    finally:
        if "loop" in found:
            found["loop"].call_soon_threadsafe(found["stop"].set)
        thread.join(10)


# ---------------------------------------------------------------------- per-call options


async def test_with_options_sets_a_timeout_and_retries_for_its_calls(stub: Stub) -> None:
    slow = {"sleep": 5.0}

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/slow"):
            await asyncio.sleep(slow["sleep"])
            return web.json_response({"face_id": "slow", "status": "started"})
        if request.path.endswith("/down"):
            return web.json_response({"error": "down"}, status=503)
        return web.json_response({"face_id": "r1", "status": "started"})

    stub.handler = handler
    async with TavusClient(
        api_key=API_KEY, base_url=stub.url, timeout=60, retry=RetryPolicy(max_attempts=3)
    ) as client:
        quick = client.with_options(timeout=1)
        with pytest.raises(APITimeoutError):
            await quick.faces.get("slow")
        assert (await client.faces.get("slow")).face_id == "slow"  # the original waits 60 s
        before = len(stub.seen)
        with pytest.raises(ServerError):
            await client.with_options(max_retries=0).faces.get("down")
        assert len(stub.seen) == before + 1  # one attempt, no retries
        with pytest.raises(ServerError):
            await client.faces.get("down")
        assert len(stub.seen) == before + 4  # the original still retries twice
        # One session, one budget: the copies count on the original; closing one is a no-op.
        assert client.requests_sent == len(stub.seen)
        await quick.close()
        assert not client.closed
        assert (await quick.faces.get("r1")).face_id == "r1"
    assert quick.closed  # closing the original closes its copies
    with pytest.raises(InvalidArgumentError):
        client.with_options(max_retries=1, retry=RetryPolicy())


# ---------------------------------------------------------------------- documentation, time


def test_help_names_the_services() -> None:
    # pydoc.plaintext is documented (pydoc.render_doc's plain renderer), not in typeshed.
    # Pydoc's renderer is untyped:
    text = pydoc.render_doc(TavusClient, renderer=pydoc.plaintext)  # type: ignore[attr-defined]
    for name in ("faces", "replicas", "voices", "conversations", "callbacks"):
        assert f"{name}:" in text, name


def test_tavus_time_scale_speeds_up_waits_for_emulators_only(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("TAVUS_TIME_SCALE", "600")
    local = TavusClient(api_key=API_KEY, base_url="http://127.0.0.1:8089")
    assert local.poll_policy != PollPolicy()  # a scaled clock and sleep
    real = TavusClient(api_key=API_KEY, base_url="https://tavusapi.com")
    assert real.poll_policy == PollPolicy()
    assert "TAVUS_TIME_SCALE is ignored" in caplog.text
    explicit = TavusClient(api_key=API_KEY, base_url="http://127.0.0.1:8089", poll=PollPolicy())
    assert explicit.poll_policy == PollPolicy()
    monkeypatch.setenv("TAVUS_TIME_SCALE", "fast")
    with pytest.raises(InvalidArgumentError, match="TAVUS_TIME_SCALE"):
        TavusClient(api_key=API_KEY, base_url="http://127.0.0.1:8089")
