"""TavusClient configuration and lifecycle: env fallbacks, sessions, close, secrecy."""

from __future__ import annotations

import aiohttp
import pytest

from tavus_async import (
    AuthenticationError,
    ClientClosedError,
    InvalidArgumentError,
    PollPolicy,
    RetryPolicy,
    TavusClient,
    TavusError,
)
from tavus_async.emulator import Emulator

from .conftest import API_KEY


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
        TavusClient(**options)  # type: ignore[arg-type]


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
        PollPolicy(**kwargs)  # type: ignore[arg-type]


def test_bad_retry_policies_are_refused() -> None:
    with pytest.raises(InvalidArgumentError):
        RetryPolicy(max_attempts=0)
    with pytest.raises(TypeError):
        RetryPolicy(max_attempts=2.5)  # type: ignore[arg-type]


async def test_owned_session_is_created_once_and_closed(emulator: Emulator) -> None:
    client = TavusClient(api_key=API_KEY, base_url=emulator.url)
    assert client._http._session is None  # created lazily, inside the loop
    await client.faces.get("r4067604db72")
    session = client._http._session
    assert session is not None
    await client.faces.get("r4067604db72")
    assert client._http._session is session  # reused for every request
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
        await client.faces.create(train_video_url="https://cdn.test/v.mp4")
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
