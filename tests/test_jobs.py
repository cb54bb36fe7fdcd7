"""TrainingJob against the emulator, on virtual time: hours of training pass instantly."""

from __future__ import annotations

import asyncio
import bisect
import itertools
import logging
import random
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tavus_async import (
    AuthenticationError,
    ClientClosedError,
    Face,
    FaceStatus,
    FinetuneFailedError,
    InvalidArgumentError,
    InvalidIdError,
    PollPolicy,
    RateLimitError,
    ResponseValidationError,
    RetryPolicy,
    TavusClient,
    TrainingFailedError,
    TrainingJob,
    TrainingTimeoutError,
)
from tavus_async._hub import PollLimiter
from tavus_async._outcome import CREATE_LAG
from tavus_async._policies import MAX_PAUSE
from tavus_async.emulator import Emulator, Fault, RecordedRequest, Rule, Scenario, VirtualClock

from .conftest import API_KEY, Stub, pending_tasks

VIDEO = "https://cdn.test/train.mp4"
HOURS_3_5 = 3.5 * 3600
#: Per-job ceiling in tests; the average economy is measured in benchmarks/, not here.
ECONOMY = 130


def polls(emulator: Emulator, face_id: str) -> list[RecordedRequest]:
    return emulator.calls("GET", f"/v2/faces/{face_id}")


def now() -> float:
    return asyncio.get_running_loop().time()


async def test_await_returns_the_completed_face(emulator: Emulator, client: TavusClient) -> None:
    started = now()
    job = await client.faces.create(train_video_url=VIDEO, face_name="Rio")
    face = await job
    assert isinstance(face, Face)
    assert face.status is FaceStatus.COMPLETED
    assert face.training_progress == "100/100"
    assert (job.status, job.progress, job.face) == (FaceStatus.COMPLETED, 1.0, face)
    assert job.done
    # 3.5 hours passed on the (virtual) loop clock, with few requests: the default averages
    # under 100 per job (benchmarks/request_economy.py); a fixed 30 s poller needs 420.
    assert now() - started >= HOURS_3_5
    assert 10 < len(polls(emulator, job.face_id)) <= ECONOMY


async def test_training_error_raises_with_its_message(
    emulator: Emulator, client: TavusClient
) -> None:
    emulator.add_rule(Rule(name_contains="bad", scenario=Scenario.failure("video_codec", at=0.1)))
    job = await client.faces.create(train_video_url=VIDEO, face_name="bad take")
    with pytest.raises(TrainingFailedError) as info:
        await job
    err = info.value
    assert err.face_id == job.face_id
    assert err.face.status is FaceStatus.ERROR
    assert err.error_message is not None
    assert "H.264" in err.error_message
    assert "H.264" in str(err)
    # Awaiting again answers at once, from what is known: no request.
    sent = len(emulator.requests)
    with pytest.raises(TrainingFailedError):
        await job
    assert len(emulator.requests) == sent


async def test_early_failure_is_caught_quickly(emulator: Emulator, client: TavusClient) -> None:
    emulator.add_rule(
        Rule(url_contains="broken", scenario=Scenario.failure("download_link", at=0.001))
    )
    started = now()
    job = await client.faces.create(train_video_url="https://cdn.test/broken.mp4")
    with pytest.raises(TrainingFailedError):
        await job
    # Failed at 12.6 s of training; the ramp (5, 10, 20 s…) noticed it within a minute.
    assert now() - started < 60
    assert len(polls(emulator, job.face_id)) <= 4


async def test_deadline_raises_and_training_goes_on(
    emulator: Emulator, client: TavusClient
) -> None:
    job = await client.faces.create(train_video_url=VIDEO)
    with pytest.raises(TrainingTimeoutError) as info:
        await job.wait(timeout=3600)
    err = info.value
    assert err.face_id == job.face_id
    assert err.timeout == 3600
    assert err.face is not None
    assert err.face.status is FaceStatus.STARTED
    assert f"client.faces.job({job.face_id!r})" in str(err)
    assert isinstance(err, TimeoutError)
    # Nothing was sent to stop the training, and it is still running.
    assert {r.method for r in emulator.requests} == {"POST", "GET"}
    assert emulator.faces[job.face_id].state(emulator.now()).status == "started"
    assert not pending_tasks()
    # Waiting again later works.
    assert (await job).status is FaceStatus.COMPLETED


async def test_resume_by_id_in_a_second_client(emulator: Emulator) -> None:
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as first:
        face_id = (await first.faces.create(train_video_url=VIDEO, face_name="Rio")).face_id
    # Another process, later: nothing but the id.
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as second:
        job = second.faces.job(face_id)
        face = await job
    assert face.face_id == face_id
    assert face.status is FaceStatus.COMPLETED


async def test_replica_jobs_poll_the_replica_path(emulator: Emulator, client: TavusClient) -> None:
    job = await client.replicas.create(train_video_url=VIDEO, replica_name="Old")
    replica = await job
    assert replica.replica_id == job.face_id
    assert emulator.calls("GET", f"/v2/replicas/{job.face_id}")
    assert not emulator.calls("GET", f"/v2/faces/{job.face_id}")


async def test_recover_reattaches_to_trainings_in_flight(
    emulator: Emulator, client: TavusClient
) -> None:
    emulator.add_rule(Rule(name_contains="quick", scenario=Scenario(duration=60, curve="linear")))
    emulator.add_rule(Rule(name_contains="fails", scenario=Scenario.failure(at=0.001)))
    long_a = await client.faces.create(train_video_url=VIDEO, face_name="long A")
    long_b = await client.faces.create(train_video_url=VIDEO, face_name="long B")
    _ = await client.faces.create(train_video_url=VIDEO, face_name="quick")
    _ = await client.faces.create(train_video_url=VIDEO, face_name="fails")
    await asyncio.sleep(600)  # the quick one finished, the failing one failed
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as restarted:
        jobs = await restarted.faces.recover()
        assert sorted(j.face_id for j in jobs) == sorted([long_a.face_id, long_b.face_id])
        assert all(j.status is FaceStatus.STARTED for j in jobs)
        named = await restarted.faces.recover(name="long B")
        assert [j.face_id for j in named] == [long_b.face_id]
        faces = [await j for j in jobs]
    assert {f.status for f in faces} == {FaceStatus.COMPLETED}


async def test_updates_yield_only_changes(emulator: Emulator, client: TavusClient) -> None:
    job = await client.faces.create(train_video_url=VIDEO)
    seen = [face async for face in job.updates()]
    keys = [(f.status.value, f.training_progress) for f in seen]
    assert all(a != b for a, b in itertools.pairwise(keys))
    assert keys[0] == ("started", "0/100")
    assert keys[-1] == ("completed", "100/100")
    # Progress sits still for long steps, so many polls brought no news.
    assert len(seen) < len(polls(emulator, job.face_id))
    # Iterating a finished job yields its final face once.
    assert [f.status async for f in job.updates()] == [FaceStatus.COMPLETED]


async def test_updates_end_with_the_failed_face(emulator: Emulator, client: TavusClient) -> None:
    emulator.add_rule(Rule(name_contains="x", scenario=Scenario.failure(at=0.5)))
    job = await client.faces.create(train_video_url=VIDEO, face_name="x")
    seen = [face async for face in job.updates()]
    assert seen[-1].status is FaceStatus.ERROR
    with pytest.raises(TrainingFailedError):
        await job


async def test_updates_raise_on_deadline(emulator: Emulator, client: TavusClient) -> None:
    job = await client.faces.create(train_video_url=VIDEO)
    with pytest.raises(TrainingTimeoutError):
        async for _ in job.updates(timeout=600):
            pass


async def test_on_update_hooks_sync_and_async(emulator: Emulator, client: TavusClient) -> None:
    sync_seen: list[str | None] = []
    async_seen: list[str | None] = []

    def record(face: Face) -> Awaitable[None]:
        # The earlier faces take longer to handle: run side by side, they would land last.
        slowness = 600.0 / (1 + len(sync_seen))

        async def write() -> None:
            await asyncio.sleep(slowness)
            async_seen.append(face.training_progress)

        return write()

    job = await client.faces.create(train_video_url=VIDEO)
    waits = [
        job.wait(on_update=lambda f: sync_seen.append(f.training_progress)),
        job.wait(on_update=record),
    ]
    await asyncio.gather(*waits)
    # In order, and all of them handled by the time the wait returns.
    assert sync_seen[-1] == "100/100"
    assert async_seen == sync_seen
    assert len(set(sync_seen)) == len(sync_seen)
    assert not pending_tasks()


async def test_a_failed_training_is_raised_after_the_hook_saw_it(
    emulator: Emulator, client: TavusClient
) -> None:
    emulator.add_rule(Rule(name_contains="bad", scenario=Scenario.failure("video_codec", at=0.3)))
    seen: list[FaceStatus] = []

    async def slow_record(face: Face) -> None:
        await asyncio.sleep(300)
        seen.append(face.status)

    job = await client.faces.create(train_video_url=VIDEO, face_name="bad take")
    with pytest.raises(TrainingFailedError):
        await job.wait(on_update=slow_record)
    assert seen[-1] is FaceStatus.ERROR


async def test_cancelling_a_wait_cancels_its_hook_calls(
    emulator: Emulator, client: TavusClient
) -> None:
    begun: list[str | None] = []
    cancelled: list[str | None] = []

    async def stuck(face: Face) -> None:
        begun.append(face.training_progress)
        try:
            await asyncio.sleep(24 * 3600)
        except asyncio.CancelledError:
            cancelled.append(face.training_progress)
            raise

    updates: list[Face] = []
    queued = asyncio.Event()

    def hook(face: Face) -> Awaitable[None]:
        updates.append(face)
        if len(updates) == 3:  # two calls queued behind the stuck one
            queued.set()
        return stuck(face)

    job = await client.faces.create(train_video_url=VIDEO)
    waiter = asyncio.ensure_future(job.wait(on_update=hook))
    await queued.wait()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.sleep(0)
    # The call under way was cancelled; those not begun were dropped (never awaited, and
    # closed: -W error would fail on a "coroutine was never awaited" warning otherwise).
    assert begun == cancelled == [updates[0].training_progress]
    assert not pending_tasks()
    assert emulator.faces[job.face_id].state(emulator.now()).status == "started"


async def test_a_failing_hook_does_not_end_the_wait(
    emulator: Emulator, client: TavusClient, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_face: Face) -> None:
        raise RuntimeError("hook bug")

    job = await client.faces.create(train_video_url=VIDEO)
    with caplog.at_level(logging.ERROR, logger="tavus_async"):
        face = await job.wait(on_update=broken)
    assert face.status is FaceStatus.COMPLETED
    assert "on_update hook raised" in caplog.text


async def test_cancelling_a_wait_stops_polling_only(
    emulator: Emulator, client: TavusClient
) -> None:
    job = await client.faces.create(train_video_url=VIDEO)
    waiter = asyncio.ensure_future(job.wait())
    await asyncio.sleep(1800)
    assert not waiter.done()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await asyncio.sleep(0)
    assert not pending_tasks()  # the shared poller stopped too
    count = len(polls(emulator, job.face_id))
    await asyncio.sleep(3600)
    assert len(polls(emulator, job.face_id)) == count  # no polling without waiters
    # The training was never touched, and can be awaited again.
    assert {r.method for r in emulator.requests} == {"POST", "GET"}
    assert emulator.faces[job.face_id].state(emulator.now()).status == "started"
    assert (await job).status is FaceStatus.COMPLETED


async def test_wait_for_timeout_cancels_cleanly(emulator: Emulator, client: TavusClient) -> None:
    job = await client.faces.create(train_video_url=VIDEO)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(job.wait(), timeout=60)
    await asyncio.sleep(0)
    assert not pending_tasks()


async def _polls_for(awaiters: int) -> list[float]:
    # Same seed for the emulator and for the jitter: identical trainings and cadences.
    random.seed(1234)
    async with (
        Emulator(api_key=API_KEY, seed=3) as emu,
        TavusClient(api_key=API_KEY, base_url=emu.url) as client,
    ):
        job = await client.faces.create(train_video_url=VIDEO)
        results = await asyncio.gather(*(job.wait() for _ in range(awaiters)))
        assert all(r is results[0] for r in results)
        start = emu.requests[0].loop_time
        return [round(r.loop_time - start, 3) for r in polls(emu, job.face_id)]


async def test_concurrent_awaiters_share_one_request_stream() -> None:
    alone = await _polls_for(1)
    together = await _polls_for(4)
    # Four awaiters cost exactly what one does: same polls at the same moments.
    assert together == alone
    assert len(alone) > 10


async def test_a_cancelled_awaiter_does_not_stop_the_others(
    emulator: Emulator, client: TavusClient
) -> None:
    job = await client.faces.create(train_video_url=VIDEO)
    keeper = asyncio.ensure_future(job.wait())
    quitter = asyncio.ensure_future(job.wait())
    await asyncio.sleep(600)
    quitter.cancel()
    face = await keeper
    assert face.status is FaceStatus.COMPLETED
    assert quitter.cancelled()


async def test_retry_after_on_429_is_respected(emulator: Emulator, client: TavusClient) -> None:
    job = await client.faces.create(train_video_url=VIDEO)
    emulator.add_fault(
        Fault(kind="rate_limit", retry_after=240, rate=0.5, times=4, route="GET /v2/faces/*")
    )
    await job
    gets = polls(emulator, job.face_id)
    limited = [i for i, r in enumerate(gets) if r.fault == "rate_limit"]
    assert len(limited) == 4
    for i in limited:
        assert gets[i + 1].loop_time - gets[i].loop_time >= 240 - 1e-3


async def test_a_broken_servers_retry_after_holds_a_wait_ten_minutes_at_most(
    emulator: Emulator, client: TavusClient
) -> None:
    # Retry-After: three thousand years. Honoured, it would end the wait in all but name.
    job = await client.faces.create(train_video_url=VIDEO)
    emulator.add_fault(Fault(kind="rate_limit", retry_after=1e11, times=1, route="GET /v2/faces/*"))
    face = await job
    assert face.status is FaceStatus.COMPLETED
    gets = polls(emulator, job.face_id)
    limited = next(i for i, r in enumerate(gets) if r.fault == "rate_limit")
    assert (
        MAX_PAUSE - 1e-3 <= gets[limited + 1].loop_time - gets[limited].loop_time <= MAX_PAUSE + 1
    )


async def test_a_retry_after_on_a_read_that_succeeds_is_capped_too(
    stub: Stub, stub_client: TavusClient
) -> None:
    stub.reply(200, {"face_id": "r1", "status": "started"}, headers={"Retry-After": "1e11"})
    stub.reply(200, {"face_id": "r1", "status": "completed"})
    began = now()
    face = await stub_client.faces.job("r1")
    assert face.status is FaceStatus.COMPLETED
    assert len(stub.seen) == 2
    assert MAX_PAUSE - 1e-3 <= now() - began <= MAX_PAUSE + 1


async def _pause_for_ten_minutes(stub: Stub, client: TavusClient) -> None:
    """Pause the client with another call's 429 (``Retry-After: 600``); reads succeed after."""
    stub.reply(429, {"error": "slow down"}, headers={"Retry-After": "600"})
    stub.reply(200, {"face_id": "r1", "status": "started"})
    with pytest.raises(RateLimitError):
        await client.with_options(retry=RetryPolicy(max_attempts=1)).faces.get("r1")


async def test_a_retry_after_pause_never_holds_a_wait_past_its_deadline(
    stub: Stub, stub_client: TavusClient
) -> None:
    # Another call's 429 paused the client for ten minutes; a wait with a one-minute deadline
    # ends at its deadline, not at the pause's end, and sends nothing meanwhile.
    await _pause_for_ten_minutes(stub, stub_client)
    began = now()
    with pytest.raises(TrainingTimeoutError):
        await stub_client.faces.job("r1").wait(timeout=60)
    assert now() - began == pytest.approx(60, abs=1)
    assert len(stub.seen) == 1
    # A wait that outlasts the pause polls once it is over, not before.
    face_waiter = asyncio.ensure_future(stub_client.faces.job("r1").wait(timeout=3600))
    await asyncio.sleep(began + 590 - now())
    assert len(stub.seen) == 1
    await asyncio.sleep(15)
    assert len(stub.seen) >= 2
    face_waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await face_waiter


async def test_a_read_in_flight_never_holds_a_wait_past_its_deadline(stub: Stub) -> None:
    # A server that takes 30 s to answer a read (the request timeout is a minute): a wait
    # with an 8 s deadline ends at 8 s, the slow read abandoned, and nothing is left running.
    # A second wait on the same job, with a later deadline, is not cut short by the first.
    reads: list[float] = []

    async def slow(request: web.Request) -> web.StreamResponse:
        reads.append(now())
        if len(reads) > 1:
            await asyncio.sleep(30)
        done = len(reads) > 3
        return web.json_response({"face_id": "r1", "status": "completed" if done else "started"})

    stub.handler = slow
    async with TavusClient(api_key=API_KEY, base_url=stub.url) as client:
        job = client.faces.job("r1")
        began = now()
        patient = asyncio.ensure_future(job.wait(timeout=3600))
        with pytest.raises(TrainingTimeoutError):
            await job.wait(timeout=8)
        assert now() - began == pytest.approx(8, abs=1e-2)
        face = await patient
        assert face.status is FaceStatus.COMPLETED
        assert pending_tasks() == set()


async def test_poll_once_during_a_long_pause_says_so_at_once(
    stub: Stub, stub_client: TavusClient
) -> None:
    # A task queue's worker is told to come back later (a transient RateLimitError with the
    # time left), as a request is, instead of being held for ten minutes.
    await _pause_for_ten_minutes(stub, stub_client)
    began = now()
    with pytest.raises(RateLimitError) as info:
        await stub_client.faces.job("r1").poll_once()
    assert now() - began < 1
    assert info.value.retry_after == pytest.approx(600, abs=1)
    assert len(stub.seen) == 1


async def test_a_429_slows_every_job_of_the_client(emulator: Emulator, client: TavusClient) -> None:
    first = await client.faces.create(train_video_url=VIDEO)
    second = await client.faces.create(train_video_url=VIDEO)
    emulator.add_fault(
        Fault(kind="rate_limit", retry_after=600, times=1, route=f"GET /v2/faces/{first.face_id}")
    )
    await asyncio.gather(first, second)
    limited = next(r for r in emulator.requests if r.fault == "rate_limit")
    during = [
        r
        for r in emulator.calls("GET", "/v2/faces/*")
        if limited.loop_time < r.loop_time < limited.loop_time + 600
    ]
    assert during == []  # neither job polled while the Retry-After was in force


async def test_transient_faults_never_end_the_wait(emulator: Emulator, client: TavusClient) -> None:
    job = await client.faces.create(train_video_url=VIDEO)
    for kind in ("server_error", "reset", "truncated", "not_json", "empty", "slow"):
        emulator.add_fault(Fault(kind=kind, rate=0.04, route="GET /v2/faces/*"))
    emulator.add_fault(Fault(kind="rate_limit", rate=0.04, retry_after=30, route="GET /v2/faces/*"))
    face = await job
    assert face.status is FaceStatus.COMPLETED
    faulted = [r for r in polls(emulator, job.face_id) if r.fault]
    assert len(faulted) >= 5
    assert len({r.fault for r in faulted}) >= 4


@pytest.mark.parametrize("kind", ["server_error", "reset", "rate_limit"])
async def test_an_outage_over_the_finish_is_waited_out(
    emulator: Emulator, client: TavusClient, kind: str
) -> None:
    # Every read fails from 3 h to 4.5 h; the 3.5 h training ends within the outage.
    begin = emulator.now()
    start, end = begin + 3 * 3600, begin + 4.5 * 3600
    emulator.add_fault(
        Fault(
            kind=kind,
            statuses=(500, 502),
            retry_after=30,
            route="GET /v2/faces/*",
            start=start,
            end=end,
        )
    )
    job = await client.faces.create(train_video_url=VIDEO)
    face = await job
    assert face.status is FaceStatus.COMPLETED
    gets = polls(emulator, job.face_id)
    during = [r for r in gets if start <= r.time < end]
    assert during
    assert all(r.fault == kind for r in during)
    assert not any(r.fault for r in gets if not start <= r.time < end)
    # At the fault backoff's pace, no faster: after its first quick retries, one read per
    # error_max_interval less its jitter (aiohttp retries a GET once on a connection cut).
    policy = PollPolicy()
    spacing = policy.error_max_interval * (1 - policy.jitter)
    attempts = 2 if kind == "reset" else 1
    assert len(during) <= attempts * ((end - start) / spacing + 8)
    # The first read after the outage sees the completed face, within one backoff step.
    after = [r for r in gets if r.time >= end]
    assert len(after) == 1
    assert after[0].time - end <= policy.error_max_interval
    assert not pending_tasks()


async def test_invalid_id_stops_at_once(emulator: Emulator, client: TavusClient) -> None:
    job = client.faces.job("r000000000000")
    with pytest.raises(InvalidIdError):
        await job
    assert len(emulator.requests) == 1
    assert not pending_tasks()


async def test_a_face_unknown_just_after_its_create_is_waited_for(
    emulator: Emulator, client: TavusClient
) -> None:
    # A store that lags its writes: the face this client just created reads as an unknown
    # id for a while. We have its id from the create's answer: that is lag, not a wrong id.
    emulator.add_fault(Fault(kind="not_yet_visible", times=3, route="GET /v2/faces/*"))
    job = await client.faces.create(train_video_url=VIDEO)
    face = await job
    assert face.status is FaceStatus.COMPLETED
    assert [r.fault for r in polls(emulator, job.face_id)[:4]] == [*["not_yet_visible"] * 3, None]


async def test_a_face_still_unknown_after_the_lag_ends_the_wait(
    emulator: Emulator, client: TavusClient
) -> None:
    emulator.add_fault(Fault(kind="not_yet_visible", route="GET /v2/faces/*"))
    job = await client.faces.create(train_video_url=VIDEO)
    began = now()
    with pytest.raises(InvalidIdError):
        await job
    gets = polls(emulator, job.face_id)
    assert gets[-1].loop_time - began >= CREATE_LAG
    # Retried on the fault backoff, not polled at length.
    assert gets[-1].loop_time - began <= CREATE_LAG + PollPolicy().error_max_interval * 1.5
    assert len(gets) <= 12
    assert not pending_tasks()


async def test_a_face_unknown_once_seen_ends_the_wait_when_asked_again(
    emulator: Emulator, client: TavusClient
) -> None:
    # Read once, then gone (deleted elsewhere): no lag explains that. It is asked once
    # more, on the fault backoff, and the second answer ends the wait.
    job = await client.faces.create(train_video_url=VIDEO)
    await job.poll_once()
    emulator.add_fault(Fault(kind="not_yet_visible", route="GET /v2/faces/*"))
    began = now()
    with pytest.raises(InvalidIdError):
        await job
    gets = polls(emulator, job.face_id)
    assert [r.fault for r in gets] == [None, "not_yet_visible", "not_yet_visible"]
    assert gets[-1].loop_time - began <= 2 * PollPolicy().error_initial_interval
    assert not pending_tasks()


async def test_a_face_unknown_once_in_hours_of_training_is_waited_for(
    emulator: Emulator, client: TavusClient
) -> None:
    # A proxy's 404 or a replica's passing confusion, once, an hour into a 3.5 h training:
    # the next read shows the face again, and the wait goes on to its end.
    job = await client.faces.create(train_video_url=VIDEO)
    start = emulator.now()
    emulator.add_fault(Fault(kind="not_yet_visible", times=1, start=start + 3600))
    for status, hours in ((404, 2), (401, 2.5), (403, 3)):
        emulator.add_fault(
            Fault(
                kind="server_error",
                statuses=(status,),
                times=1,
                start=start + hours * 3600,
                body="html",
            )
        )
    face = await job
    assert face.status is FaceStatus.COMPLETED
    faults = [r.fault for r in polls(emulator, job.face_id) if r.fault]
    assert faults == ["not_yet_visible", *["server_error"] * 3]


async def test_a_key_refused_twice_mid_wait_ends_it(stub: Stub, stub_client: TavusClient) -> None:
    # A key revoked while the training runs: believed on the second refusal, 2 s later.
    stub.reply(200, {"face_id": "r1", "status": "started"})
    stub.reply(401, {"message": "Invalid access token"})
    with pytest.raises(AuthenticationError):
        await stub_client.faces.job("r1")
    assert len(stub.seen) == 3


async def test_authentication_error_stops_at_once(emulator: Emulator) -> None:
    async with TavusClient(api_key="tvs-wrong", base_url=emulator.url) as wrong:
        with pytest.raises(AuthenticationError):
            await wrong.faces.job("r4067604db72")
    assert len(emulator.requests) == 1


async def test_phoenix_45_preview_then_final(emulator: Emulator, client: TavusClient) -> None:
    emulator.add_rule(
        Rule(name_contains="p45", scenario=Scenario.phoenix45(preview_after=90, tuning=3 * 3600))
    )
    started = now()
    job = await client.faces.create(
        train_image_url="https://cdn.test/me.png",
        voice_name="anna",
        face_name="p45",
        model_name="phoenix-4.5",
    )
    preview = await job.wait(until="preview")
    assert preview.status is FaceStatus.COMPLETED
    assert preview.finetune_status == "training"
    assert now() - started < 300  # the preview is there in minutes
    assert not job.done  # the final face is not
    final = await job
    assert final.finetune_status == "completed"
    assert now() - started >= 3 * 3600


async def test_phoenix_45_tuning_failure(emulator: Emulator, client: TavusClient) -> None:
    emulator.add_rule(
        Rule(name_contains="p45", scenario=Scenario.phoenix45(tuning=3600, fail=True))
    )
    job = await client.faces.create(
        train_video_url=VIDEO, face_name="p45", model_name="phoenix-4.5"
    )
    with pytest.raises(FinetuneFailedError) as info:
        await job
    assert info.value.face.status is FaceStatus.COMPLETED  # the preview is usable
    assert info.value.face.finetune_status == "errored"
    # Asking for the preview is still fine.
    assert (await job.wait(until="preview")).status is FaceStatus.COMPLETED


async def test_awaiting_a_finished_job_sends_nothing(
    emulator: Emulator, client: TavusClient
) -> None:
    job = await client.faces.create(train_video_url=VIDEO)
    face = await job
    sent = len(emulator.requests)
    assert await job is face
    assert await job.wait() is face
    assert len(emulator.requests) == sent


async def test_refresh_is_one_get(emulator: Emulator, client: TavusClient) -> None:
    job = await client.faces.create(train_video_url=VIDEO)
    face = await job.refresh()
    assert face.status is FaceStatus.STARTED
    assert job.face is face
    assert len(polls(emulator, job.face_id)) == 1


async def test_poll_once_suggests_the_next_delay(emulator: Emulator, client: TavusClient) -> None:
    job = client.faces.job((await client.faces.create(train_video_url=VIDEO)).face_id)
    steps = 0
    while True:
        result = await job.poll_once()
        steps += 1
        if result.done:
            break
        assert result.next_delay > 0
        await asyncio.sleep(result.next_delay)  # a task queue would re-enqueue here
    assert result.face.status is FaceStatus.COMPLETED
    assert result.next_delay == 0
    assert steps == len(polls(emulator, job.face_id)) <= ECONOMY


async def test_closing_the_client_ends_every_wait(emulator: Emulator) -> None:
    client = TavusClient(api_key=API_KEY, base_url=emulator.url)
    jobs = [await client.faces.create(train_video_url=VIDEO) for _ in range(5)]
    waiters = [asyncio.ensure_future(job.wait()) for job in jobs]
    await asyncio.sleep(900)
    await client.close()
    for waiter in waiters:
        with pytest.raises(ClientClosedError):
            await waiter
    assert not pending_tasks()
    with pytest.raises(ClientClosedError):
        await jobs[0].wait()


async def test_as_completed_yields_in_finishing_order(
    emulator: Emulator, client: TavusClient
) -> None:
    for minutes in (90, 30, 60):
        emulator.add_rule(
            Rule(name_contains=f"{minutes}m", scenario=Scenario(duration=minutes * 60))
        )
    emulator.add_rule(Rule(name_contains="fail", scenario=Scenario.failure(at=0.5, duration=2400)))
    jobs = [
        await client.faces.create(train_video_url=VIDEO, face_name=name)
        for name in ("90m", "30m", "fail", "60m")
    ]
    order: list[str | None] = []
    async for job in client.faces.as_completed(jobs):
        try:
            face = await job
        except TrainingFailedError as err:
            order.append(f"failed:{err.face.face_name}")
        else:
            order.append(face.face_name)
    assert order == ["failed:fail", "30m", "60m", "90m"]


async def test_as_completed_can_be_left_early(emulator: Emulator, client: TavusClient) -> None:
    jobs = [await client.faces.create(train_video_url=VIDEO) for _ in range(3)]
    iterator = client.faces.as_completed(jobs)
    first = await anext(iterator)
    assert first.done
    await iterator.aclose()
    await asyncio.sleep(0)
    assert not pending_tasks()


async def test_budget_caps_polls_per_second(emulator: Emulator) -> None:
    emulator.scenario = Scenario(duration=1800, curve="linear")
    async with TavusClient(
        api_key=API_KEY, base_url=emulator.url, max_polls_per_second=2
    ) as client:
        jobs = [await client.faces.create(train_video_url=VIDEO) for _ in range(40)]
        await asyncio.gather(*jobs)
    times = sorted(r.loop_time for r in emulator.calls("GET", "/v2/faces/*"))
    assert len(times) >= 40 * 5
    for i, start in enumerate(times):
        in_window = sum(1 for t in times[i:] if t < start + 1.0)
        assert in_window <= 2


async def test_the_budget_holds_where_polls_go_out_not_only_where_they_are_planned(
    emulator: Emulator,
) -> None:
    # Many jobs resumed at once queue for slots; a poll that goes out a hair after its slot
    # (a timer rounds) must not share a second with the one ten slots on. Counted where
    # aiohttp starts each request, in every window of one second.
    started: list[float] = []
    loop = asyncio.get_running_loop()

    async def on_start(_session: object, _context: object, params: Any) -> None:
        if params.method == "GET":
            started.append(loop.time())

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    ids = [emulator.add_face(name=f"f{i}") for i in range(300)]
    async with (
        aiohttp.ClientSession(trace_configs=[trace]) as session,
        TavusClient(api_key=API_KEY, base_url=emulator.url, session=session) as client,
    ):
        waits = [asyncio.ensure_future(client.faces.job(i).wait()) for i in ids]
        await asyncio.sleep(120)
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
    started.sort()
    assert len(started) >= 600
    busiest = max(bisect.bisect_left(started, t + 1.0) - i for i, t in enumerate(started))
    assert busiest <= 10


async def test_a_poll_sent_late_shares_no_second_with_the_slot_a_budget_later() -> None:
    # Ten slots at once for a budget of ten; the first goes out 15 ms late (a busy loop, a
    # rounded timer). The eleventh slot must still fall a whole second after it.
    clock = VirtualClock()
    limiter = PollLimiter(10)
    slots = []
    for _ in range(11):
        assert await limiter.acquire(clock.time, clock.sleep) is None
        slots.append(clock.time())
    first_sent = slots[0] + 0.015
    assert slots[10] - first_sent >= 1.0


async def test_bad_wait_arguments(emulator: Emulator, client: TavusClient) -> None:
    job = client.faces.job("r4067604db72")
    with pytest.raises(InvalidArgumentError):
        await job.wait(timeout=0)
    with pytest.raises(InvalidArgumentError):
        await job.wait(timeout=float("nan"))
    with pytest.raises(InvalidArgumentError):
        await job.wait(until="soon")  # type: ignore[arg-type]  # wrong on purpose
    with pytest.raises(TypeError):
        await job.wait(policy={"timeout": 5})  # type: ignore[arg-type]  # wrong on purpose
    assert emulator.requests == []


# --------------------------------------------------------------------- injected clock and sleep


async def test_injected_clock_and_sleep_simulate_hours() -> None:
    clock = VirtualClock()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await clock.sleep(seconds)

    policy = PollPolicy(clock=clock.time, sleep=sleep)
    async with (
        Emulator(api_key=API_KEY, clock=clock) as emu,
        TavusClient(
            api_key=API_KEY, base_url=emu.url, poll=policy, retry=RetryPolicy(sleep=clock.sleep)
        ) as client,
    ):
        job = await client.faces.create(train_video_url=VIDEO)
        face = await job
    assert face.status is FaceStatus.COMPLETED
    assert clock.time() >= HOURS_3_5
    assert sum(sleeps) >= HOURS_3_5 - 1
    assert min(sleeps) >= 1.0  # jitter keeps a floor: no near-zero waits
    assert len(sleeps) <= ECONOMY


# --------------------------------------------------------------------- statuses from other docs


async def _serve_statuses(stub: Stub, statuses: list[str], face_id: str = "r1") -> None:
    for status in statuses:
        stub.reply(200, {"face_id": face_id, "status": status, "training_progress": "50/100"})


async def test_training_and_ready_statuses(stub: Stub, stub_client: TavusClient) -> None:
    await _serve_statuses(stub, ["training", "training", "ready"])
    face = await stub_client.faces.job("r1")
    assert face.status is FaceStatus.READY
    assert len(stub.seen) == 3


async def test_unknown_status_keeps_polling_and_is_logged(
    stub: Stub, stub_client: TavusClient, caplog: pytest.LogCaptureFixture
) -> None:
    await _serve_statuses(stub, ["rendering", "rendering", "uploading", "completed"])
    with caplog.at_level(logging.WARNING, logger="tavus_async"):
        face = await stub_client.faces.job("r1")
    assert face.status is FaceStatus.COMPLETED
    assert len(stub.seen) == 4
    assert "unknown status 'rendering'" in caplog.text
    assert "unknown status 'uploading'" in caplog.text


async def test_an_unknown_status_under_way_is_read_for_its_progress(
    stub: Stub, stub_client: TavusClient, caplog: pytest.LogCaptureFixture
) -> None:
    # A server that says "in_progress" (or "queued") for a training under way: its
    # progress tells the finish as it does under "started", and it is logged once.
    word, start = "started", 0.0

    async def steady(request: web.Request) -> web.Response:
        # Progress moves with the clock: 1/100 per 2 minutes (a 3 h 20 min training).
        percent = min(99, int((asyncio.get_running_loop().time() - start) / 120))
        return web.json_response(
            {"face_id": "r1", "status": word, "training_progress": f"{percent}/100"}
        )

    stub.handler = steady
    etas: dict[str, list[float | None]] = {}
    for word in ("started", "in_progress", "queued"):
        start = asyncio.get_running_loop().time()
        job = stub_client.faces.job("r1")
        etas[word] = []
        with caplog.at_level(logging.WARNING, logger="tavus_async"):
            for _ in range(12):
                await job.poll_once()
                etas[word].append(job.eta)
                await asyncio.sleep(600)
    assert etas["in_progress"] == etas["queued"] == etas["started"]
    # The estimate is progress's (about 200 minutes from the start), not the prior's.
    finish = asyncio.get_running_loop().time() - start - 600 + (etas["started"][-1] or 0.0)
    assert abs(finish - 200 * 60) < 15 * 60
    assert caplog.text.count("unknown status 'in_progress'") == 1
    assert caplog.text.count("unknown status 'queued'") == 1


@pytest.mark.parametrize("word", ["training", "in_progress", "queued"])
async def test_a_wait_under_another_word_for_started_costs_the_same(word: str) -> None:
    # The emulator serving "in_progress" (say) instead of "started" while a steady 3.2 h
    # training runs: the same jitter, the same reads, the same latency as under "started".
    async def wait(status: str) -> tuple[int, float]:
        random.seed(3)  # the jitter
        scenario = Scenario(duration=3.2 * 3600, curve="linear", running_status=status)
        async with (
            Emulator(api_key=API_KEY, seed=1, scenario=scenario) as emu,
            TavusClient(api_key=API_KEY, base_url=emu.url) as client,
        ):
            job = await client.faces.create(train_video_url=VIDEO)
            face = await job
            assert face.status is FaceStatus.COMPLETED
            finished = emu.finish_time(job.face_id)
            assert finished is not None
            return len(polls(emu, job.face_id)), emu.now() - finished

    assert await wait(word) == await wait("started")


async def test_statuses_in_other_spellings(stub: Stub, stub_client: TavusClient) -> None:
    # Case and spaces do not matter, and "failed" is a failure: neither waits for hours.
    await _serve_statuses(stub, ["Started", " TRAINING ", "Completed"])
    face = await stub_client.faces.job("r1")
    assert face.status is FaceStatus.COMPLETED
    stub.queue.clear()
    await _serve_statuses(stub, ["started", "FAILED"], face_id="r2")
    with pytest.raises(TrainingFailedError):
        await stub_client.faces.job("r2")
    assert len(stub.seen) == 5


async def test_malformed_bodies_are_transient(stub: Stub, stub_client: TavusClient) -> None:
    stub.reply(200, raw=b"<html>maintenance</html>", content_type="text/html")
    stub.reply(200, [1, 2, 3])
    stub.reply(200, {"face_id": "r1", "status": "completed"})
    face = await stub_client.faces.job("r1")
    assert face.status is FaceStatus.COMPLETED
    assert len(stub.seen) == 3


async def test_an_answer_about_another_face_is_not_about_this_one(
    stub: Stub, stub_client: TavusClient
) -> None:
    # A server (or a cache in front of it) that answers for another face: that face's end
    # must not end this wait, nor its failure fail it. The same id in other case is this one.
    stub.reply(200, {"replica_id": "r2", "status": "completed"})
    with pytest.raises(ResponseValidationError) as info:
        await stub_client.replicas.get("r1")
    assert "'r2' is not the 'r1' asked for @ $.replica_id" in str(info.value)
    assert info.value.body == {"replica_id": "r2", "status": "completed"}
    stub.reply(200, {"face_id": "r2", "status": "error", "error_message": "not ours"})
    stub.reply(200, {"face_id": "r2", "status": "completed"})
    stub.reply(200, {"face_id": "R1", "status": "completed"})
    face = await stub_client.faces.job("r1")
    assert (face.face_id, face.status) == ("R1", FaceStatus.COMPLETED)
    # The stub served its last answer (about r2) once more before the queued ones.
    assert [seen.path for seen in stub.seen].count("/v2/faces/r1") == 4


async def test_a_face_read_without_its_id_is_the_one_asked_for(
    stub: Stub, stub_client: TavusClient
) -> None:
    # Some servers leave out the id the URL already names (an envelope too): lenient in what
    # we receive. An id the body does give still has to match (the test above).
    stub.reply(200, {"status": "started", "training_progress": "10/100"})
    stub.reply(200, {"data": {"status": "completed"}})
    face = await stub_client.faces.job("r1")
    assert (face.face_id, face.status) == ("r1", FaceStatus.COMPLETED)
    stub.queue[:] = []
    stub.reply(200, {"replica_name": "Rio", "status": "completed"})
    replica = await stub_client.replicas.get("r9")
    assert (replica.face_id, replica.face_name) == ("r9", "Rio")
    stub.queue[:] = []
    stub.reply(200, {"status": "active", "conversation_url": "https://tavus.daily.co/c1"})
    conversation = await stub_client.conversations.get("c1")
    assert conversation.conversation_id == "c1"


async def test_a_wait_that_cannot_read_says_why_and_when(
    stub: Stub, stub_client: TavusClient, caplog: pytest.LogCaptureFixture
) -> None:
    # A server whose answers this client cannot read (here: about another face) is retried
    # as a fault until the deadline; the timeout then names the failure, and the log says
    # so at WARNING once the failures are an outage rather than weather.
    stub.reply(200, {"face_id": "r1", "status": "started", "training_progress": "5/100"})
    stub.reply(200, {"face_id": "r2", "status": "started"})
    with (
        caplog.at_level(logging.INFO, logger="tavus_async"),
        pytest.raises(TrainingTimeoutError) as info,
    ):
        await stub_client.faces.job("r1").wait(timeout=3600)
    err = info.value
    assert isinstance(err.last_error, ResponseValidationError)
    assert err.__cause__ is err.last_error
    assert err.face is not None
    assert err.face.training_progress == "5/100"
    assert "the last read failed: response is about another face_id" in str(err)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "10 in a row" in warnings[0].getMessage()
    assert len(stub.seen) > 11  # it kept trying after the warning


async def test_a_timeout_after_good_reads_names_no_failure(
    stub: Stub, stub_client: TavusClient
) -> None:
    stub.reply(503, {"error": "busy"})
    stub.reply(200, {"face_id": "r1", "status": "started"})
    with pytest.raises(TrainingTimeoutError) as info:
        await stub_client.faces.job("r1").wait(timeout=3600)
    assert info.value.last_error is None
    assert info.value.__cause__ is None
    assert "failed" not in str(info.value)


async def test_a_wait_survives_fields_of_unexpected_types(
    stub: Stub, stub_client: TavusClient
) -> None:
    # A server that reports progress as a number and the error as an object: the wait
    # follows the progress and ends with the failure, instead of retrying reads until its
    # deadline.
    stub.reply(200, {"face_id": "r1", "status": "started", "training_progress": 40})
    stub.reply(200, {"face_id": "r1", "status": "started", "training_progress": 80.5})
    stub.reply(
        200,
        {
            "face_id": "r1",
            "status": "error",
            "training_progress": 80.5,
            "error_message": {"code": "video_codec", "detail": "unsupported codec"},
            "created_at": "sometime",
        },
    )
    job = stub_client.faces.job("r1")
    seen: list[float | None] = []
    with pytest.raises(TrainingFailedError) as info:
        await job.wait(on_update=lambda face: seen.append(face.progress))
    assert seen == [0.40, 0.805, 0.805]
    assert "unsupported codec" in str(info.value)
    assert len(stub.seen) == 3


@pytest.mark.parametrize("word", ["deleted", "Cancelled", "canceled", "aborted"])
async def test_a_face_that_can_never_complete_ends_the_wait_at_once(
    stub: Stub, stub_client: TavusClient, word: str
) -> None:
    # Deleted or cancelled by someone else while we wait: a status no document lists, that
    # can only mean the training will not complete. The wait ends on the read that says so,
    # not at its deadline eight hours on.
    stub.reply(200, {"face_id": "r1", "status": "started", "training_progress": "40/100"})
    stub.reply(200, {"face_id": "r1", "status": word, "training_progress": "40/100"})
    started = now()
    with pytest.raises(TrainingFailedError) as info:
        await stub_client.faces.job("r1")
    assert info.value.face.status.value == word  # as sent
    assert info.value.face.status.is_failure
    assert f"ended as {word!r}" in str(info.value)
    assert len(stub.seen) == 2
    assert now() - started < 3600
    # An unknown word that is no end ("queued", "processing") still waits.
    stub.queue.clear()
    stub.reply(200, {"face_id": "r1", "status": "processing"})
    stub.reply(200, {"face_id": "r1", "status": "completed"})
    assert (await stub_client.faces.job("r1")).status is FaceStatus.COMPLETED


async def _jobs(client: TavusClient, n: int) -> AsyncIterator[TrainingJob[Any]]:
    for _ in range(n):
        yield await client.faces.create(train_video_url=VIDEO)


async def test_a_timer_that_fires_a_hair_early_does_not_livelock(emulator: Emulator) -> None:
    # A rounded clock (looptime's is in microseconds) can wake a sleeper a hair before the
    # float it asked for; re-sleeping for the sub-nanosecond remainder counts as "ready" at
    # once without moving the clock. The driver must treat "almost due" as due.
    clock = VirtualClock()
    sleeps = 0

    async def short_sleep(seconds: float) -> None:
        nonlocal sleeps
        sleeps += 1
        if sleeps > 10_000:
            raise AssertionError("livelock: the driver keeps re-sleeping")
        await clock.sleep(max(0.0, seconds - 1e-12))

    policy = PollPolicy(clock=clock.time, sleep=short_sleep)
    emulator.clock = clock
    async with TavusClient(api_key=API_KEY, base_url=emulator.url, poll=policy) as client:
        job = await client.faces.create(train_video_url=VIDEO)
        assert (await job).status is FaceStatus.COMPLETED
    assert sleeps < 200
