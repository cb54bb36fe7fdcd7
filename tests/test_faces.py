"""client.faces and client.replicas against the emulator over loopback HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tavus_async import (
    Face,
    FaceStatus,
    InvalidArgumentError,
    InvalidIdError,
    Replica,
    TavusClient,
    TrainingJob,
)
from tavus_async.emulator import Emulator

from .conftest import Stub

VIDEO = "https://cdn.test/train.mp4"
IMAGE = "https://cdn.test/me.png"


async def test_create_sends_exactly_the_documented_body(
    emulator: Emulator, client: TavusClient
) -> None:
    job = await client.faces.create(
        train_video_url=VIDEO,
        face_name="Rio",
        callback_url="https://hooks.test/tavus",
        model_name="phoenix-4",
        background_green_screen=True,
    )
    assert isinstance(job, TrainingJob)
    assert job.status is FaceStatus.STARTED
    assert job.face is None  # nothing read yet: the create answer is not a full face
    (post,) = emulator.calls("POST", "/v2/faces")
    assert post.body == {
        "train_video_url": VIDEO,
        "face_name": "Rio",
        "callback_url": "https://hooks.test/tavus",
        "model_name": "phoenix-4",
        "properties": {"background_green_screen": True},
    }
    assert post.had_api_key
    assert "x-api-key" not in {k.lower() for k in post.headers}  # never logged
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["User-Agent"].startswith("tavus-async/")
    assert job.face_id in emulator.faces


async def test_image_training_body(emulator: Emulator, client: TavusClient) -> None:
    _ = await client.faces.create(
        train_image_url=IMAGE, voice_name="anna", auto_fix_training_image=True
    )
    (post,) = emulator.calls("POST", "/v2/faces")
    assert post.body == {
        "train_image_url": IMAGE,
        "voice_name": "anna",
        "auto_fix_training_image": True,
    }


REFUSALS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({}, InvalidArgumentError, "exactly one of train_video_url or train_image_url"),
    ({"train_video_url": VIDEO, "train_image_url": IMAGE}, InvalidArgumentError, "exactly one"),
    ({"train_image_url": IMAGE}, InvalidArgumentError, "needs a voice"),
    ({"train_image_url": IMAGE, "voice_name": "anna", "default_voice_id": "v1"},
     InvalidArgumentError, "not both"),
    ({"train_video_url": VIDEO, "auto_fix_training_image": True},
     InvalidArgumentError, "only to image training"),
    ({"train_video_url": "/relative/train.mp4"}, InvalidArgumentError, "absolute http(s) URL"),
    ({"train_video_url": "ftp://cdn.test/train.mp4"}, InvalidArgumentError, "http(s)"),
    ({"train_video_url": "https://"}, InvalidArgumentError, "absolute http(s) URL"),
    ({"train_video_url": " https://cdn.test/v.mp4"}, InvalidArgumentError, "whitespace"),
    ({"train_video_url": VIDEO, "callback_url": "hooks.test/x"}, InvalidArgumentError,
     "callback_url"),
    ({"train_video_url": VIDEO, "face_name": "   "}, InvalidArgumentError, "blank"),
    ({"train_video_url": VIDEO, "face_name": ""}, InvalidArgumentError, "blank"),
    ({"train_video_url": VIDEO, "face_name": 7}, TypeError, "face_name must be a string"),
    ({"train_video_url": 12}, TypeError, "train_video_url must be a URL string"),
    ({"train_video_url": VIDEO, "background_green_screen": "yes"}, TypeError, "True or False"),
    ({"train_video_url": VIDEO, "model_name": ""}, InvalidArgumentError, "model_name"),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "error", "words"), REFUSALS)
async def test_create_refusals_send_nothing(
    emulator: Emulator,
    client: TavusClient,
    kwargs: dict[str, Any],
    error: type[Exception],
    words: str,
) -> None:
    with pytest.raises(error, match=None) as info:
        _ = await client.faces.create(**kwargs)
    assert words in str(info.value)
    assert emulator.requests == []


@pytest.mark.parametrize(
    "bad_id", ["", "r1/../r2", "r1?x=1", "r1#frag", "r 1", "..", "r1%2F", "r1\n", "a" * 200]
)
async def test_bad_ids_are_refused_before_any_request(
    emulator: Emulator, client: TavusClient, bad_id: str
) -> None:
    for call in (
        client.faces.get(bad_id),
        client.faces.delete(bad_id),
        client.faces.rename(bad_id, "x"),
        client.replicas.get(bad_id),
    ):
        with pytest.raises(InvalidArgumentError):
            await call
    with pytest.raises(InvalidArgumentError):
        _ = client.faces.job(bad_id)
    assert emulator.requests == []


async def test_wrong_id_type_is_type_error(emulator: Emulator, client: TavusClient) -> None:
    with pytest.raises(TypeError, match="face_id must be a string"):
        await client.faces.get(123)  # type: ignore[arg-type]  # wrong on purpose
    assert emulator.requests == []


async def test_get_and_verbose(emulator: Emulator, client: TavusClient) -> None:
    job = await client.faces.create(train_video_url=VIDEO, face_name="Rio")
    face = await client.faces.get(job.face_id)
    assert isinstance(face, Face)
    assert (face.face_id, face.face_name, face.status) == (job.face_id, "Rio", "started")
    assert face.training_progress == "0/100"
    assert face.face_type is None
    assert face.created_at is not None
    assert face.created_at.tzinfo is not None
    verbose = await client.faces.get(job.face_id, verbose=True)
    assert verbose.face_type == "user"
    assert emulator.calls("GET")[-1].query == {"verbose": "true"}


async def test_unknown_id_is_invalid_id_error(emulator: Emulator, client: TavusClient) -> None:
    with pytest.raises(InvalidIdError) as info:
        await client.faces.get("r000000000000")
    assert info.value.status == 400
    assert info.value.id_field == "face_id"
    with pytest.raises(InvalidIdError) as replica_info:
        await client.replicas.get("r000000000000")
    assert replica_info.value.id_field == "replica_id"


async def test_list_follows_pages_lazily(emulator: Emulator, client: TavusClient) -> None:
    created = [
        (await client.faces.create(train_video_url=VIDEO, face_name=f"F{i}")).face_id
        for i in range(5)
    ]
    stock = [f for f in emulator.faces.values() if f.face_type == "system"]
    emulator.requests.clear()
    listing = client.faces.list(page_size=2, face_type="all")
    seen = [face.face_id async for face in listing]
    assert len(seen) == len(created) + len(stock) == 9
    assert set(created) <= set(seen)
    pages = [r.query["page"] for r in emulator.calls("GET", "/v2/faces")]
    assert pages == ["1", "2", "3", "4", "5"]
    assert {r.query["limit"] for r in emulator.calls("GET", "/v2/faces")} == {"2"}


async def test_list_is_lazy(emulator: Emulator, client: TavusClient) -> None:
    for i in range(4):
        _ = await client.faces.create(train_video_url=VIDEO, face_name=f"F{i}")
    emulator.requests.clear()
    listing = client.faces.list(page_size=2)
    first = await anext(listing)
    assert first.face_name == "F3"
    assert len(emulator.requests) == 1  # only the first page so far
    await listing.aclose()


async def test_list_filters(emulator: Emulator, client: TavusClient) -> None:
    job = await client.faces.create(train_video_url=VIDEO, model_name="phoenix-3")
    mine = [f.face_id async for f in client.faces.list(face_type="user")]
    assert mine == [job.face_id]
    stock = [f async for f in client.faces.list(face_type="system")]
    assert stock
    assert all(f.face_type == "system" for f in stock)
    by_id = [
        f.face_id
        async for f in client.faces.list(face_ids=[job.face_id, "r4067604db72"], face_type="all")
    ]
    assert sorted(by_id) == sorted([job.face_id, "r4067604db72"])
    assert emulator.calls("GET", "/v2/faces")[-1].query["face_ids"] == (
        f"{job.face_id},r4067604db72"
    )
    p3 = [f.face_id async for f in client.faces.list(model_name="phoenix-3", face_type="user")]
    assert p3 == [job.face_id]
    with pytest.raises(InvalidArgumentError):
        [f async for f in client.faces.list(face_type="stock")]
    with pytest.raises(InvalidArgumentError):
        [f async for f in client.faces.list(page_size=0)]
    with pytest.raises(TypeError):
        [f async for f in client.faces.list(face_ids="r1")]


async def test_list_stops_on_a_server_that_repeats_pages(
    stub: Stub, stub_client: TavusClient
) -> None:
    page = {"data": [{"face_id": "r1", "status": "completed"}, {"face_id": "r2",
            "status": "completed"}], "total_count": 1000}  # fmt: skip
    stub.reply(200, page)
    seen = [f.face_id async for f in stub_client.faces.list(page_size=2)]
    assert seen == ["r1", "r2"]
    assert len(stub.seen) == 2  # the repeat was detected on page 2


async def test_list_stops_on_an_empty_page(stub: Stub, stub_client: TavusClient) -> None:
    stub.reply(200, {"data": [{"face_id": "r1", "status": "started"}, {"face_id": "r2",
               "status": "started"}], "total_count": 99})  # fmt: skip
    stub.reply(200, {"data": [], "total_count": 99})
    seen = [f.face_id async for f in stub_client.faces.list(page_size=2)]
    assert seen == ["r1", "r2"]


async def test_rename_update_delete(emulator: Emulator, client: TavusClient) -> None:
    job = await client.faces.create(train_video_url=VIDEO, face_name="Rio")
    await client.faces.rename(job.face_id, "Rio 2")
    assert (await client.faces.get(job.face_id)).face_name == "Rio 2"
    await client.faces.update(job.face_id, face_name="Rio 3", default_voice_id="v1234")
    face = await client.faces.get(job.face_id)
    assert (face.face_name, face.default_voice_id) == ("Rio 3", "v1234")
    assert emulator.calls("PATCH")[-1].body == {"face_name": "Rio 3", "default_voice_id": "v1234"}
    with pytest.raises(InvalidArgumentError):
        await client.faces.update(job.face_id)
    await client.faces.delete(job.face_id, hard=True)
    assert emulator.faces[job.face_id].hard_deleted
    with pytest.raises(InvalidIdError):
        await client.faces.get(job.face_id)


async def test_replicas_speak_replica_names(emulator: Emulator, client: TavusClient) -> None:
    job = await client.replicas.create(
        train_video_url=VIDEO,
        replica_name="Legacy",
        consent_video_url="https://cdn.test/consent.mp4",
    )
    (post,) = emulator.calls("POST", "/v2/replicas")
    assert post.body == {
        "train_video_url": VIDEO,
        "replica_name": "Legacy",
        "consent_video_url": "https://cdn.test/consent.mp4",
    }
    replica = await client.replicas.get(job.face_id, verbose=True)
    assert isinstance(replica, Replica)
    assert (replica.replica_id, replica.replica_name, replica.replica_type) == (
        job.face_id,
        "Legacy",
        "user",
    )
    await client.replicas.rename(job.face_id, "Legacy 2")
    assert emulator.calls("PATCH")[-1].body == {"replica_name": "Legacy 2"}
    ids = [r.replica_id async for r in client.replicas.list(replica_type="user")]
    assert ids == [job.face_id]
    assert emulator.calls("GET", "/v2/replicas")[-1].query["replica_type"] == "user"
    # Same resource: the face path sees the replica.
    assert (await client.faces.get(job.face_id)).face_name == "Legacy 2"


async def test_job_reattaches_by_id_without_a_request(
    emulator: Emulator, client: TavusClient
) -> None:
    job = client.faces.job("r90bbd427f71")
    assert job.face_id == "r90bbd427f71"
    assert job.status is None
    assert emulator.requests == []
    assert repr(job) == "TrainingJob(face_id='r90bbd427f71', status=None, progress=None)"
