"""The emulator's replica-era responses fit the public Tavus OpenAPI document."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from tavus_async.emulator import Emulator, Scenario

from .conftest import API_KEY

SPEC = yaml.safe_load((Path(__file__).parent / "data" / "tavus-openapi.yaml").read_text())
VIDEO = "https://cdn.test/train.mp4"


def schema_for(path: str, method: str, status: int) -> dict[str, Any]:
    response = SPEC["paths"][path][method]["responses"][str(status)]
    # A JSON document is Any:
    return response["content"]["application/json"]["schema"]  # type: ignore[no-any-return]


class Api:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base
        self.checked: list[tuple[str, str, int]] = []

    async def call(
        self,
        method: str,
        path: str,
        template: str,
        *,
        status: int,
        key: str | None = API_KEY,
        **kwargs: Any,
    ) -> Any:
        headers = {"x-api-key": key} if key else {}
        async with self.session.request(
            method, self.base + path, headers=headers, **kwargs
        ) as resp:
            assert resp.status == status, await resp.text()
            body = await resp.read()
        data = json.loads(body) if body else None
        responses = SPEC["paths"][template][method.lower()]["responses"]
        content = responses[str(status)].get("content")
        if content is not None:
            OAS30Validator(content["application/json"]["schema"]).validate(data)
        self.checked.append((method, template, status))
        return data


@pytest.fixture
async def api(emulator: Emulator) -> Any:
    async with aiohttp.ClientSession() as session:
        yield Api(session, emulator.url)


async def test_replica_operations_fit_the_spec(emulator: Emulator, api: Api) -> None:
    emulator.scenario = Scenario(duration=600, curve="plateaus")
    created = await api.call(
        "POST",
        "/v2/replicas",
        "/v2/replicas",
        status=200,
        json={
            "train_video_url": VIDEO,
            "replica_name": "Rio",
            "callback_url": "https://hooks.test/x",
            "properties": {"background_green_screen": False},
        },
    )
    replica_id = created["replica_id"]
    assert created["status"] == "started"
    one = f"/v2/replicas/{replica_id}"
    item = "/v2/replicas/{replica_id}"
    training = await api.call("GET", one, item, status=200)
    assert (training["status"], training["training_progress"]) == ("started", "0/100")
    await asyncio.sleep(300)
    middle = await api.call("GET", one + "?verbose=true", item, status=200)
    assert middle["replica_type"] == "user"
    await asyncio.sleep(400)
    done = await api.call("GET", one, item, status=200)
    assert (done["status"], done["training_progress"]) == ("completed", "100/100")
    listing = await api.call("GET", "/v2/replicas?limit=2&page=1", "/v2/replicas", status=200)
    assert len(listing["data"]) == 2
    assert listing["total_count"] > 2
    await api.call(
        "PATCH", one + "/name", "/v2/replicas/{replica_id}/name", status=200,
        json={"replica_name": "Rio 2"},
    )  # fmt: skip
    await api.call("DELETE", one + "?hard=true", item, status=200)
    # Errors.
    await api.call("GET", one, item, status=400)
    await api.call("DELETE", one, item, status=400)
    await api.call(
        "PATCH", one + "/name", "/v2/replicas/{replica_id}/name", status=400,
        json={"replica_name": "x"},
    )  # fmt: skip
    await api.call("POST", "/v2/replicas", "/v2/replicas", status=400, json={"replica_name": "x"})
    await api.call("GET", "/v2/replicas", "/v2/replicas", status=401, key=None)
    await api.call("POST", "/v2/replicas", "/v2/replicas", status=401, key="wrong", json={})
    await api.call("GET", one, item, status=401, key="wrong")
    assert len(api.checked) == 14


async def test_failed_replica_fits_the_spec(emulator: Emulator, api: Api) -> None:
    emulator.scenario = Scenario.failure("video_codec", at=0.5, duration=600)
    created = await api.call(
        "POST", "/v2/replicas", "/v2/replicas", status=200, json={"train_video_url": VIDEO}
    )
    await asyncio.sleep(600)
    failed = await api.call(
        "GET", f"/v2/replicas/{created['replica_id']}", "/v2/replicas/{replica_id}", status=200
    )
    assert failed["status"] == "error"
    assert "H.264" in failed["error_message"]


async def test_voices_fit_the_spec(api: Api) -> None:
    page = await api.call("GET", "/v2/voices?limit=5&page=2", "/v2/voices", status=200)
    assert (page["page"], page["limit"], len(page["data"])) == (2, 5, 5)
    found = await api.call("GET", "/v2/voices?search=ANN", "/v2/voices", status=200)
    assert [v["voice_name"] for v in found["data"]] == ["anna"]
    tagged = await api.call("GET", "/v2/voices?tag=Japanese", "/v2/voices", status=200)
    assert {v["voice_name"] for v in tagged["data"]} == {"hiro", "keiko"}
    await api.call("GET", "/v2/voices", "/v2/voices", status=401, key=None)


async def test_conversations_fit_the_spec(emulator: Emulator, api: Api) -> None:
    emulator.scenario = Scenario(duration=60)
    face = await api.call(
        "POST", "/v2/replicas", "/v2/replicas", status=200, json={"train_video_url": VIDEO}
    )
    conversations = "/v2/conversations"
    one_template = "/v2/conversations/{conversation_id}"
    refused = await api.call(
        "POST", conversations, conversations, status=400, json={"replica_id": face["replica_id"]}
    )
    assert "not ready" in refused["error"]
    await asyncio.sleep(60)
    created = await api.call(
        "POST",
        conversations,
        conversations,
        status=200,
        json={"replica_id": face["replica_id"], "conversation_name": "Hello"},
    )
    assert created["conversation_url"].startswith("https://")
    one = f"{conversations}/{created['conversation_id']}"
    got = await api.call("GET", one + "?verbose=true", one_template, status=200)
    assert got["events"][0]["event_type"] == "system.replica_joined"
    listed = await api.call("GET", conversations + "?status=active", conversations, status=200)
    assert [c["conversation_id"] for c in listed["data"]] == [created["conversation_id"]]
    await api.call("POST", one + "/end", one_template + "/end", status=200)
    ended = await api.call("GET", one, one_template, status=200)
    assert ended["status"] == "ended"
    await api.call("DELETE", one, one_template, status=204)
    await api.call("GET", one, one_template, status=400)
    await api.call(
        "POST", conversations, conversations, status=400, json={"replica_id": "rffffffffff"}
    )


def test_every_operation_we_serve_is_in_the_spec() -> None:
    for path, method, status in [
        ("/v2/replicas", "post", 200),
        ("/v2/replicas", "get", 200),
        ("/v2/replicas/{replica_id}", "get", 200),
        ("/v2/replicas/{replica_id}", "delete", 200),
        ("/v2/replicas/{replica_id}/name", "patch", 200),
        ("/v2/voices", "get", 200),
        ("/v2/conversations", "post", 200),
        ("/v2/conversations", "get", 200),
        ("/v2/conversations/{conversation_id}", "get", 200),
        ("/v2/conversations/{conversation_id}/end", "post", 200),
        ("/v2/conversations/{conversation_id}", "delete", 204),
    ]:
        assert str(status) in SPEC["paths"][path][method]["responses"]
