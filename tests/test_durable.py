"""The cadence's durable state: a small versioned token that other processes can carry on from."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import math
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tavus_async import (
    APIConnectionError,
    APIError,
    CadenceStateError,
    InvalidArgumentError,
    PollPolicy,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    ServerError,
    TavusClient,
)
from tavus_async._cadence import Cadence
from tavus_async._durable import decode, encode
from tavus_async._models import Face, FaceStatus
from tavus_async._prior import DurationPrior
from tavus_async._snapshot import restore, snapshot
from tavus_async.emulator import Emulator, Fault, Rule, Scenario

from .conftest import API_KEY

VIDEO = "https://cdn.test/v.mp4"


def _inside(token: str) -> dict[str, object]:
    """What the token holds (it is opaque to users; the tests may look)."""
    body = token.partition(".")[2]
    data = json.loads(zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))))
    assert isinstance(data, dict)
    return data


def _token(data: dict[str, Any]) -> str:
    """A token holding ``data`` (as an edited one would)."""
    packed = zlib.compress(json.dumps(data, separators=(",", ":")).encode())
    return "tc1." + base64.urlsafe_b64encode(packed).decode().rstrip("=")


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
            _ = client.faces.job(job.face_id, state=token)
        assert isinstance(info.value, InvalidArgumentError), name
    with pytest.raises(CadenceStateError, match="version 2"):
        _ = client.faces.job(job.face_id, state=newer)
    with pytest.raises(CadenceStateError, match="belongs to face"):
        _ = client.faces.job(other.face_id, state=good)
    with pytest.raises(TypeError):
        _ = client.faces.job(job.face_id, state=42)  # type: ignore[arg-type]  # wrong on purpose
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
    assert len(inside["points"]) > 10  # type: ignore[arg-type]  # a JSON value is object


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


EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _face(percent: int) -> Face:
    return Face(
        face_id="r1",
        status=FaceStatus("started"),
        training_progress=f"{percent}/100",
        created_at=EPOCH,
    )


def _saved() -> dict[str, Any]:
    """What a cadence 40 reads into a training saves (on the server's clock)."""
    prior = DurationPrior.from_range(3 * 3600.0, 4 * 3600.0)
    cadence = Cadence(PollPolicy(), prior, start=0.0, server_date=EPOCH)
    t = delay = 5.0
    for i in range(40):
        cadence.observe(t, _face(min(99, 2 * i)), server_date=EPOCH + dt.timedelta(seconds=t))
        delay = cadence.after_success(t)
        t += delay
    return _inside(encode(snapshot(cadence, "r1", now=t, wall=0.0, delay=delay)))


EDITS: dict[str, tuple[str, object]] = {
    "unknown source": ("source", "trust-me"),
    "negative count": ("polls", -1),
    "no duration": ("prior", [0.0, 0.1]),
    "absurd spread": ("prior", [12470.0, 50.0]),
    "absurd bill": ("attributed", 1e308),
    "progress past 100 %": ("points", [[-60.0, 5000]]),
    "too many points": ("points", [[-i, 10] for i in range(200)]),
    "noise past 1": ("noise", 2.0),
}


@pytest.mark.parametrize("edit", EDITS)
async def test_an_edited_state_is_refused_before_any_request(
    emulator: Emulator, client: TavusClient, edit: str
) -> None:
    # Values no cadence of ours writes: acted on, they would crash a poll (an overflow, a
    # prior of no duration) or be silently mis-read (a source of the age nobody knows).
    job = await client.faces.create(train_video_url=VIDEO)
    data = _inside(await _state_after(client, job.face_id, 2))
    field, value = EDITS[edit]
    data[field] = value
    sent = len(emulator.requests)
    with pytest.raises(CadenceStateError, match=f"{field}"):
        _ = client.faces.job(job.face_id, state=_token(data))
    assert len(emulator.requests) == sent


_number = st.integers() | st.floats(allow_nan=False) | st.floats(-1e9, 1e9)
_json = (
    st.none()
    | st.booleans()
    | _number
    | st.sampled_from(["local", "server", "doubted", "witnessed", "wall", "date", "", "x"])
    | st.lists(_number, min_size=2, max_size=2)
    | st.lists(st.tuples(st.floats(-1e9, 1e9), st.integers(-10, 2000)), max_size=20)
)


@settings(max_examples=300, deadline=None)
@given(edits=st.dictionaries(st.sampled_from(sorted(_saved())), _json, min_size=1, max_size=3))
def test_any_edit_of_a_state_is_refused_or_harmless(edits: dict[str, Any]) -> None:
    # Whatever a token is edited to: refused with CadenceStateError, or a cadence that
    # restores and decides (a finite, positive delay; an estimate or none), never a crash.
    data = {**_saved(), **edits}
    try:
        state = decode(_token(data), face_id="r1")
    except CadenceStateError:
        return
    policy = PollPolicy()
    now = 10_000.0
    date = EPOCH + dt.timedelta(seconds=state.saved - EPOCH.timestamp() + 60.0)
    cadence = restore(state, policy, now=now, server_date=date, wall=0.0)
    cadence.observe(now, _face(50), server_date=date)
    delay = cadence.after_success(now)
    assert math.isfinite(delay)
    assert 0.0 < delay <= policy.callback_safety_start + policy.max_interval
    eta = cadence.eta(now)
    assert eta is None or math.isfinite(eta)
    snapshot(cadence, "r1", now=now, wall=0.0, delay=delay)


async def test_a_stateless_worker_rides_out_faults_with_the_state_it_had(
    emulator: Emulator,
) -> None:
    # A worker that follows the docs: on a transient failure, poll again later with the
    # state it was given. About two reads in five fail (5xx, 429, cut, garbage): the
    # training is still followed to its end, and only transient errors were raised.
    transient = (APIConnectionError, ResponseValidationError, RateLimitError, ServerError)
    route = "GET /v2/faces/*"
    for kind in ("server_error", "rate_limit", "reset", "not_json"):
        emulator.add_fault(Fault(kind=kind, rate=0.12, route=route, retry_after=20.0))
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as creator:
        job = await creator.faces.create(train_video_url=VIDEO)
        state, raised = job.state, []
    await asyncio.sleep(5.0)
    while True:
        async with TavusClient(
            api_key=API_KEY, base_url=emulator.url, retry=RetryPolicy(max_attempts=1)
        ) as worker:
            try:
                result = await worker.faces.job(job.face_id, state=state).poll_once()
            except APIError as exc:
                raised.append(exc)
                await asyncio.sleep(
                    exc.retry_after if isinstance(exc, RateLimitError) and exc.retry_after else 30.0
                )
                continue
        if result.done:
            break
        state = result.state
        await asyncio.sleep(result.next_delay)
    assert str(result.face.status) == "completed"
    assert len(raised) >= 4  # the faults did fire
    assert all(isinstance(exc, transient) for exc in raised), raised
