"""Listings: every item whatever the page size a server serves; ``async for`` or ``await``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tavus_async import Listing, TavusClient
from tavus_async.emulator import Emulator, Scenario
from tavus_async.emulator._state import STOCK_FACES, STOCK_VOICES

from .conftest import API_KEY

COUNT = 25


@pytest.fixture
async def capped() -> AsyncIterator[Emulator]:
    """An emulator that serves at most 10 items a page, whatever ``limit`` asks for."""
    async with Emulator(api_key=API_KEY, seed=4, page_cap=10) as emu:
        yield emu


@pytest.mark.parametrize("cap", [1, 3, 10, 24, 25, 26])
async def test_every_face_whatever_the_page_size_the_server_serves(cap: int) -> None:
    # A short page is not the last one while total_count says there is more.
    async with Emulator(api_key=API_KEY, seed=4, page_cap=cap) as emu:
        made = {emu.add_face(name=f"f{i}") for i in range(COUNT)}
        async with TavusClient(api_key=API_KEY, base_url=emu.url) as client:
            faces = [face.face_id async for face in client.faces.list(page_size=50)]
            replicas = [r.replica_id async for r in client.replicas.list(page_size=100)]
    assert sorted(faces) == sorted(made)
    assert sorted(replicas) == sorted(made)


async def test_voices_and_conversations_follow_capped_pages(capped: Emulator) -> None:
    face_id = capped.add_face(name="done", scenario=Scenario(duration=60.0), started_ago=600.0)
    async with TavusClient(api_key=API_KEY, base_url=capped.url) as client:
        created = {
            (await client.conversations.create(face_id=face_id)).conversation_id
            for _ in range(COUNT)
        }
        voices = [v.voice_name async for v in client.voices.list(page_size=100)]
        conversations = [c.conversation_id async for c in client.conversations.list()]
    assert sorted(voices) == sorted(name for name, _, _ in STOCK_VOICES)
    assert sorted(conversations) == sorted(created)


async def test_recover_finds_every_training_behind_capped_pages(capped: Emulator) -> None:
    # recover() asks for 100 a page; a server serving 10 must not hide 15 trainings.
    training = {capped.add_face(name=f"t{i}", started_ago=60.0) for i in range(COUNT)}
    async with TavusClient(api_key=API_KEY, base_url=capped.url) as client:
        jobs = await client.faces.recover()
    assert {job.face_id for job in jobs} == training


async def test_await_a_listing_collects_every_item(capped: Emulator) -> None:
    made = {capped.add_face(name=f"f{i}") for i in range(COUNT)}
    async with TavusClient(api_key=API_KEY, base_url=capped.url) as client:
        listing = client.faces.list()
        assert isinstance(listing, Listing)
        faces = await listing  # every page, from the first
        again = [face async for face in listing]  # and, as an iterator, one pass of its own
        voices = await client.voices.list(search="an")
    assert {face.face_id for face in faces} == made
    assert [f.face_id for f in again] == [f.face_id for f in faces]
    assert voices
    assert all("an" in voice.voice_name for voice in voices)


async def test_faces_list_shows_yours_unless_asked_for_stock(capped: Emulator) -> None:
    # One default for the SDK and the CLI: your faces; stock ones on request.
    mine = {capped.add_face(name=f"f{i}") for i in range(3)}
    stock = {face_id for face_id, _, _ in STOCK_FACES}
    async with TavusClient(api_key=API_KEY, base_url=capped.url) as client:
        default = {f.face_id for f in await client.faces.list()}
        system = {f.face_id for f in await client.faces.list(face_type="system")}
        everything = {f.face_id for f in await client.faces.list(face_type="all")}
        replicas = {r.face_id for r in await client.replicas.list()}
    assert default == mine == replicas
    assert system == stock
    assert everything == mine | stock
