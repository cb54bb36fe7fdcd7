"""Listings: every item whatever the page size a server serves; ``async for`` or ``await``."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from tavus_async import Listing, TavusClient
from tavus_async.emulator import Emulator, Scenario
from tavus_async.emulator._state import STOCK_FACES, STOCK_VOICES

from .conftest import API_KEY, Stub

COUNT = 25


@pytest.fixture(params=[True, False], ids=["total_count", "no total_count"])
async def capped(request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    """An emulator that serves at most 10 items a page, whatever ``limit`` asks for, with
    and without ``total_count``."""
    async with Emulator(api_key=API_KEY, seed=4, page_cap=10, total_count=request.param) as emu:
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


class Paged:
    """A listing server: ``count`` faces, pages of at most ``cap`` whatever ``limit`` asks
    for, with or without ``total_count``; ``insert_after`` adds a face at the front once
    that many pages have been served (offsets shift under the reader); a ``stale`` total
    keeps counting the faces there were at the start (a cached count); ``total_value`` is
    sent as ``total_count`` instead, whatever it is; ``bare`` pages are the array alone.
    Pages count from ``first``; a page before it is answered as ``before_first`` says
    (``"empty"``, ``"first"``: the first page again, or a status such as ``"400"``)."""

    def __init__(
        self,
        count: int,
        cap: int | None,
        *,
        total: bool,
        insert_after: int | None = None,
        stale: bool = False,
        total_value: object = None,
        bare: bool = False,
        first: int = 1,
        before_first: str = "empty",
    ) -> None:
        self.ids = [f"r{i:04d}" for i in range(count)]
        self.cap, self.total, self.insert_after = cap, total, insert_after
        self.stale_count = count if stale else None
        self.pages = 0
        self.total_value = total_value
        self.bare = bare
        self.first, self.before_first = first, before_first
        self.asked: list[int] = []

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        limit, page = int(request.query["limit"]), int(request.query["page"])
        self.asked.append(page)
        size = min(limit, self.cap) if self.cap is not None else limit
        if page < self.first and self.before_first.isdigit():
            return web.json_response({"message": "bad page"}, status=int(self.before_first))
        if page < self.first and self.before_first == "first":
            page = self.first
        index = max(page - self.first, -1)  # before the first page: an empty slice
        chunk = self.ids[index * size : (index + 1) * size] if index >= 0 else []
        self.pages += 1
        if self.pages == self.insert_after:
            self.ids.insert(0, "rnew")
        body: dict[str, Any] = {"data": [{"face_id": i, "status": "completed"} for i in chunk]}
        if self.total:
            body["total_count"] = self.stale_count or len(self.ids)
        if self.total_value is not None:
            body["total_count"] = self.total_value
        return web.json_response(body["data"] if self.bare else body)


def _cases() -> list[tuple[int, int | None, int, bool]]:
    edges = [
        (count, cap, page_size, total)
        for count in (0, 1, 9, 10, 11, 25)
        for cap in (None, 1, 3, 10)
        for page_size in (1, 10, 50)
        for total in (True, False)
    ]
    rng = random.Random(7)
    drawn = [
        (rng.randint(0, 60), rng.choice((None, rng.randint(1, 20))), rng.randint(1, 40), total)
        for total in (True, False)
        for _ in range(30)
    ]
    return edges + drawn


async def test_every_item_once_whatever_the_pages_and_totals(
    stub: Stub, stub_client: TavusClient
) -> None:
    # Capped pages with no total_count are the trap: a short page is then no proof of the
    # end, and only an empty page is. Every case, edge and drawn, must list every face once.
    for count, cap, page_size, total in _cases():
        server = Paged(count, cap, total=total)
        stub.handler = server
        listed = [f.face_id async for f in stub_client.faces.list(page_size=page_size)]
        assert listed == server.ids, (count, cap, page_size, total)


async def test_a_server_counting_pages_from_0_misses_no_item(
    stub: Stub, stub_client: TavusClient
) -> None:
    # Tavus counts its face pages from 1 (its video listing from 0). Read from page 1, a
    # listing counting from 0 skips its first page: short of its total_count, the listing
    # reads page 0 too, and every item comes once (the first page's last).
    for count, cap, page_size, _ in _cases():
        server = Paged(count, cap, total=True, first=0)
        stub.handler = server
        listed = [f.face_id async for f in stub_client.faces.list(page_size=page_size)]
        assert sorted(listed) == server.ids, (count, cap, page_size)
        assert len(listed) == len(set(listed))


@pytest.mark.parametrize("before_first", ["empty", "first", "400", "500"])
async def test_page_0_is_read_only_when_a_listing_ends_short(
    stub: Stub, stub_client: TavusClient, before_first: str
) -> None:
    # Counted from 1 with a total that adds up: no page 0. A total that does not (a stale
    # count, 30 for 25 faces) asks for it once, however the server answers it.
    for stale_total, asked in ((None, [1, 2, 3]), (30, [1, 2, 3, 4, 0])):
        server = Paged(25, 10, total=True, before_first=before_first, total_value=stale_total)
        stub.handler = server
        listed = [f.face_id async for f in stub_client.faces.list(page_size=10)]
        assert listed == server.ids
        assert list(dict.fromkeys(server.asked)) == asked  # a 500 is retried, as on any page


async def test_bare_arrays_list_every_item_once(stub: Stub, stub_client: TavusClient) -> None:
    # Not what Tavus documents ({data, total_count}), but a page all the same: with no total,
    # the listing reads to the empty page.
    for count, cap, page_size, _ in _cases():
        server = Paged(count, cap, total=False, bare=True)
        stub.handler = server
        listed = [f.face_id async for f in stub_client.faces.list(page_size=page_size)]
        assert listed == server.ids, (count, cap, page_size)


@pytest.mark.parametrize(
    ("total", "listed"),
    [
        (-1, 25),
        ("abc", 25),
        (2.5, 25),
        (True, 25),
        ({"n": 1}, 25),
        ("", 25),
        ("12", 20),
        (12.0, 20),
    ],
)
async def test_a_total_count_is_read_as_a_count_or_not_at_all(
    stub: Stub, stub_client: TavusClient, total: object, listed: int
) -> None:
    # -1 for "unknown", text, a fraction: no total, so the listing reads to the empty page
    # and misses nothing. A count spelled as text or as a float is a count (here, short of
    # the 25 faces: the listing stops at the page that reaches it, a page capped short of
    # the limit asked for).
    server = Paged(25, 10, total=False, total_value=total)
    stub.handler = server
    faces = [f.face_id async for f in stub_client.faces.list(page_size=50)]
    assert faces == server.ids[:listed]


@pytest.mark.parametrize("page_size", [1, 7, 10, 50])
async def test_a_total_that_counts_the_page_ends_no_listing_early(
    stub: Stub, stub_client: TavusClient, page_size: int
) -> None:
    # A server that sends the page's own length as total_count, and honours the limit: each
    # page is full until the last, so the total is never taken for the listing's.
    server = Paged(23, None, total=False)

    async def per_page(request: web.Request) -> web.StreamResponse:
        response = await server(request)
        assert isinstance(response, web.Response)
        assert response.text is not None
        body = json.loads(response.text)
        body["total_count"] = len(body["data"])
        return web.json_response(body)

    stub.handler = per_page
    listed = [f.face_id async for f in stub_client.faces.list(page_size=page_size)]
    assert listed == server.ids


@pytest.mark.parametrize(("total", "stale"), [(True, False), (True, True), (False, False)])
async def test_an_item_added_while_listing_repeats_nothing_and_loses_nothing(
    stub: Stub, stub_client: TavusClient, total: bool, stale: bool
) -> None:
    # A face created after page 1 was served pushes every face one place back: the last
    # face of page 1 comes again on page 2. It is listed once; no face is lost, even when
    # the total still counts the faces there were (the repeat is not counted towards it).
    server = Paged(20, 10, total=total, insert_after=1, stale=stale)
    before = list(server.ids)
    stub.handler = server
    listed = [f.face_id async for f in stub_client.faces.list(page_size=10)]
    assert len(listed) == len(set(listed))
    assert set(before) <= set(listed)
