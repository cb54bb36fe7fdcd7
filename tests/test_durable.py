"""The cadence's durable state: a small versioned token that other processes can carry on from."""

from __future__ import annotations

import asyncio
import base64
import json
import zlib

import pytest

from tavus_async import CadenceStateError, InvalidArgumentError, TavusClient
from tavus_async.emulator import Emulator, Rule, Scenario

from .conftest import API_KEY

VIDEO = "https://cdn.test/v.mp4"


def _inside(token: str) -> dict[str, object]:
    """What the token holds (it is opaque to users; the tests may look)."""
    body = token.partition(".")[2]
    data = json.loads(zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))
    assert isinstance(data, dict)
    return data


async def _state_after(client: TavusClient, face_id: str, polls: int) -> str:
    state = None
    for _ in range(polls):
        result = await client.faces.job(face_id, state=state).poll_once()
        state = result.state
    assert state is not None
    return state


async def test_a_bad_state_is_refused_before_any_request(
    emulator: Emulator, client: TavusClient
) -> None:
    job = await client.faces.create(train_video_url=VIDEO)
    good = await _state_after(client, job.face_id, 2)
    other = await client.faces.create(train_video_url=VIDEO)
    sent = len(emulator.requests)
    newer = "tc2." + good.partition(".")[2]
    cases = {
        "version": newer,
        "truncated": good[: len(good) // 2],
        "garbage": "tc1.not-base64-at-all!",
        "not ours": "eyJ2IjogMX0",
        "json, not a cadence": "tc1."
        + base64.urlsafe_b64encode(zlib.compress(b'{"version": 1}')).decode().rstrip("="),
    }
    for name, token in cases.items():
        with pytest.raises(CadenceStateError) as info:
            client.faces.job(job.face_id, state=token)
        assert isinstance(info.value, InvalidArgumentError), name
    with pytest.raises(CadenceStateError, match="version 2"):
        client.faces.job(job.face_id, state=newer)
    with pytest.raises(CadenceStateError, match="belongs to face"):
        client.faces.job(other.face_id, state=good)
    with pytest.raises(TypeError):
        client.faces.job(job.face_id, state=42)  # type: ignore[arg-type]
    assert len(emulator.requests) == sent  # nothing was sent for any of them


async def _follow(client: TavusClient, face_id: str, first: str) -> list[str]:
    """Every state a stateless worker hands on while following ``face_id`` to the end."""
    states = [first]
    await asyncio.sleep(5.0)
    result = await client.faces.job(face_id, state=first).poll_once()
    while not result.done:
        states.append(result.state)
        await asyncio.sleep(result.next_delay)
        result = await client.faces.job(face_id, state=result.state).poll_once()
    return states


async def test_the_state_holds_no_secret_and_stays_small(emulator: Emulator) -> None:
    # A training created with this client's callback URL (it carries the client's token,
    # and polling is only a safety net), and one polled all the way, moving one percent at a
    # time: no state holds the key, the token or the URL, and each stays well under 1 KB.
    secret = "callback-secret-0123456789abcdef"
    emulator.add_rule(Rule(name_contains="long", scenario=Scenario(curve="linear")))
    async with TavusClient(
        api_key=API_KEY, base_url=emulator.url, callback_secret=secret
    ) as client:
        callback_url = client.callbacks.url("https://my.app/tavus/callback/")
        with_callback = await client.faces.create(
            train_video_url=VIDEO, face_name="long", callback_url=callback_url
        )
        polled = await client.faces.create(train_video_url=VIDEO, face_name="long")
        states = await _follow(client, polled.face_id, polled.state)
        last = states[-1]
        states += await _follow(client, with_callback.face_id, with_callback.state)
    assert len(states) > 30
    for token in states:
        assert len(token) < 1024
        text = token + json.dumps(_inside(token))
        for leaked in (API_KEY, secret, callback_url, "x-api-key", "token="):
            assert leaked not in text
    inside = _inside(last)
    assert inside["version"] == 1
    assert inside["face_id"] == polled.face_id
    assert inside["clock"] == "date"  # timed on the server's Date, which every worker shares
    assert len(inside["points"]) > 10  # type: ignore[arg-type]


async def test_a_restored_job_carries_on_where_the_other_stopped(
    emulator: Emulator, client: TavusClient
) -> None:
    # The state carries the face's creation time (known exactly to the process that created
    # it): a job restored elsewhere knows the face's age at once.
    emulator.add_rule(Rule(name_contains="age", scenario=Scenario(curve="silent")))
    job = await client.faces.create(train_video_url=VIDEO, face_name="age")
    await job.poll_once()
    token = job.state
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as elsewhere:
        restored = elsewhere.faces.job(job.face_id, state=token)
        assert restored.state == token  # nothing read yet: handed on unchanged
        result = await restored.poll_once()
    assert restored.age is not None
    assert restored.age == pytest.approx(emulator.now(), abs=2.0)
    assert not result.done
    assert result.next_delay > 0
