"""The code in README.md and docs/ is the code users copy: it must compile, and run.

Every Python block is compiled. The callback example runs as written (only its placeholder
public URL is swapped for the test server's): it trains through the web app, and stopping the
app closes the client.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tavus_async import TavusClient
from tavus_async.emulator import Emulator, Rule, Scenario

from .conftest import API_KEY, pending_tasks

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def _blocks() -> list[tuple[str, str]]:
    sources = [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]
    return [
        (f"{path.relative_to(ROOT)}#{i}", block)
        for path in sources
        if path.exists()
        for i, block in enumerate(BLOCK.findall(path.read_text()))
    ]


@pytest.mark.parametrize(("where", "code"), _blocks(), ids=[w for w, _ in _blocks()])
def test_every_python_block_compiles(where: str, code: str) -> None:
    # Snippets may be written as in the asyncio REPL (`python -m asyncio`): top-level await.
    compile(code, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def _callback_example() -> str:
    found = [c for _, c in _blocks() if "client.callbacks.app()" in c and "web.Application" in c]
    assert found, "README lost its callback example"
    return found[0]


async def test_the_callback_example_trains_and_closes_its_client(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TAVUS_API_KEY", API_KEY)
    monkeypatch.setenv("TAVUS_BASE_URL", emulator.url)
    emulator.add_rule(Rule(url_contains="rio", scenario=Scenario(duration=600.0, curve="linear")))
    namespace: dict[str, Any] = {}
    server = TestServer(web.Application())  # only to learn a free port first
    await server.start_server()
    port = server.port
    await server.close()
    code = _callback_example().replace("https://my.app/", f"http://127.0.0.1:{port}/")
    # Runs the documented example:
    exec(compile(code, "README.md callback example", "exec"), namespace)  # noqa: S102
    app, client = namespace["app"], namespace["client"]
    assert isinstance(client, TavusClient)
    http = TestClient(TestServer(app, port=port))
    await http.start_server()
    try:
        answer = await http.post(
            "/train",
            json={"video_url": "https://cdn.test/rio.mp4"},
            timeout=aiohttp.ClientTimeout(total=None),  # the handler waits for the training
        )
        body = await answer.json()
        assert answer.status == 200, body
        assert body["status"] == "completed"
        # The create, a check when the wait starts, one confirming GET after the callback.
        assert emulator.counters[f"GET /v2/faces/{body['face_id']}"] <= 2
        assert emulator.deliveries
    finally:
        await http.close()  # the app's cleanup runs
    assert client.closed


def _web_app_example() -> str:
    found = [c for _, c in _blocks() if "app.cleanup_ctx.append(tavus)" in c]
    assert found, "docs/index.md lost its web app example"
    return found[0]


@pytest.fixture
def web_app_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """The web app example's client reaches the emulator (through its environment)."""
    monkeypatch.setenv("TAVUS_API_KEY", API_KEY)
    monkeypatch.setenv("TAVUS_BASE_URL", emulator.url)
    return emulator


@contextlib.asynccontextmanager
async def _web_app() -> AsyncIterator[
    tuple[TestClient[web.Request, web.Application], web.Application, dict[str, Any]]
]:
    """A fresh run of the web app example, served; stopping it runs the app's cleanup."""
    namespace: dict[str, Any] = {"__name__": "web_app_example"}
    # Runs the documented example:
    exec(compile(_web_app_example(), "docs/index.md web app example", "exec"), namespace)  # noqa: S102
    app = namespace["app"]
    http = TestClient(TestServer(app))
    await http.start_server()
    try:
        yield http, app, namespace
    finally:
        await http.close()


async def _status(http: TestClient[web.Request, web.Application], face_id: str) -> Any:
    return await (await http.get(f"/faces/{face_id}")).json()


async def test_the_web_app_example_trains_in_the_background_and_recovers(
    web_app_env: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = web_app_env
    left = emulator.add_face(name="left by a previous run", started_ago=3600.0)
    async with _web_app() as (http, app, namespace):
        answer = await http.post("/faces", json={"video_url": "https://cdn.test/rio.mp4"})
        assert answer.status == 202
        face_id = (await answer.json())["face_id"]
        assert (await http.get("/faces/r0000000000")).status == 404
        # The face left training by a previous run was re-attached at startup.
        assert (await _status(http, left))["status"] == "started"
        reads = emulator.counters[f"GET /v2/faces/{face_id}"]
        for _ in range(3):  # the status page reads the job, not Tavus
            assert (await _status(http, face_id))["status"] == "started"
        assert emulator.counters[f"GET /v2/faces/{face_id}"] == reads
        await asyncio.sleep(5 * 3600)
        for done in (face_id, left):
            shown = await _status(http, done)
            assert shown == {"status": "completed", "progress": 1.0, "eta_seconds": None}
        assert sorted(capsys.readouterr().out.split()) == sorted(
            ["trained:", face_id, "trained:", left]
        )
    # Stopped: the app's cleanup stopped the waits and closed the client.
    assert namespace["CLIENT"] in app
    assert app[namespace["CLIENT"]].closed
    assert not pending_tasks()


async def test_stopping_the_web_app_stops_the_waits_not_the_trainings(
    web_app_env: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator = web_app_env
    async with _web_app() as (http, _, _):
        answer = await http.post("/faces", json={"video_url": "https://cdn.test/rio.mp4"})
        face_id = (await answer.json())["face_id"]
        await asyncio.sleep(3600)
    assert not pending_tasks()
    assert capsys.readouterr().out == ""  # no wait ended in an error, none was left hanging
    # Nothing was sent to stop the training; the next run picks it up and sees it finish.
    assert not emulator.calls("DELETE")
    assert not emulator.calls("PATCH")
    async with _web_app() as (http, _, _):
        assert (await _status(http, face_id))["status"] == "started"
        await asyncio.sleep(4 * 3600)
        assert (await _status(http, face_id))["status"] == "completed"
    assert capsys.readouterr().out.split() == ["trained:", face_id]
    # Each startup lists the trainings left running; one create in all.
    assert [r.method for r in emulator.calls(path="/v2/faces")] == ["GET", "POST", "GET"]
