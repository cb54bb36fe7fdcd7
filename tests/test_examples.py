"""The code in README.md and docs/ is the code users copy: it must compile, and run.

Every Python block is compiled. The callback example runs as written (only its placeholder
public URL is swapped for the test server's): it trains through the web app, and stopping the
app closes the client.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from tavus_async import TavusClient
from tavus_async.emulator import Emulator, Rule, Scenario

from .conftest import API_KEY

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
