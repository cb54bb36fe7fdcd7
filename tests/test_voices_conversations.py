"""client.voices and client.conversations against the emulator: the guide's whole flow."""

from __future__ import annotations

import pytest

from tavus_async import (
    BadRequestError,
    Conversation,
    ConversationStatus,
    Face,
    FaceStatus,
    InvalidArgumentError,
    InvalidIdError,
    NotFoundError,
    TavusClient,
    Voice,
)
from tavus_async.emulator import Emulator, Scenario

VIDEO = "https://cdn.test/train.mp4"
IMAGE = "https://cdn.test/me.png"


async def test_voices_list_every_page(emulator: Emulator, client: TavusClient) -> None:
    voices = [v async for v in client.voices.list(page_size=5)]
    assert len(voices) == 14
    assert all(isinstance(v, Voice) for v in voices)
    assert [v.voice_name for v in voices] == sorted(v.voice_name for v in voices)
    assert [r.query["page"] for r in emulator.calls("GET", "/v2/voices")] == ["1", "2", "3"]
    anna = voices[0]
    assert (anna.voice_name, anna.replica_id, anna.face_id) == (
        "anna",
        "r4067604db72",
        "r4067604db72",
    )
    assert "english" in anna.tags


async def test_voices_search_and_tag(emulator: Emulator, client: TavusClient) -> None:
    found = [v.voice_name async for v in client.voices.list(search="EN")]
    assert found == ["benjamin", "elena"]
    assert emulator.calls("GET", "/v2/voices")[-1].query["search"] == "EN"
    japanese = [v.voice_name async for v in client.voices.list(tag="japanese")]
    assert japanese == ["hiro", "keiko"]
    with pytest.raises(InvalidArgumentError):
        [v async for v in client.voices.list(page_size=101)]


async def test_voice_get(client: TavusClient) -> None:
    first = await anext(client.voices.list())
    assert first.voice_id is not None
    voice = await client.voices.get(first.voice_id)
    assert (voice.voice_name, voice.status) == (first.voice_name, "completed")
    with pytest.raises(NotFoundError):
        await client.voices.get("v000000000000")


async def test_validate_voice_is_case_insensitive(emulator: Emulator, client: TavusClient) -> None:
    _ = await client.faces.create(train_image_url=IMAGE, voice_name="ANNA", validate_voice=True)
    (post,) = emulator.calls("POST", "/v2/faces")
    assert post.body["voice_name"] == "anna"


async def test_validate_voice_refuses_unknown_names_with_close_matches(
    emulator: Emulator, client: TavusClient
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        _ = await client.faces.create(train_image_url=IMAGE, voice_name="anah", validate_voice=True)
    assert "'anah' is not a stock voice" in str(info.value)
    assert "'anna'" in str(info.value)
    assert emulator.calls("POST") == []  # no create was sent
    with pytest.raises(InvalidArgumentError, match="stock voices exist"):
        _ = await client.faces.create(train_image_url=IMAGE, voice_name="zzzz", validate_voice=True)
    with pytest.raises(InvalidArgumentError, match="needs a voice_name"):
        _ = await client.faces.create(
            train_image_url=IMAGE, default_voice_id="v1", validate_voice=True
        )


async def test_without_validation_the_server_decides(client: TavusClient) -> None:
    with pytest.raises(BadRequestError, match="Invalid voice_name"):
        _ = await client.faces.create(train_image_url=IMAGE, voice_name="anah")


async def test_the_whole_guide(emulator: Emulator, client: TavusClient) -> None:
    emulator.scenario = Scenario(duration=3600)
    job = await client.faces.create(train_video_url=VIDEO, face_name="Rio")
    face = await job
    conversation = await client.conversations.create(
        face=face,
        pal_id="pcb7a34da5fe",
        conversation_name="First call",
        conversational_context="A demo",
        custom_greeting="Hi!",
        callback_url="https://hooks.test/conversations",
        properties={"max_call_duration": 600, "language": "english"},
    )
    assert isinstance(conversation, Conversation)
    assert conversation.status is ConversationStatus.ACTIVE
    assert conversation.conversation_url is not None
    assert conversation.conversation_url.startswith("https://")
    assert (conversation.face_id, conversation.pal_id) == (face.face_id, "pcb7a34da5fe")
    (post,) = emulator.calls("POST", "/v2/conversations")
    # The safe wire names for this endpoint are the replica-era ones.
    assert post.body == {
        "replica_id": face.face_id,
        "persona_id": "pcb7a34da5fe",
        "conversation_name": "First call",
        "conversational_context": "A demo",
        "custom_greeting": "Hi!",
        "callback_url": "https://hooks.test/conversations",
        "properties": {"max_call_duration": 600, "language": "english"},
    }
    got = await client.conversations.get(conversation.conversation_id, verbose=True)
    assert got.events[0]["event_type"] == "system.replica_joined"
    assert emulator.calls("GET")[-1].query == {"verbose": "true"}
    await client.conversations.end(conversation.conversation_id)
    ended = await client.conversations.get(conversation.conversation_id)
    assert ended.status is ConversationStatus.ENDED
    await client.conversations.delete(conversation.conversation_id, hard=True)
    delete = emulator.calls("DELETE")[-1]
    assert (delete.status, delete.query) == (204, {"hard": "true"})
    with pytest.raises(InvalidIdError) as info:
        await client.conversations.get(conversation.conversation_id)
    assert info.value.id_field == "conversation_id"


async def test_a_face_that_is_not_trained_is_refused_before_any_request(
    emulator: Emulator, client: TavusClient
) -> None:
    job = await client.faces.create(train_video_url=VIDEO)
    training = await job.refresh()
    sent = len(emulator.requests)
    with pytest.raises(InvalidArgumentError, match="not trained"):
        await client.conversations.create(face=training)
    failed = Face(face_id="r1", status=FaceStatus.ERROR, error_message="video_codec")
    with pytest.raises(InvalidArgumentError, match="not trained"):
        await client.conversations.create(face=failed)
    assert len(emulator.requests) == sent
    # By id the SDK cannot know: the API refuses it with a 400.
    with pytest.raises(BadRequestError):
        await client.conversations.create(face_id=job.face_id)


async def test_create_argument_rules(emulator: Emulator, client: TavusClient) -> None:
    done = Face(face_id="r4067604db72", status=FaceStatus.COMPLETED)
    with pytest.raises(InvalidArgumentError, match="not both"):
        await client.conversations.create(face=done, face_id="r4067604db72")
    with pytest.raises(InvalidArgumentError, match="needs a face"):
        await client.conversations.create()
    with pytest.raises(TypeError):
        # On purpose:
        await client.conversations.create(face={"face_id": "r1"})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        # On purpose:
        await client.conversations.create(face_id="r1", properties=["x"])  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        await client.conversations.create(face_id="r1", callback_url="nope")
    assert emulator.requests == []


async def test_test_mode_and_listing(emulator: Emulator, client: TavusClient) -> None:
    stock = "r4067604db72"  # a stock face: completed
    live = [await client.conversations.create(face_id=stock) for _ in range(3)]
    probe = await client.conversations.create(face_id=stock, test_mode=True)
    assert probe.status is ConversationStatus.ENDED
    everything = [c.conversation_id async for c in client.conversations.list(page_size=2)]
    assert len(everything) == 4
    active = [c.conversation_id async for c in client.conversations.list(status="active")]
    assert sorted(active) == sorted(c.conversation_id for c in live)
    assert emulator.calls("GET", "/v2/conversations")[-1].query["status"] == "active"
    with pytest.raises(InvalidArgumentError):
        [c async for c in client.conversations.list(status="paused")]
