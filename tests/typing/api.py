"""How users' code should type-check. Checked by mypy (see pyproject), never executed."""

from __future__ import annotations

import contextlib

from typing_extensions import assert_type

from tavus_async import (
    CallbackResult,
    Conversation,
    Face,
    FaceStatus,
    PollPolicy,
    PollResult,
    Replica,
    TavusClient,
    TrainingCallback,
    TrainingJob,
    Voice,
    parse_training_callback,
)


async def faces_flow() -> None:
    async with TavusClient(
        api_key="k", poll=PollPolicy(timeout=6 * 3600, finish_interval=10.0)
    ) as client:
        job = await client.faces.create(train_video_url="https://x.test/v.mp4", face_name="Rio")
        _ = assert_type(job, TrainingJob[Face])
        assert_type(job.face_id, str)
        assert_type(job.status, FaceStatus | None)
        assert_type(job.progress, float | None)
        assert_type(await job, Face)
        assert_type(await job.wait(timeout=3600, until="preview"), Face)
        assert_type(await job.refresh(), Face)
        assert_type(await job.poll_once(), PollResult[Face])
        async for update in job.updates():
            assert_type(update, Face)
        assert_type(await client.faces.get(job.face_id), Face)
        async for face in client.faces.list(face_type="user"):
            assert_type(face, Face)
        async for done in client.faces.as_completed([job]):
            _ = assert_type(done, TrainingJob[Face])
        _ = assert_type(client.faces.job("r1"), TrainingJob[Face])
        assert_type(await client.faces.recover(), list[TrainingJob[Face]])


async def replicas_flow(client: TavusClient) -> None:
    job = await client.replicas.create(train_video_url="https://x.test/v.mp4")
    _ = assert_type(job, TrainingJob[Replica])
    replica = await job
    assert_type(replica.replica_id, str)
    # A generator: closing it early stops the other waits at once.
    async with contextlib.aclosing(client.replicas.as_completed([job])) as ended:
        async for first in ended:
            _ = assert_type(first, TrainingJob[Replica])
            break
    assert_type(await client.replicas.get("r1"), Replica)


async def guide_flow(client: TavusClient, face: Face) -> None:
    async for voice in client.voices.list(search="an"):
        assert_type(voice, Voice)
    assert_type(await client.voices.get("v1"), Voice)
    conversation = await client.conversations.create(face=face, conversation_name="Hi")
    assert_type(conversation, Conversation)
    assert_type(conversation.conversation_url, str | None)
    async for item in client.conversations.list(status="active"):
        assert_type(item, Conversation)
    await client.conversations.end(conversation.conversation_id)


async def callbacks(client: TavusClient, body: bytes) -> None:
    assert_type(client.callbacks.url("https://my.app/hook"), str)
    assert_type(await client.callbacks.handle(body, token="t"), CallbackResult)
    assert_type(parse_training_callback(body), TrainingCallback)
    job = client.faces.job("r1", expect_callback=True)
    _ = assert_type(job, TrainingJob[Face])
    assert_type(job.eta, float | None)


async def stateless_worker(client: TavusClient, face_id: str, state: str | None) -> None:
    policy = PollPolicy(expected_duration=(3600.0, 2 * 3600.0), window_interval=60.0)
    baseline: PollPolicy = PollPolicy.fixed(120.0, timeout=4 * 3600.0)
    assert baseline.max_interval == 120.0
    assert_type(policy.expected_duration, tuple[float, float])
    # What a client learned, carried into the next one.
    _ = PollPolicy(expected_duration=assert_type(client.expected_duration, tuple[float, float]))
    job = client.faces.job(face_id, state=state)
    assert_type(job.state, str)
    result = await job.poll_once()
    assert_type(result.state, str)
    assert_type(result.next_delay, float)
    assert_type(result.done, bool)
    _ = assert_type(client.replicas.job(face_id, state=result.state), TrainingJob[Replica])
