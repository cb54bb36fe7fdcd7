"""The polling cadence: where requests go during a multi-hour training, whatever progress does.

The first tests wait for real trainings on the emulator (virtual time) and look at the polls
it received. The last ones feed observations straight into the pure
:class:`~tavus_async._cadence.Cadence`, which needs no socket (like the status-to-error
function in test_sansio), including property tests over random progress histories.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import math
import random
import statistics
from collections.abc import AsyncIterator, Callable, Sequence

import attrs
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tavus_async import (
    Face,
    FaceStatus,
    InvalidArgumentError,
    PollPolicy,
    RetryPolicy,
    TavusClient,
    TrainingFailedError,
    TrainingJob,
)
from tavus_async._anchor import Anchor
from tavus_async._belief import Belief
from tavus_async._cadence import FREE_READS, Cadence
from tavus_async._durable import decode, encode
from tavus_async._estimate import PATIENCE, progress_model, slowdown
from tavus_async._hub import JobHub
from tavus_async._policies import MAX_PAUSE, loop_clock
from tavus_async._pricing import INSURANCE, WINDOW_CAP, WINDOW_EDGES
from tavus_async._prior import DurationLearner, DurationPrior
from tavus_async._snapshot import restore, snapshot
from tavus_async.emulator import Emulator, RecordedRequest, Rule, Scenario, VirtualClock
from tavus_async.emulator._scenarios import _phases, make_curve

from .conftest import API_KEY

HOUR = 3600.0
VIDEO = "https://cdn.test/v.mp4"
PRIOR = DurationPrior.from_range(3 * HOUR, 4 * HOUR)


def _gets(emulator: Emulator, face_id: str) -> list[RecordedRequest]:
    return emulator.calls("GET", f"/v2/faces/{face_id}")


async def _train(
    emulator: Emulator,
    client: TavusClient,
    name: str,
    scenario: Scenario,
    *,
    waiter: TavusClient | None = None,
) -> tuple[str, float, int]:
    """Create and await one training: its id, detection latency and requests (with create).

    With ``waiter``, that other client awaits it from its id alone (a resumed wait).
    """
    emulator.add_rule(Rule(name_contains=name, scenario=scenario))
    job = await client.faces.create(train_video_url=VIDEO, face_name=name)
    with contextlib.suppress(TrainingFailedError):
        await (job if waiter is None else waiter.faces.job(job.face_id))
    finished = emulator.finish_time(job.face_id)
    assert finished is not None
    return job.face_id, emulator.now() - finished, 1 + len(_gets(emulator, job.face_id))


async def _await_sampling(job: TrainingJob[Face], every: float, sample: Callable[[], None]) -> None:
    """Await ``job``, calling ``sample()`` every ``every`` seconds meanwhile."""

    async def watch() -> None:
        while True:
            await asyncio.sleep(every)
            sample()

    watcher = asyncio.ensure_future(watch())
    try:
        await job
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _resumed_ages(emulator: Emulator, name: str) -> tuple[str, list[tuple[float, float]]]:
    """Create a face named ``name``, resume it an hour later from another client, and
    await it: its id, and ``(emulator time, job.age)`` every ten minutes meanwhile."""
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as creator:
        created = await creator.faces.create(train_video_url=VIDEO, face_name=name)
    await asyncio.sleep(HOUR)
    ages: list[tuple[float, float]] = []
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as client:
        job = client.faces.job(created.face_id)

        def sample() -> None:
            if job.age is not None:
                ages.append((emulator.now(), job.age))

        await _await_sampling(job, 600.0, sample)
    return created.face_id, ages


#: Ten trainings of 2.9 to 4.1 hours, offset so that a fixed 120 s poller's latencies are
#: spread evenly from 6 to 114 s: the 60 s it averages over random phases, not a lucky
#: alignment of its grid with the finishes.
DURATIONS = tuple(120.0 * (87 + 4 * k) + 6.0 + 12.0 * ((7 * k) % 10) for k in range(10))


async def _family(
    curve: str,
    poll: PollPolicy,
    seeds: Sequence[int] = (11,),
    *,
    skew: float | None = None,
    durations: Sequence[float] = DURATIONS,
) -> tuple[float, float]:
    """Mean requests and latency of one policy over trainings of ``durations`` (2.9 to 4.1
    hours unless told).

    Each seed of the jitter waits for the ten trainings once, on a fresh emulator and client.
    With ``skew``, each is waited for from its id alone, by another client, and its
    ``created_at`` is ``skew`` seconds off.
    """
    results = []
    for seed in seeds:
        random.seed(seed)  # the jitter: the same run every time
        async with (
            Emulator(api_key=API_KEY, seed=3) as emu,
            TavusClient(api_key=API_KEY, base_url=emu.url, poll=poll) as client,
            TavusClient(api_key=API_KEY, base_url=emu.url) as creator,
        ):
            for seconds in durations:
                name = f"{curve} {seconds}"
                if skew is None:
                    scenario = Scenario(duration=seconds, curve=curve)
                    results.append(await _train(emu, client, name, scenario))
                else:
                    scenario = Scenario(duration=seconds, curve=curve, created_at_skew=skew)
                    results.append(await _train(emu, creator, name, scenario, waiter=client))
    return statistics.fmean(r[2] for r in results), statistics.fmean(r[1] for r in results)


# ---------------------------------------------------------------------- over the emulator


@pytest.mark.parametrize(
    "curve",
    [
        *("silent", "stall_last", "hundred_early", "early_done", "asymptote"),
        *("sigmoid", "ease_out", "stages", "stops_at_90"),
        *("coarse", "jump_finish", "stuck_low", "random", "deciles"),
        *("deciles_99", "twentieths_99", "fifths_99", "done_at_80", "holds_90_30"),
        "late_climb",
    ],
)
async def test_no_worse_than_a_fixed_120_s_poller_when_progress_misleads(
    curve: str,
) -> None:
    # Progress that never moves, sits on 99/100 or 100/100 for the last 40 % or 20 %, is
    # perfectly regular and still finishes at 60/100, creeps ever slower and finishes at
    # 98/100 while the slowdown says the end is far, promises the finish at every step of a
    # slowing tail (sigmoid, ease-out) or of each of three stages, or comes steadily to
    # 90/100 and stops there for the last 10 % (a stall that says nothing of the finish:
    # 69 s when it was watched at half the prior's density, 44 s at all of it), jumps 25
    # points at a time, completes from 90/100 or sits at 10/100, or is a new random curve
    # for every training (knots, grain, noise and last value drawn by the emulator), or climbs
    # in ten steps of ten points to 100/100 at 80 % and sits there (every forecast window
    # seventeen minutes wide: 127 requests in simulation when a forecast made at 100/100
    # was believed as one at 99/100 is, against 107), or climbs in even steps of ten,
    # five or twenty points to 99/100 (a ceiling: read as 100/100) at 70 to 80 % and holds
    # it (102-103, 91 and 90 requests over three seeds, 107 when the forecast of one more
    # step was believed), or climbs steadily and completes at 80/100, its forecast a quarter
    # too late (the window's insurance watches for it): the same trainings are waited for by
    # the default and by a fixed 120 s poller, which the default must match on both axes.
    ours_requests, ours_latency = await _family(curve, PollPolicy())
    fixed_requests, fixed_latency = await _family(curve, PollPolicy.fixed(120.0))
    assert ours_requests <= fixed_requests
    assert ours_latency <= fixed_latency


@pytest.mark.parametrize("curve", ["stall_last_20", "stall_last_10"])
async def test_a_long_last_step_after_a_steady_climb_costs_no_more_than_a_fixed_poller(
    curve: str,
) -> None:
    # 99/100 from 80 % or 90 %, after a climb of even steps: the last step is forecast as
    # one more such step, as narrowly as the steps were even, so the forecast fails within
    # minutes and hands over to the prior (when every last step was as uncertain as uneven
    # steps make it, about 35 polls 10-25 s apart came first: 110 and 113 requests against
    # a fixed 120 s poller's 107). Three seeds of the jitter, thirty trainings: one seed's
    # ten alone range from 31 to 64 s on the first curve. A fixed poller has no jitter: one
    # run of it is all three.
    ours_requests, ours_latency = await _family(curve, PollPolicy(), seeds=(11, 12, 13))
    fixed_requests, fixed_latency = await _family(curve, PollPolicy.fixed(120.0))
    assert ours_requests <= fixed_requests
    assert ours_latency <= fixed_latency


async def test_a_silent_training_that_runs_past_the_window_is_seen_sooner_than_by_a_fixed_poller(
    emulator: Emulator,
) -> None:
    # Silent trainings of 5.4 to 6.6 h against the documented 3-4 h, nothing learned: past
    # the window the prior thins. Eight seeds of the jitter (one seed's ten trainings alone
    # read 43 to 89 s before the pace past the window): before it, 64 s where a fixed poller
    # spending as many requests averages 62 s; now 46 s against 59 s. No wait past the
    # window is longer than 0.9 of the reads' average spacing so far.
    policy = PollPolicy(learn_duration=False)
    latencies, requests = [], []
    async with TavusClient(api_key=API_KEY, base_url=emulator.url, poll=policy) as client:
        for seed in range(11, 19):
            random.seed(seed)  # the jitter: the same run every time
            for seconds in DURATIONS:
                late = seconds + 2.5 * HOUR  # whole 120 s steps: phases stay spread
                scenario = Scenario(duration=late, curve="silent")
                name = f"late {seed} {seconds}"
                _, latency, count = await _train(emulator, client, name, scenario)
                latencies.append(latency)
                requests.append(count)
    fixed = statistics.fmean(DURATIONS) + 2.5 * HOUR
    assert statistics.fmean(latencies) <= fixed / (2.0 * statistics.fmean(requests))


async def test_a_silent_face_of_unknown_age_costs_no_more_than_a_fixed_120_s_poller() -> None:
    # Resumed by id moments after its creation, from a server that sends no Date and whose
    # created_at is two hours ahead (of our wall clock too): its age is unknown and progress
    # is silent. The same trainings as above are waited for by the
    # default and by a fixed 120 s poller. A belief that takes every such face as caught at
    # a random moment of its training polls at a fixed poller's pace from the first read and
    # spent more requests than 120 s; even odds of a fresh face keep it under, on both axes.
    async def family(poll: PollPolicy) -> tuple[float, float]:
        random.seed(11)
        results = []
        async with (
            Emulator(api_key=API_KEY, seed=3, date_skew=None) as emu,
            TavusClient(api_key=API_KEY, base_url=emu.url, poll=poll) as creator,
            TavusClient(api_key=API_KEY, base_url=emu.url, poll=poll) as client,
        ):
            for seconds in DURATIONS:
                name = f"resumed {seconds}"
                emu.add_rule(
                    Rule(
                        name_contains=name,
                        scenario=Scenario(
                            duration=seconds, curve="silent", created_at_skew=2 * HOUR
                        ),
                    )
                )
                created = await creator.faces.create(train_video_url=VIDEO, face_name=name)
                job = client.faces.job(created.face_id)
                await job
                assert job.age is None
                finished = emu.finish_time(created.face_id)
                assert finished is not None
                gets = len(_gets(emu, created.face_id))
                results.append((1 + gets, emu.now() - finished))
        return statistics.fmean(r[0] for r in results), statistics.fmean(r[1] for r in results)

    ours_requests, ours_latency = await family(PollPolicy())
    fixed_requests, fixed_latency = await family(PollPolicy.fixed(120.0))
    assert ours_requests <= fixed_requests
    assert ours_latency <= fixed_latency


async def test_a_silent_face_of_untold_age_picked_up_mid_way_beats_a_fixed_poller() -> None:
    # Faces caught at any moment of their training (from 0 to 90 % of it, spread evenly) by
    # a worker that cannot tell their age: created_at is five and a half hours ahead of the
    # server's Date (local time in India, without its offset). At even odds of a fresh face,
    # the wait read them sparsely where they finished: 85 s late for 42 requests here, where
    # a fixed poller spending as many waits 84.6 s on average (in a trial on another server,
    # 103 s against 88 s); at the odds of an age never told (0.3), 63 s for 48 (73.5 s).
    random.seed(5)  # the jitter
    requests, latencies, remaining = [], [], []
    async with (
        Emulator(api_key=API_KEY, seed=3) as emu,
        TavusClient(api_key=API_KEY, base_url=emu.url) as creator,
    ):
        for k, seconds in enumerate(DURATIONS * 2):
            name = f"caught {k}"
            scenario = Scenario(duration=seconds, curve="silent", created_at_skew=5.5 * HOUR)
            emu.add_rule(Rule(name_contains=name, scenario=scenario))
            created = await creator.faces.create(train_video_url=VIDEO, face_name=name)
            await asyncio.sleep(0.9 * ((0.37 + k * 0.618) % 1.0) * seconds)
            finished = emu.finish_time(created.face_id)
            assert finished is not None
            remaining.append(finished - emu.now())
            async with TavusClient(api_key=API_KEY, base_url=emu.url) as client:
                job = client.faces.job(created.face_id)
                await job.poll_once()
                assert job.age is None  # untold
                await job
            requests.append(len(_gets(emu, created.face_id)))
            latencies.append(emu.now() - finished)
    fixed = statistics.fmean(remaining) / (2.0 * statistics.fmean(requests))
    assert statistics.fmean(latencies) <= fixed


async def test_a_pace_is_a_hard_bill_on_a_curve_that_keeps_promising_the_finish() -> None:
    # The sigmoid's steps keep getting longer near the end, each looking like the last. A
    # pace keeps the wait within the requests of a fixed poller at that interval (plus the
    # ramp's free reads), even where the default would spend more. At 120 s, which the
    # default already stays under, it costs no latency against that poller.
    unbounded, _ = await _family("sigmoid", PollPolicy(min_average_interval=None))
    for interval in (120.0, 150.0, 180.0):
        paced = PollPolicy(min_average_interval=interval)
        ours_requests, ours_latency = await _family("sigmoid", paced)
        fixed_requests, fixed_latency = await _family("sigmoid", PollPolicy.fixed(interval))
        assert ours_requests <= fixed_requests + FREE_READS
        if interval == 120.0:
            assert ours_latency <= fixed_latency
        if interval == 180.0:
            assert unbounded > fixed_requests + FREE_READS  # at 180 s, the pace did bind


async def test_silent_progress_follows_the_duration_prior(emulator: Emulator) -> None:
    # 0/100 until the end: polls are sparse while a finish is unlikely (the first two hours:
    # at most the failure watch's pace) and densest in the expected window.
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as client:
        face_id, latency, _ = await _train(emulator, client, "quiet", Scenario(curve="silent"))
    times = [r.time for r in _gets(emulator, face_id)]
    policy = PollPolicy()
    early = [t for t in times if 600.0 <= t < 2 * HOUR]
    window = [t for t in times if 3 * HOUR <= t < 3.5 * HOUR]
    assert len(early) <= (2 * HOUR - 600.0) / (policy.max_interval * (1 - policy.jitter)) + 1
    assert len(window) / 0.5 > 3 * len(early) / (2 * HOUR - 600.0) * HOUR
    assert latency < 2 * policy.window_interval


@pytest.mark.parametrize("curve", ["silent", "stall_last"])
async def test_trainings_all_of_one_length_at_the_window_start_are_seen_within_a_minute(
    curve: str,
) -> None:
    # Ten trainings of 2.75 to 2.84 h (36 s apart: a fixed poller's phases spread evenly,
    # and ours over three of its periods; all within two minutes of one length had our
    # mean move by 7 s with the phase alone), silent or on 99/100 from 60 %, nothing
    # learned: the prior's hazard is low at its window's start, and the square-root rule
    # alone read them every 2.5-3 minutes there (72 and 75.5 s over the benchmark's 120).
    # The window's cap reads them at least every 110 s: within a fixed 120 s poller's
    # minute, for fewer requests.
    durations = [2.75 * HOUR + 36.0 * k for k in range(10)]
    policy = PollPolicy(learn_duration=False)
    ours_requests, ours_latency = await _family(
        curve, policy, seeds=(11, 12, 13), durations=durations
    )
    fixed_requests, fixed_latency = await _family(
        curve, PollPolicy.fixed(120.0), durations=durations
    )
    assert ours_requests <= fixed_requests
    assert ours_latency <= min(60.0, fixed_latency)


async def test_a_long_last_step_is_watched_more_closely_the_longer_it_lasts(
    emulator: Emulator,
) -> None:
    # 99/100 from 2.1 h of a 3.5 h training: after a short burst (99/100 usually means
    # soon), the longer it sits there, the more the finish is due, and polls get denser.
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as client:
        face_id, latency, requests = await _train(
            emulator, client, "stuck", Scenario(curve="stall_last")
        )
    times = [r.time for r in _gets(emulator, face_id)]

    def spacing(start: float, end: float) -> float:
        inside = [t for t in times if start <= t < end]
        return (end - start) / max(len(inside), 1)

    assert spacing(3.0 * HOUR, 3.5 * HOUR) < spacing(2.3 * HOUR, 2.8 * HOUR)
    assert latency <= 60.0
    assert requests <= 105


async def test_a_created_at_hours_off_is_noticed(emulator: Emulator) -> None:
    # A face that looks five hours older than it is (a time zone, a server's clock): a
    # process resuming it estimates its age from created_at and the server's Date, notices
    # that progress contradicts that, and relies on what it observed.
    emulator.add_rule(
        Rule(name_contains="tz", scenario=Scenario(curve="linear", created_at_skew=-5 * HOUR))
    )
    face_id, ages = await _resumed_ages(emulator, "tz")
    # The server's word (six hours at the resume) is dropped within minutes: progress and
    # the time the training keeps running both contradict it. The face was created at
    # emulated time 0, so its true age is the emulator's clock.
    assert len(ages) > 10
    assert all(abs(age - now) < 0.5 * HOUR for now, age in ages)
    finished = emulator.finish_time(face_id)
    assert finished is not None
    assert emulator.now() - finished <= 60.0


async def test_progress_that_climbs_from_0_again_is_not_read_as_the_faces_age(
    emulator: Emulator,
) -> None:
    # Two stages, each counted from 0/100: the second one's climb explains an age of
    # minutes, not the face's. Read as its age, a right created_at (2.7 h) became a
    # wrong 1.6 h, and the face was polled every five minutes where its finish was due
    # (benchmarks/held_out.py, family 5, h12: 98 s, now 92 s, on 40 trainings).
    stages = [(0.69 * i / 60, i) for i in range(60)] + [
        (0.69 + 0.31 * i / 60, i) for i in range(60)
    ]
    emulator.add_rule(Rule(name_contains="stages", scenario=Scenario(curve=stages)))
    _, ages = await _resumed_ages(emulator, "stages")
    # Created at emulated time 0: the true age is the emulator's clock, stages or not.
    assert [now for now, _ in ages if now > 0.69 * 3.5 * HOUR], "no sample after the restart"
    assert all(abs(age - now) < 0.1 * HOUR for now, age in ages)


async def test_a_silent_face_whose_created_at_is_hours_off_costs_no_more_than_fixed() -> None:
    # The other side of keeping a server's age in the mixture: a silent face resumed at once,
    # whose created_at says it is two, three or eight hours old (a server's clock, a time
    # zone). Polls follow that age while the survival leaves it credible, then thin out; the
    # whole wait costs no more than a fixed 120 s poller, and is seen sooner. Eight hours is
    # a story the prior finds unlikely for a face still training, and weighs as such (when
    # the server's age was weighed only from the first read on, it cost 115 requests here:
    # the prior's broad tail, past its core, polled like a fixed poller for hours).
    for skew in (-2 * HOUR, -3 * HOUR, -8 * HOUR):
        ours_requests, ours_latency = await _family("silent", PollPolicy(), skew=skew)
        fixed_requests, fixed_latency = await _family("silent", PollPolicy.fixed(120.0), skew=skew)
        assert ours_requests <= fixed_requests
        assert ours_latency <= fixed_latency


async def test_a_doubted_age_teaches_the_client_nothing(emulator: Emulator) -> None:
    # A silent face whose created_at says eight hours when it was just created: the server's
    # age is soon doubted, and stays doubted even when, late in the training, it would come
    # back into favour. Its finish is not a duration to learn from (it would read 12 h):
    # the next training is still expected in 3-4 h.
    scenario = Scenario(curve="silent", duration=4.1 * HOUR, created_at_skew=-8 * HOUR)
    emulator.add_rule(Rule(name_contains="off", scenario=scenario))
    emulator.add_rule(Rule(name_contains="next", scenario=Scenario(curve="silent")))
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as creator:
        created = await creator.faces.create(train_video_url=VIDEO, face_name="off")
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as client:
        await client.faces.job(created.face_id)
        job = await client.faces.create(train_video_url=VIDEO, face_name="next")
        await job.poll_once()
        eta = job.eta
    assert eta is not None
    assert 3 * HOUR <= eta <= 4 * HOUR


@pytest.mark.parametrize(("hours", "resumed_at"), [(4.0, 3.0), (4.0, 3.4), (3.6, 3.0)])
async def test_a_late_resume_that_runs_long_is_still_watched_where_it_is_due(
    hours: float, resumed_at: float
) -> None:
    # A silent training resumed late by a process that knows only its id, the clocks right:
    # it outlives what its age predicted (it runs long), so "created just now" or "caught at
    # a random moment" soon explain the survival better. They take over only as far as they
    # do explain it: the server's age keeps its share, and polls stay dense where the finish
    # is due. (When that age was dropped outright, the last 20 minutes saw 5 or 6 polls.)
    random.seed(1)  # the jitter
    async with Emulator(api_key=API_KEY, seed=3) as emu:
        emu.add_rule(
            Rule(name_contains="late", scenario=Scenario(curve="silent", duration=hours * HOUR))
        )
        async with TavusClient(api_key=API_KEY, base_url=emu.url) as creator:
            created = await creator.faces.create(train_video_url=VIDEO, face_name="late")
        await asyncio.sleep(resumed_at * HOUR)
        async with TavusClient(api_key=API_KEY, base_url=emu.url) as client:
            await client.faces.job(created.face_id)
        finished = emu.finish_time(created.face_id)
        times = [r.time for r in _gets(emu, created.face_id)]
    assert finished is not None
    due = [t for t in times if finished - 1200.0 <= t < finished]
    assert len(due) >= 8  # a fixed 120 s poller makes 10
    # ...and not at any price: at most a fixed 60 s poller's bill from the resume on.
    assert len(times) <= (hours - resumed_at) * HOUR / 60.0


@pytest.mark.parametrize("resumed_at", [0.0, 2.0])
async def test_a_resumed_face_ramps_up_from_its_age_not_from_the_first_read(
    resumed_at: float,
) -> None:
    # The ramp after a create (reads 5, 10, 20 s... apart) watches for failures that show
    # within minutes of creation. A face resumed at creation (the usual hand-off) keeps it;
    # one resumed two hours in, its age read from the server, is past them: its reads are
    # spaced by the prior from the first (a ramp from there cost five requests a resume).
    random.seed(1)  # the jitter
    async with Emulator(api_key=API_KEY, seed=3) as emu:
        emu.add_rule(Rule(name_contains="r", scenario=Scenario(curve="silent")))
        async with TavusClient(api_key=API_KEY, base_url=emu.url) as creator:
            created = await creator.faces.create(train_video_url=VIDEO, face_name="r")
        await asyncio.sleep(resumed_at * HOUR)
        async with TavusClient(api_key=API_KEY, base_url=emu.url) as client:
            job = client.faces.job(created.face_id)
            for _ in range(4):
                result = await job.poll_once()
                await asyncio.sleep(result.next_delay)
        times = [r.time for r in _gets(emu, created.face_id)]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3
    if resumed_at == 0.0:
        assert gaps[0] < 30.0
    else:
        assert min(gaps) > 60.0


@pytest.mark.parametrize("curve", ["linear", "asymptote", "sigmoid"])
@pytest.mark.parametrize("resumed_at", [0.6, 0.75])
async def test_progress_that_explains_a_right_age_keeps_it(curve: str, resumed_at: float) -> None:
    # A face resumed late with the clocks right outlives what its age predicts, and the
    # polls doubt that age. Progress that explains that age, or a greater one (a curve
    # that bends towards its end), restores it; it must never put in its place the age a
    # bending curve explains (progress over its recent rate): that read 11 h, then 19 h,
    # for a face 3 h old creeping towards 98/100, whose finish was then looked for in the
    # wrong place (77 s on average, 61 s now, in a simulation of 300 such trainings).
    random.seed(1)  # the jitter
    duration = 3.5 * HOUR
    async with Emulator(api_key=API_KEY, seed=3) as emu:
        emu.add_rule(Rule(name_contains="late", scenario=Scenario(curve=curve, duration=duration)))
        async with TavusClient(api_key=API_KEY, base_url=emu.url) as creator:
            created = await creator.faces.create(train_video_url=VIDEO, face_name="late")
        await asyncio.sleep(resumed_at * duration)
        async with TavusClient(api_key=API_KEY, base_url=emu.url) as client:
            job = client.faces.job(created.face_id)
            ages: list[tuple[float, float]] = []

            def sample() -> None:
                if job.age is not None:
                    ages.append((emu.now(), job.age))

            await _await_sampling(job, 60.0, sample)
    # The face was created at emulated time 0: its true age is the emulator's clock.
    assert ages
    assert all(abs(age - now) < 60.0 for now, age in ages)


def test_progress_that_explains_a_doubted_age_restores_it() -> None:
    # Survival doubts a server's age when the face outlives what that age predicts: the
    # age may be too old, or the training long. Progress that explains at least that age
    # (within a quarter) rules out the first, and the age is trusted again, however far a
    # bending curve overshoots; progress that explains a younger age agrees with survival
    # that it is too old, and its age replaces the server's.
    def check(claimed_age: float | None, explained_age: float) -> Anchor:
        # Half an hour of steady progress (0.05 of it) whose rate explains explained_age.
        anchor, now, rate = Anchor(), 3 * HOUR, 0.05 / 1800.0
        if claimed_age is not None:
            anchor.start, anchor.source = now - claimed_age, "doubted"
        points = [(now - 300.0 * i, (explained_age - 300.0 * i) * rate) for i in range(6, -1, -1)]
        anchor.check(PRIOR, points, points[0][0], now)
        return anchor

    restored = [check(3 * HOUR, explained) for explained in (2.5 * HOUR, 3.5 * HOUR, 19 * HOUR)]
    for anchor in restored:
        assert (anchor.source, anchor.trusted) == ("witnessed", 0.0)
    # A restored age is trusted, not measured: the client learns no duration from it.
    belief = Belief(PRIOR, restored[-1])
    belief.observe(4 * HOUR, _face(None, FaceStatus.STARTED), None)
    belief.observe(4 * HOUR + 60.0, _face(100, FaceStatus("completed")), None)
    assert belief.start == 0.0
    assert belief.finished(4 * HOUR + 60.0, _face(100, FaceStatus("completed"))) is None
    younger = check(3 * HOUR, 2 * HOUR)
    assert younger.source == "observed"
    assert younger.trusted == pytest.approx(HOUR)
    # With no age to restore, an age of 19 h is a bending curve's, not a face's.
    unknown = check(None, 19 * HOUR)
    assert (unknown.source, unknown.start) == (None, None)
    assert check(None, 2 * HOUR).source == "observed"


async def test_a_date_that_does_not_keep_time_is_no_date() -> None:
    # A server on virtual time whose Date is the machine's real clock: an hour (virtual) in,
    # its created_at (emulated) against its Date (real) says the face is brand new. The Date
    # barely moves while our clock does, so it is taken as no Date: created_at is read
    # against our own wall clock, which keeps time with the loop's, and the age is right.
    duration = 3.5 * HOUR
    async with Emulator(api_key=API_KEY, real_date=True, seed=4) as emu:
        emu.add_rule(Rule(name_contains="x", scenario=Scenario(curve="silent", duration=duration)))
        async with TavusClient(api_key=API_KEY, base_url=emu.url) as creator:
            created = await creator.faces.create(train_video_url=VIDEO, face_name="x")
        await asyncio.sleep(HOUR)
        async with TavusClient(api_key=API_KEY, base_url=emu.url) as client:
            job = client.faces.job(created.face_id)
            ages: list[tuple[float, float | None]] = []
            await _await_sampling(job, 60.0, lambda: ages.append((emu.now(), job.age)))
        finished = emu.finish_time(created.face_id)
    assert finished is not None
    first_age = ages[0][1]
    assert first_age is not None
    assert first_age < 0.5 * HOUR  # the server's word at the resume: an hour too young
    # Then the emulator's clock (the face was created at its time 0), until the polls may
    # come to doubt it (unknown, not wrong).
    dated = [(now, age) for now, age in ages[1:] if age is not None and age > 0.5 * HOUR]
    assert dated
    assert all(abs(age - now) < 120.0 for now, age in dated)


async def test_clients_sharing_an_injected_clock_share_a_wall_clock() -> None:
    # The same on an injected clock: a client opened an hour (of that clock) after the one
    # that created the face reads our wall clock as the first does, an hour on, and dates
    # the face right once the real-clock Date is found out. (With a wall clock of its own,
    # read when it opened, the face looked just created: a silent one picked up mid-way was
    # seen after 78 s for 50 requests instead of 60 s for 48, 24 trainings on a test server.)
    clock = VirtualClock()
    policy = PollPolicy(clock=clock.time, sleep=clock.sleep)
    retry = RetryPolicy(sleep=clock.sleep)
    async with Emulator(api_key=API_KEY, clock=clock, real_date=True, seed=4) as emu:
        emu.add_rule(Rule(name_contains="x", scenario=Scenario(curve="silent", duration=4 * HOUR)))
        async with TavusClient(
            api_key=API_KEY, base_url=emu.url, poll=policy, retry=retry
        ) as creator:
            created = await creator.faces.create(train_video_url=VIDEO, face_name="x")
        clock.advance(HOUR)
        ages: list[tuple[float, float | None]] = []
        async with TavusClient(
            api_key=API_KEY, base_url=emu.url, poll=policy, retry=retry
        ) as client:
            job = client.faces.job(created.face_id)
            for _ in range(12):
                result = await job.poll_once()
                ages.append((emu.now(), job.age))
                await clock.sleep(result.next_delay)
    first_age = ages[0][1]
    assert first_age is not None
    assert first_age < 0.5 * HOUR  # the real-clock Date's word: just created
    dated = [(now, age) for now, age in ages[1:] if age is not None and age > 0.5 * HOUR]
    assert dated
    assert all(abs(age - now) < 120.0 for now, age in dated)


@contextlib.asynccontextmanager
async def _resumed_at_once(
    date_skew: float | None, *, created_at_skew: float
) -> AsyncIterator[tuple[Emulator, TrainingJob[Face]]]:
    """A silent 1 h training whose ``created_at`` is served ``created_at_skew`` seconds
    ahead, created by one client and resumed at once, by id, by another (open inside)."""
    async with Emulator(api_key=API_KEY, seed=2, date_skew=date_skew) as emu:
        scenario = Scenario(curve="silent", duration=HOUR, created_at_skew=created_at_skew)
        emu.add_rule(Rule(name_contains="x", scenario=scenario))
        async with TavusClient(api_key=API_KEY, base_url=emu.url) as creator:
            created = await creator.faces.create(train_video_url=VIDEO, face_name="x")
        async with TavusClient(api_key=API_KEY, base_url=emu.url) as client:
            yield emu, client.faces.job(created.face_id)


@pytest.mark.parametrize("date_skew", [0.0, None], ids=["date", "no date"])
async def test_a_created_at_a_little_ahead_is_a_face_just_created(date_skew: float | None) -> None:
    # A created_at 90 s ahead of the server's Date (or of our wall clock, from a server that
    # sends none): clocks a little apart, not a time zone. The face resumed at once is just
    # created. With -2 s as the bound its age was unknown: thirty silent trainings resumed
    # so cost 86 requests and 42.5 s each, against 76 and 36 s now.
    async with _resumed_at_once(date_skew, created_at_skew=90.0) as (_, job):
        await job.poll_once()
        assert job.age is not None
        assert 0.0 <= job.age < 60.0


@pytest.mark.parametrize("date_skew", [0.0, None], ids=["date", "no date"])
async def test_a_created_at_in_the_future_leaves_the_age_unknown(date_skew: float | None) -> None:
    # created_at after the server's Date or, from a server that sends none, after our own
    # wall clock: no age is made up.
    async with _resumed_at_once(date_skew, created_at_skew=2 * HOUR) as (emu, job):
        await job.refresh()
        await job.poll_once()
        assert job.age is None
        eta = job.eta
        # Without an age, the estimate is that of a training caught at a random moment.
        assert eta is not None
        assert 0 < eta < 4 * HOUR
        await job
    assert len(_gets(emu, job.face_id)) < HOUR / 60.0


@pytest.mark.parametrize("resumed_at", [0.3, 0.8])
async def test_without_a_date_created_at_is_read_against_our_wall_clock(resumed_at: float) -> None:
    # A server that sends no Date: a face resumed mid-way by a client opened then is dated
    # by its created_at against our own wall clock, which keeps time with the event loop's
    # (virtual here) from when the loop's first client read it. The age is right from the
    # first read on (without it, a silent face resumed mid-way was seen after 105 s on
    # average in the benchmark; with it, after about 65 s).
    random.seed(1)  # the jitter
    duration = 3.5 * HOUR
    async with Emulator(api_key=API_KEY, seed=3, date_skew=None, scenario="silent") as emu:
        emu.add_rule(Rule(name_contains="x", scenario=Scenario(curve="silent", duration=duration)))
        async with TavusClient(api_key=API_KEY, base_url=emu.url) as creator:
            created = await creator.faces.create(train_video_url=VIDEO, face_name="x")
        await asyncio.sleep(resumed_at * duration)
        async with TavusClient(api_key=API_KEY, base_url=emu.url) as client:
            job = client.faces.job(created.face_id)
            ages: list[tuple[float, float | None]] = []
            await _await_sampling(job, 60.0, lambda: ages.append((emu.now(), job.age)))
    # The face was created at emulated time 0: its true age is the emulator's clock. (Later,
    # a face that outlives what its age predicts may have it doubted: unknown, not wrong.)
    assert ages
    assert ages[0][1] is not None
    assert all(abs(age - now) < 60.0 for now, age in ages if age is not None)


async def test_every_client_on_a_loop_reads_one_wall_clock_moved_on_by_the_loop() -> None:
    # The wall clock that dates created_at when a server sends no Date: read once per loop
    # and moved on by the loop's clock, so a client opened an hour (of virtual time) later
    # agrees with the first, and the first reads an hour more. (Read per client, the late
    # one would take every face as an hour younger than the first does.)
    def hub(policy: PollPolicy) -> JobHub:
        return JobHub(policy=policy, max_polls_per_second=None, pause_remaining=lambda: 0.0)

    first = hub(PollPolicy())
    start = first.wall(loop_clock)
    assert start is not None
    await asyncio.sleep(HOUR)
    late = hub(PollPolicy())
    assert late.wall(loop_clock) == pytest.approx(start + HOUR, abs=1.0)
    assert first.wall(loop_clock) == pytest.approx(start + HOUR, abs=1.0)
    # Another clock than the client's dates nothing; an injected one is read per clock.
    assert first.wall(lambda: 0.0) is None
    now = [5.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    injected = hub(PollPolicy(clock=lambda: now[0], sleep=sleep))
    clock = injected.policy.clock
    before = injected.wall(clock)
    now[0] += 600.0
    after = injected.wall(clock)
    assert before is not None
    assert after is not None
    assert after - before == pytest.approx(600.0)
    # A client opened later on the same clock reads the same wall clock.
    assert hub(PollPolicy(clock=clock, sleep=sleep)).wall(clock) == pytest.approx(after)

    class Unhashable:
        __hash__ = None  # type: ignore[assignment]  # a callable a dict cannot key

        def __call__(self) -> float:
            return now[0]

    odd = Unhashable()
    own = hub(PollPolicy(clock=odd, sleep=sleep))
    read = own.wall(odd)
    now[0] += 60.0
    assert read is not None
    assert own.wall(odd) == pytest.approx(read + 60.0)  # kept by the client itself


async def _eta_samples(
    emulator: Emulator, client: TavusClient, curve: str
) -> list[tuple[float, float, float]]:
    """(age, ETA, the ETA's error) every 15 minutes while a training of ``curve`` is awaited."""
    emulator.add_rule(Rule(name_contains=curve, scenario=Scenario(curve=curve)))
    job = await client.faces.create(train_video_url=VIDEO, face_name=curve)
    seen: list[tuple[float, float, float]] = []

    def sample() -> None:
        age, eta = job.age, job.eta
        if age is not None and eta is not None:
            seen.append((emulator.now(), age, eta))

    await _await_sampling(job, 900.0, sample)
    finished = emulator.finish_time(job.face_id)
    assert finished is not None
    return [(age, eta, now + eta - finished) for now, age, eta in seen]


async def test_the_eta_is_the_prior_until_progress_says_more(emulator: Emulator) -> None:
    # Silent progress: from the first poll, age + ETA stays within the expected 3-4 h (not
    # "~15 h" then "~28 h"). Moving progress: the estimate narrows as it comes in.
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as client:
        silent = await _eta_samples(emulator, client, "silent")
        linear = await _eta_samples(emulator, client, "linear")
    within = [age + eta for age, eta, _ in silent if age < 3 * HOUR]
    assert len(within) >= 10
    assert all(3 * HOUR <= total <= 4 * HOUR for total in within)
    errors = [abs(error) for age, _, error in linear if age > HOUR]
    # The second hour's mean, not its first sample: one sample can be lucky with jitter.
    early = [abs(error) for age, _, error in linear if HOUR < age < 2 * HOUR]
    assert len(early) >= 3
    assert errors[-1] < sum(early) / len(early)
    assert errors[-1] < 600.0


async def test_the_client_learns_how_long_its_trainings_take(emulator: Emulator) -> None:
    # Three one-hour trainings watched to the end: the fourth, silent, is expected around
    # one hour, not at 3.5 h, without a single extra request.
    emulator.add_rule(Rule(name_contains="short", scenario=Scenario(duration=HOUR)))
    emulator.add_rule(Rule(name_contains="quiet", scenario=Scenario(duration=HOUR, curve="silent")))
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as client:
        fresh = await client.faces.create(train_video_url=VIDEO, face_name="quiet before")
        await fresh.refresh()
        await fresh.poll_once()
        before = fresh.eta
        for i in range(3):
            await (await client.faces.create(train_video_url=VIDEO, face_name=f"short {i}"))
        sent = client.requests_sent
        job = await client.faces.create(train_video_url=VIDEO, face_name="quiet after")
        result = await job.poll_once()
        after = job.eta
        assert client.requests_sent == sent + 2  # the create and the poll
        await job
    assert before is not None
    assert after is not None
    assert before > 3 * HOUR
    assert after < 2 * HOUR
    assert not result.done


async def test_what_a_client_learned_carries_into_another_process(emulator: Emulator) -> None:
    # A worker that restarts would start again from the documented range: the range the
    # first client learned, saved and passed back, starts the next one where it stopped.
    emulator.add_rule(Rule(name_contains="short", scenario=Scenario(duration=HOUR)))
    emulator.add_rule(Rule(name_contains="quiet", scenario=Scenario(duration=HOUR, curve="silent")))
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as client:
        assert client.expected_duration == client.poll_policy.expected_duration  # nothing yet
        for i in range(3):
            await (await client.faces.create(train_video_url=VIDEO, face_name=f"short {i}"))
        saved = client.expected_duration
    low, high = saved
    assert low < HOUR < high  # the median, sqrt(low * high), moved from 3.5 h to under 2 h
    assert math.sqrt(low * high) < 2 * HOUR
    policy = PollPolicy(expected_duration=saved)  # accepted as it is
    async with (
        TavusClient(api_key=API_KEY, base_url=emulator.url, poll=policy) as restarted,
        TavusClient(api_key=API_KEY, base_url=emulator.url) as naive,
    ):
        assert restarted.expected_duration == saved
        jobs = [
            await c.faces.create(train_video_url=VIDEO, face_name="quiet")
            for c in (restarted, naive)
        ]
        for job in jobs:
            await job.poll_once()
        told, untold = (job.eta for job in jobs)
        await asyncio.gather(*jobs)
    assert told is not None
    assert untold is not None
    assert told < 2 * HOUR < 3 * HOUR < untold


async def test_a_stateless_worker_learns_the_training_it_sees_finish(
    emulator: Emulator,
) -> None:
    # A new client per poll, the state passed along: the one that reads the finish learns
    # the training's length (the state carries its start), ready to be passed on.
    emulator.add_rule(Rule(name_contains="short", scenario=Scenario(duration=HOUR)))
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as creator:
        job = await creator.faces.create(train_video_url=VIDEO, face_name="short")
        state, documented = job.state, creator.expected_duration
    while True:
        async with TavusClient(api_key=API_KEY, base_url=emulator.url) as worker:
            result = await worker.faces.job(job.face_id, state=state).poll_once()
            learned = worker.expected_duration
        if result.done:
            break
        assert learned == documented  # nothing finished yet
        state = result.state
        await asyncio.sleep(result.next_delay)
    assert math.sqrt(learned[0] * learned[1]) < math.sqrt(documented[0] * documented[1])


async def _learned_from_resumes(
    emulator: Emulator, *, duration: float, pickup: float, skew: float = 0.0, count: int = 4
) -> tuple[tuple[float, float], tuple[float, float]]:
    """What a client that only resumes faces (``pickup`` seconds after their creation)
    learns from watching them finish, beside what it was told."""
    scenario = Scenario(duration=duration, created_at_skew=skew)
    emulator.add_rule(Rule(name_contains="resumed", scenario=scenario))
    async with (
        TavusClient(api_key=API_KEY, base_url=emulator.url) as creator,
        TavusClient(api_key=API_KEY, base_url=emulator.url) as worker,
    ):
        ids = [
            (await creator.faces.create(train_video_url=VIDEO, face_name="resumed")).face_id
            for _ in range(count)
        ]
        await asyncio.sleep(pickup)
        faces = await asyncio.gather(*(worker.faces.job(face_id) for face_id in ids))
        assert all(face.status.is_success for face in faces)
        return worker.expected_duration, worker.poll_policy.expected_duration


def _median(duration_range: tuple[float, float]) -> float:
    return math.sqrt(duration_range[0] * duration_range[1])


async def test_a_worker_handed_faces_at_creation_learns_their_length(
    emulator: Emulator,
) -> None:
    # One-hour trainings, each handed to a worker as it is created: their created_at, read
    # against the server's Date, dates them; the worker learns they take about an hour.
    learned, told = await _learned_from_resumes(emulator, duration=HOUR, pickup=30.0)
    assert _median(learned) < 2 * HOUR < 3 * HOUR < _median(told)


async def test_a_face_that_only_looks_fresh_teaches_nothing(emulator: Emulator) -> None:
    # Picked up two hours into its training from a server whose created_at runs 2 h ahead:
    # it looks a minute old, as if handed over at its creation, but its progress at that
    # first read is well under way. Learned, each taught 1.5 h for a 3.5 h training.
    learned, told = await _learned_from_resumes(
        emulator, duration=3.5 * HOUR, pickup=2 * HOUR + 60, skew=2 * HOUR
    )
    assert learned == told


async def test_a_face_first_read_finished_teaches_nothing(emulator: Emulator) -> None:
    # Resumed five hours after its creation, done at one: the finish is anywhere in those
    # five hours. Learning its age at the read taught "5 h" for a one-hour training.
    learned, told = await _learned_from_resumes(emulator, duration=HOUR, pickup=5 * HOUR)
    assert learned == told


async def test_a_created_at_that_runs_ahead_teaches_nothing(emulator: Emulator) -> None:
    # Picked up 2.5 h into 3.5 h trainings, from a server whose created_at is 2 h ahead
    # (a time zone): each face looks half an hour old and finishes at 1.5 h by that clock.
    # Learned, those durations moved the worker's prior to 1.0-2.4 h, and every training it
    # then created was polled hours before its finish could come (147 requests for a silent
    # one instead of 70, in a simulation of the cadence). The finish, an hour and a half
    # in, is likelier for a face of unknown age than for one of the age the server told:
    # nothing is learned from it.
    learned, told = await _learned_from_resumes(
        emulator, duration=3.5 * HOUR, pickup=2.5 * HOUR, skew=2 * HOUR
    )
    assert learned == told


async def test_a_batch_does_not_teach_its_shortest_trainings_alone(emulator: Emulator) -> None:
    # Ten silent trainings of 2.9 to 4.1 h, created together and awaited together. When the
    # fourth is done, the six others have run longer than those four took: learning from
    # the finished alone expected the next in 3.2 h, sooner than most of the batch had
    # already run (and a face resumed then was read sparsely just when the rest of it
    # finished). The running ones count as durations of at least their age: with most of the
    # batch still running, the median the client expects is more than the batch's age.
    for seconds in DURATIONS:
        scenario = Scenario(duration=seconds, curve="silent")
        emulator.add_rule(Rule(name_contains=f"batch {seconds}", scenario=scenario))
    emulator.add_rule(Rule(name_contains="next", scenario=Scenario(curve="silent")))
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as client:
        jobs = [
            await client.faces.create(train_video_url=VIDEO, face_name=f"batch {seconds}")
            for seconds in DURATIONS
        ]
        start = emulator.now()
        finished = 0
        age, eta = 0.0, None
        async for _ in client.faces.as_completed(jobs):
            finished += 1
            if finished == 4:  # six still awaited
                age = emulator.now() - start
                job = await client.faces.create(train_video_url=VIDEO, face_name="next")
                await job.poll_once()
                eta = job.eta
                break
    assert eta is not None
    assert eta >= age > 0.0


@settings(max_examples=200, deadline=None)
@given(
    finished=st.lists(st.floats(0.2 * HOUR, 12 * HOUR), min_size=1, max_size=30),
    running=st.lists(st.floats(1.0, 20 * HOUR), max_size=40),
)
def test_running_trainings_never_make_the_learned_prior_shorter(
    finished: list[float], running: list[float]
) -> None:
    learner = DurationLearner(PRIOR)
    for duration in finished:
        learner.learn(duration)
    told = learner.with_running(running)
    assert told.median >= learner.prior.median - 0.1  # rounded to a tenth of a second
    assert math.isfinite(told.spread)
    assert told.spread > 0.0
    # Trainings that the estimate surely expects to be running still (two spreads short of
    # its median: 98 % of it lasts longer) tell nothing new. (A bound from the finished
    # trainings alone, 0.3 of the shortest, failed: one 9.9 h training learned leaves the
    # median at 4.9 h, and a training running for 3 h is then no news to ignore.)
    prior = learner.prior
    young = [a for a in running if a < prior.median * math.exp(-2.0 * prior.spread)]
    assert learner.with_running(young).median == pytest.approx(learner.prior.median, rel=0.02)


def test_a_fleet_running_does_not_drown_what_was_measured() -> None:
    # Forty trainings of 2.8 to 4.2 h measured; ten thousand running, their ages as a steady
    # stream of such trainings leaves them. Each running one weighed like a finished one,
    # they taught 4.4 h: a fleet's tail outvoting every duration the learner remembers.
    # Together they weigh what the finished ones it remembers do.
    draw = random.Random(1)
    learner = DurationLearner(PRIOR)
    for _ in range(40):
        learner.learn(draw.uniform(2.8, 4.2) * HOUR)
    ages: list[float] = []
    while len(ages) < 10_000:
        age, duration = draw.uniform(0.0, 4.2) * HOUR, draw.uniform(2.8, 4.2) * HOUR
        if duration > age:
            ages.append(age)
    told = learner.with_running(ages)
    assert learner.prior.median <= told.median <= 3.6 * HOUR
    assert told.spread <= 1.5 * learner.prior.spread


def test_nothing_learned_nothing_told() -> None:
    # Before any finish, running trainings alone do not replace the documented range: the
    # cadence's own survival reasoning covers a training that runs long.
    learner = DurationLearner(PRIOR)
    assert learner.with_running([5 * HOUR] * 10) is learner.prior


@pytest.mark.parametrize("date", ["emulated", "real", "none"])
async def test_a_stateless_worker_polls_like_one_process(date: str) -> None:
    # The same training, waited for in one process and by a worker that builds a new
    # client for every poll and passes only the state along: the same polls (jitter off).
    # The state measures the time between polls on the server's Date: emulated time, the
    # machine's real clock (which does not move with virtual time), or no Date at all.
    policy = PollPolicy(jitter=0.0)
    async with Emulator(
        api_key=API_KEY, real_date=date == "real", date_skew=None if date == "none" else 0.0
    ) as emulator:
        await _wait_in_two_ways(emulator, policy)


async def test_a_stateless_worker_finds_out_a_date_that_does_not_keep_time() -> None:
    # Faces picked up an hour in, from their id alone, on a server whose Date is the machine's
    # real clock (it barely moves on virtual time): its created_at against that Date says
    # "just created". One process finds the Date out over its reads; a worker with a new
    # client for every poll reads it once per process, and finds it out from the state,
    # whose delay the Date did not follow. Both then date the face by our wall clock, and
    # poll alike (before, the worker kept the "just created" age: 39 requests and 147 s
    # against 58 and 49 s in one process, over 40 such trainings on a test server).
    policy = PollPolicy(jitter=0.0)
    duration = 3.5 * HOUR
    async with Emulator(api_key=API_KEY, real_date=True, seed=6) as emu:
        scenario = Scenario(curve="stall_last", duration=duration)
        emu.add_rule(Rule(name_contains="x", scenario=scenario))
        async with TavusClient(api_key=API_KEY, base_url=emu.url, poll=policy) as creator:
            one = await creator.faces.create(train_video_url=VIDEO, face_name="x one")
            two = await creator.faces.create(train_video_url=VIDEO, face_name="x two")
        await asyncio.sleep(HOUR)
        picked_up = emu.now()

        async def in_process() -> None:
            async with TavusClient(api_key=API_KEY, base_url=emu.url, poll=policy) as client:
                await client.faces.job(one.face_id)

        ages: list[float | None] = []

        async def worker() -> None:
            state = None
            while True:
                async with TavusClient(api_key=API_KEY, base_url=emu.url, poll=policy) as fresh:
                    job = fresh.faces.job(two.face_id, state=state)
                    result = await job.poll_once()
                    ages.append(job.age)
                if result.done:
                    return
                state = result.state
                await asyncio.sleep(result.next_delay)

        await asyncio.gather(in_process(), worker())
    stateless = [r.time for r in _gets(emu, two.face_id) if r.time >= picked_up]
    in_proc = [r.time for r in _gets(emu, one.face_id) if r.time >= picked_up]
    assert ages[0] is not None
    assert ages[0] < 0.5 * HOUR  # the Date's word: just created
    assert any(age is not None and age > 0.9 * HOUR for age in ages)  # then our wall clock's
    assert abs(len(stateless) - len(in_proc)) <= max(3, 0.1 * len(in_proc))
    finished_one, finished_two = emu.finish_time(one.face_id), emu.finish_time(two.face_id)
    assert finished_one is not None
    assert finished_two is not None
    assert stateless[-1] - finished_two <= (in_proc[-1] - finished_one) + 30.0


async def _wait_in_two_ways(emulator: Emulator, policy: PollPolicy) -> None:
    emulator.add_rule(Rule(name_contains="steady", scenario=Scenario(curve="plateaus")))
    async with TavusClient(api_key=API_KEY, base_url=emulator.url, poll=policy) as client:
        one = await client.faces.create(train_video_url=VIDEO, face_name="steady one")
        two = await client.faces.create(train_video_url=VIDEO, face_name="steady two")
        state = two.state

        async def worker() -> None:
            nonlocal state
            await asyncio.sleep(policy.initial_interval)
            while True:
                async with TavusClient(
                    api_key=API_KEY, base_url=emulator.url, poll=policy
                ) as fresh:
                    result = await fresh.faces.job(two.face_id, state=state).poll_once()
                if result.done:
                    return
                assert len(result.state) < 1024
                state = result.state
                await asyncio.sleep(result.next_delay)

        await asyncio.gather(one.wait(), worker())
    in_process = [r.time for r in _gets(emulator, one.face_id)]
    stateless = [r.time for r in _gets(emulator, two.face_id)]
    assert abs(len(stateless) - len(in_process)) <= max(2, 0.05 * len(in_process))
    finished = emulator.finish_time(two.face_id)
    assert finished is not None
    assert stateless[-1] - finished <= (in_process[-1] - finished) + 15.0


# ---------------------------------------------------------------------- the pure cadence

EXACT = PollPolicy(jitter=0.0)


def _face(progress: int | None, status: FaceStatus = FaceStatus.STARTED) -> Face:
    text = None if progress is None else f"{progress}/100"
    return Face(face_id="r1", status=status, training_progress=text)


def _run(
    curve: Sequence[tuple[float, int]],
    duration: float,
    policy: PollPolicy = EXACT,
) -> tuple[int, float, Cadence]:
    """Wait for a training with this step curve on the pure cadence: polls, latency."""
    cadence = Cadence(policy, PRIOR, start=0.0)

    def progress_at(t: float) -> int:
        value = 0
        for fraction, percent in curve:
            if t >= fraction * duration:
                value = percent
        return value

    t, polls = policy.initial_interval, 0
    while t < duration:
        polls += 1
        cadence.observe(t, _face(progress_at(t)), server_date=None)
        t += cadence.after_success(t)
    return polls + 1, t - duration, cadence


def test_priors_are_shared_not_rebuilt() -> None:
    # A stateless worker makes a client and restores a cadence for every poll: the same
    # prior must not be tabulated again each time. A different range is a different prior.
    documented = DurationPrior.from_range(3 * HOUR, 4 * HOUR)
    assert DurationPrior.from_range(3 * HOUR, 4 * HOUR) is documented
    assert DurationPrior.of(documented.median, documented.spread) is documented
    other = DurationPrior.from_range(1 * HOUR, 2 * HOUR)
    assert other is not documented
    assert other.median == pytest.approx(math.sqrt(2) * HOUR)
    with pytest.raises(ValueError, match="median"):
        DurationPrior.of(float("nan"), 0.1)


@pytest.mark.parametrize(
    ("low", "high"), [(3 * HOUR, 4 * HOUR), (600.0, 30 * HOUR), (HOUR, HOUR * 1.2)]
)
def test_a_prior_gives_back_the_range_it_was_built_from(low: float, high: float) -> None:
    assert DurationPrior.from_range(low, high).as_range() == pytest.approx((low, high))


def test_window_interval_is_the_spacing_at_the_prior_median() -> None:
    cadence = Cadence(EXACT, PRIOR, start=0.0)
    t = PRIOR.median
    cadence.observe(t - 100.0, _face(0), server_date=None)
    cadence.observe(t, _face(0), server_date=None)
    for _ in range(12):  # past the ramp
        cadence.after_success(t)
    assert cadence.after_success(t) == pytest.approx(EXACT.window_interval, rel=0.15)
    sparser = Cadence(attrs.evolve(EXACT, window_interval=150.0), PRIOR, start=0.0)
    sparser.observe(t, _face(0), server_date=None)
    for _ in range(12):
        sparser.after_success(t)
    assert sparser.after_success(t) == pytest.approx(150.0, rel=0.15)


def test_the_window_is_read_at_least_every_window_cap_times_window_interval() -> None:
    # Silent progress, no jitter: inside the prior's window (its survival from 0.92 to a
    # tenth), no wait is longer than WINDOW_CAP times window_interval, for either interval
    # (the square-root rule alone waits 185 s at the window's start); before and after it,
    # the rule and the tail decide (longer waits).
    low, high = WINDOW_EDGES
    for interval in (85.0, 60.0):
        policy = attrs.evolve(EXACT, window_interval=interval)
        cadence = Cadence(policy, PRIOR, start=0.0)
        t = policy.initial_interval
        inside: list[float] = []
        outside: list[float] = []
        while t < 5 * HOUR:
            cadence.observe(t, _face(0), server_date=None)
            delay = cadence.after_success(t)
            within = PRIOR.sf(t) <= high and PRIOR.sf(t + delay) >= low
            (inside if within else outside).append(delay)
            t += delay
        assert max(inside) == pytest.approx(WINDOW_CAP * interval, rel=0.01)
        assert max(outside) > 1.5 * WINDOW_CAP * interval
        assert sum(inside) > 1.5 * HOUR  # the window (2.7 to 4.35 h) was waited through


@settings(max_examples=8, deadline=None, derandomize=True)
@given(hours=st.floats(2.75, 4.25))
@example(hours=2.8)  # 69 s when the square-root rule alone placed the polls
def test_silent_trainings_of_one_length_anywhere_in_the_window_beat_a_fixed_120_s_poller(
    hours: float,
) -> None:
    # Sixty silent trainings of one length (12 s apart: over twelve minutes, both a fixed
    # poller's phases and ours spread; thirty 8 s apart averaged over 2.2 of our periods,
    # and their mean moved by 15 s with the phase), anywhere from the window's start to its
    # end, nothing learned: seen within a minute on average, for no more requests than a
    # fixed 120 s poller. (Over ten lengths and three jitter seeds, the worst was 58.5 s;
    # without the window's cap, 87 s at 2.75 h.)
    durations = [hours * HOUR + 12.0 * k for k in range(60)]
    requests, latency = _waits([], durations)
    assert latency <= 60.0
    assert requests <= statistics.fmean(durations) / 120.0 + 1.0


def test_finish_interval_prices_polls_where_progress_expects_the_finish() -> None:
    # One percent every 126 s up to 99/100 at 3.5 h: where the finish is due, the spacing
    # follows finish_interval (and is far below the prior's window_interval).
    def delay_at_99(finish_interval: float) -> float:
        policy = attrs.evolve(EXACT, finish_interval=finish_interval)
        cadence = Cadence(policy, PRIOR, start=0.0)
        step = 126.0
        for percent in range(100):
            cadence.observe(percent * step + 1.0, _face(percent), server_date=None)
        for _ in range(12):  # past the ramp
            cadence.after_success(99 * step + 60.0)
        return cadence.after_success(99 * step + 60.0)

    quick, default, slow = delay_at_99(10.0), delay_at_99(23.0), delay_at_99(40.0)
    assert quick < default < slow
    assert default < EXACT.window_interval / 2


def test_informative_progress_places_the_finish() -> None:
    # Steady progress over 3.5 h: detection within seconds, far fewer requests than 30 s.
    curve = [(i / 100, i) for i in range(100)]
    polls, latency, _ = _run(curve, 3.5 * HOUR)
    assert latency < 15.0
    assert polls < 100


@pytest.mark.parametrize("curve", ["realistic", "noisy", "rounded"])
def test_informative_progress_is_seen_within_seconds(curve: str) -> None:
    # A hundred trainings of 2.8 to 4.2 h, each with its own draw of the curve (uneven steps
    # and a final plateau; readings up to eight points off either way; or even steps rounded
    # up to 100/100 for the last half step). Counting every
    # progress-driven poll against progress's allowance, not only those made after its
    # forecast had failed, left the final approach dear: about 18 s and 16 s on average.
    # Each training has a jitter of its own: when all drew from one stream, a poll more in
    # one reshuffled the jitter of every training after it, and a change that moved the
    # realistic curve by a tenth of a second over 900 trainings read 13.2 s, then 15.4 s
    # here. (Over those 900, the realistic curve averages 14.9 s: near the target.)
    draw, policy = random.Random(7), PollPolicy()
    results = []
    for i in range(100):
        shape, duration = make_curve(curve, draw), draw.uniform(2.8, 4.2) * HOUR
        random.seed(i)  # this training's jitter
        results.append(_run(shape, duration, policy))
    assert statistics.fmean(r[0] for r in results) <= 100
    assert statistics.fmean(r[1] for r in results) <= 15.0


@settings(max_examples=80, deadline=None)
@given(
    rate=st.floats(1e-5, 1e-2),
    gaps=st.lists(st.floats(1.0, 2000.0), min_size=1, max_size=20),
    known_start=st.booleans(),
)
def test_a_steady_rate_is_taken_at_its_word(
    rate: float, gaps: list[float], known_start: bool
) -> None:
    # Changes of any size at any moments, all on one straight line from the start: no change
    # came slower than predicted, so nothing is stretched.
    t, points = 60.0, [(60.0, 60.0 * rate)]
    for gap in gaps:
        t += gap
        points.append((t, t * rate))
    assert slowdown(points, 0.0 if known_start else None) == pytest.approx(1.0)


@settings(max_examples=80, deadline=None)
@given(
    points=st.lists(
        st.tuples(st.floats(0.0, 1e5), st.floats(0.0, 0.99)), min_size=0, max_size=14
    ).map(lambda ps: sorted(set(ps))),
    start=st.none() | st.floats(-1e4, 1e4),
)
def test_the_slowdown_is_a_finite_stretch_for_any_history(
    points: list[tuple[float, float]], start: float | None
) -> None:
    factor = slowdown(points, start)
    assert factor >= 1.0
    assert math.isfinite(factor)


def test_progress_that_keeps_slowing_pushes_the_finish_later() -> None:
    # Every step 30 % longer than the one before (an S-curve's tail): each change came later
    # than the slowest rate seen before it predicted. The time left is then stretched beyond
    # what even the last, longest step would take for each point still to go.
    t, step, points = 0.0, 60.0, [(0.0, 0.85)]
    for percent in range(1, 13):
        t += step
        step *= 1.3
        points.append((t, 0.85 + percent / 100))
    last_step = points[-1][0] - points[-2][0]
    steps_left = round((1.0 - points[-1][1]) * 100)
    for start in (0.0, None):
        assert slowdown(points, start) > 1.3
        model = progress_model(points, start=start, now=t)
        assert model is not None
        assert model.median() - t > 1.3 * steps_left * last_step


def test_the_last_step_is_as_uncertain_as_the_steps_before_were_uneven() -> None:
    # At 99/100, the time to the finish is one more step. After a perfectly regular climb
    # that step is forecast more narrowly than after uneven steps of the same mean rate;
    # and a regular recent climb whose rate disagrees with the rate since creation (a face
    # created hours before it began: a queue, or earlier stages) keeps the wide forecast.
    def last_step_spread(steps: Sequence[float], start: float | None) -> float:
        t, points = 0.0, [(0.0, 0.87)]
        for k, step in enumerate(steps, start=1):
            t += step
            points.append((t, 0.87 + k / 100))
        model = progress_model(points, start=start, now=t)
        assert model is not None
        return model.law.s

    regular = last_step_spread([100.0] * 12, start=None)
    uneven = last_step_spread([30.0, 170.0] * 6, start=None)
    disagreeing = last_step_spread([100.0] * 12, start=-8 * HOUR)
    assert regular < uneven
    assert disagreeing == pytest.approx(uneven)


def test_progress_with_a_record_of_slowness_never_thins_the_expected_window() -> None:
    # An S-curve's tail, each step 30 % longer than the one before, from 85/100 two hours
    # in: its stretched forecast puts the finish well after the expected window. The
    # window is still watched as closely as silent progress would have it watched.
    slowing, silent = Cadence(EXACT, PRIOR, start=0.0), Cadence(EXACT, PRIOR, start=0.0)
    t, step, percent = 2 * HOUR, 60.0, 85
    while t < 3.3 * HOUR:
        slowing.observe(t, _face(percent), server_date=None)
        silent.observe(t, _face(0), server_date=None)
        slowing.after_success(t)
        silent.after_success(t)
        t, step, percent = t + step, step * 1.3, min(99, percent + 1)
    model = slowing.belief.model
    assert model is not None
    assert model.slowdown > 1.4
    assert model.median() > 4 * HOUR
    assert slowing.after_success(t) <= silent.after_success(t) * 1.02


def test_a_stall_never_thins_the_expected_window() -> None:
    # Steady progress to 90/100 over three hours, then no change for twenty minutes: the
    # forecast now comes from the stall, not from a rate, and has earned no discount on
    # the window. It is watched as closely as silent progress would have it watched.
    stalled, silent = Cadence(EXACT, PRIOR, start=0.0), Cadence(EXACT, PRIOR, start=0.0)
    t = 0.0
    while t < 3.3 * HOUR:
        stalled.observe(t, _face(min(90, int(t / 120.0))), server_date=None)
        silent.observe(t, _face(0), server_date=None)
        stalled.after_success(t)
        silent.after_success(t)
        t += 60.0
    model = stalled.belief.model
    assert model is not None
    assert model.stretched
    assert stalled.after_success(t) <= silent.after_success(t) * 1.02


def _held(cadence: Cadence, *, steps: int, every: float, until: float) -> list[float]:
    """Ten points every ``every`` seconds for ``steps`` steps, then the value held to
    ``until``, read each minute: the progress model's weight at each read of the hold."""
    weights, t = [], 0.0
    held_from = steps * every
    while t < until:
        cadence.observe(t, _face(10 * min(steps, int(t / every))), server_date=None)
        cadence.after_success(t)
        if t > held_from:
            weights.append(cadence.belief.mixture(t, commit=False)[1])
        t += 60.0
    return weights


@pytest.mark.parametrize("every", [0.7 * 3.5 * HOUR / 9, 0.8 * 3.5 * HOUR / 9, 600.0, 300.0])
def test_a_forecast_step_that_does_not_come_is_given_up(every: float) -> None:
    # Nine even steps of ten points, then 90/100 held: one more step is forecast and none
    # comes. Past the step's 84th percentile and the patience (a tenth of the prior's
    # median), the forecast has failed and the prior alone places the finish: the hold is
    # read as silent progress would be (holds of 25 to 70 minutes after climbs to 90/100
    # otherwise cost up to 13 % more than a fixed 120 s poller). Before both, even a short
    # step's forecast keeps its weight: final plateaus a few steps long are common, and
    # watched closely. (A stall with more steps left is the stall rule's: its forecast
    # grows with it.)
    steps = 9
    until = steps * every + max(3.0 * every, 1.2 * PRIOR.median * PATIENCE)
    cadence = Cadence(EXACT, PRIOR, start=0.0)
    weights = _held(cadence, steps=steps, every=every, until=until)
    patience = PATIENCE * PRIOR.median
    before = weights[: int((patience - 60.0) / 60.0)]
    assert before
    assert all(w > 0.0 for w in before)
    assert weights[-1] == 0.0
    silent = Cadence(EXACT, PRIOR, start=0.0)
    silent.observe(until, _face(0), server_date=None)
    for _ in range(12):  # past the ramp
        silent.after_success(until)
    assert cadence.after_success(until) == pytest.approx(silent.after_success(until), rel=0.02)
    assert cadence.eta(until) == pytest.approx(silent.eta(until), rel=0.02)
    # Progress moving again is heard again.
    cadence.observe(until + 60.0, _face(10 * steps + 5), server_date=None)
    assert cadence.belief.mixture(until + 60.0, commit=False)[1] > 0.0


def test_one_hundred_percent_while_training_is_the_last_step_believed_less() -> None:
    # Steady steps, then 100/100 while still "started" (a server that rounds shows it for the
    # last half step): the finish is due, not left to the prior's sparse polls (which took
    # 40 s on average to see such a finish, against 6 s). But what is left then is work
    # progress does not count, and a server may sit there for a fifth of the training:
    # the forecast is believed less than one at 99/100, its polls further apart.
    step = 126.0

    def delay_after(last: int) -> float:
        # Even steps of one point, the last of them to ``last``.
        cadence = Cadence(EXACT, PRIOR, start=0.0)
        for i in range(1, 100):
            cadence.observe(i * step, _face(last - 99 + i), server_date=None)
        for _ in range(12):  # past the ramp
            cadence.after_success(99 * step)
        return cadence.after_success(99 * step)

    silent = Cadence(EXACT, PRIOR, start=0.0)
    silent.observe(99 * step, _face(0), server_date=None)
    for _ in range(12):
        silent.after_success(99 * step)
    at_99, at_100 = delay_after(99), delay_after(100)
    assert 1.2 * at_99 < at_100 < silent.after_success(99 * step) / 3


def test_steady_progress_never_thins_the_expected_window_below_the_insurance() -> None:
    # Steady progress at 80/100 after 3.5 h forecasts the finish 50 minutes on, but a
    # training may complete where it stands (the emulator's done_at_80): in the window the
    # prior expects, polls are never further apart than 1 / INSURANCE times a silent
    # face's. (At half the prior's density, such trainings were seen after 75 s on average
    # in simulation; a fixed 120 s poller sees them after 60 s.)
    step = 3.5 * HOUR / 80

    def delay_at(cadence: Cadence, progress: Callable[[int], int]) -> float:
        for i in range(1, 81):
            cadence.observe(i * step, _face(progress(i)), server_date=None)
        for _ in range(12):  # past the ramp
            cadence.after_success(80 * step)
        return cadence.after_success(80 * step)

    steady = delay_at(Cadence(EXACT, PRIOR, start=0.0), lambda i: i)
    silent = delay_at(Cadence(EXACT, PRIOR, start=0.0), lambda i: 0)
    assert steady > silent  # progress does thin it: the forecast is far
    assert steady <= silent / INSURANCE * 1.05


def test_small_dips_are_noise_and_large_drops_restart() -> None:
    # Ten points every 21 minutes: at 90/100 the finish is near, and polls are dense. A dip
    # of a few points is noise (still dense); a fall back to 10/100 is a restart (not dense).
    def at_90_then(value: int) -> float:
        cadence = Cadence(EXACT, PRIOR, start=0.0)
        step = 1260.0
        for i in range(1, 10):
            cadence.observe(i * step, _face(10 * i), server_date=None)
        for _ in range(12):
            cadence.after_success(9 * step)
        cadence.observe(9 * step + 60.0, _face(value), server_date=None)
        return cadence.after_success(9 * step + 60.0)

    steady, dipped, dropped = at_90_then(90), at_90_then(86), at_90_then(10)
    assert dipped == pytest.approx(steady, rel=0.2)
    assert dropped > 1.5 * steady


def _belief_after(readings: Sequence[int]) -> Belief:
    belief = Belief(PRIOR, Anchor(0.0))
    for i, value in enumerate(readings):
        belief.observe(60.0 * (i + 1), _face(value), server_date=None)
    return belief


def test_readings_that_scatter_both_ways_are_heard_as_noise() -> None:
    # A steady line read up to eight points off either way: the highest reading runs ahead
    # of the truth by about half that, and the noise heard says so. Readings that only ever
    # lag (a stale value now and then) or never fall back leave the maximum where it is.
    draw = random.Random(5)
    line = [i // 2 for i in range(160)]
    scattered = _belief_after([max(0, min(99, v + draw.randint(-8, 8))) for v in line])
    stale = _belief_after([v - draw.randint(1, 9) if draw.random() < 0.3 else v for v in line])
    clean = _belief_after(line)
    assert 0.02 <= scattered.noise <= 0.08
    assert stale.noise <= 0.005
    assert clean.noise == 0.0


def test_noise_is_work_left_and_a_noisy_maximum_that_holds_is_no_stall() -> None:
    # 90/100 at a steady point per minute. With five points of noise, fifteen points are
    # left (the maximum was ahead of the truth), and the maximum holding while the truth
    # catches up (under five minutes) does not stretch the forecast as a stall would.
    points = [(60.0 * k, k / 100) for k in range(1, 91)]
    now = points[-1][0] + 180.0
    clean = progress_model(points, start=0.0, now=now)
    noisy = progress_model(points, start=0.0, now=now, noise=0.05)
    assert clean is not None
    assert noisy is not None
    assert clean.stretched
    assert not noisy.stretched
    assert noisy.median() - points[-1][0] == pytest.approx(900.0, rel=0.05)


def test_a_fixed_policy_reads_at_its_interval_whatever_progress_says() -> None:
    policy = PollPolicy.fixed(60.0, timeout=3600.0)
    assert policy.timeout == 3600.0
    cadence = Cadence(policy, PRIOR, start=0.0)
    assert cadence.first_delay() == 60.0
    for i, percent in enumerate((0, 50, 99, 99, 100)):
        t = 60.0 * (i + 1)
        cadence.observe(t, _face(percent), server_date=None)
        assert cadence.after_success(t) == 60.0
    with pytest.raises(InvalidArgumentError):
        PollPolicy.fixed(0.0)


def test_retry_after_and_min_interval_bound_the_delay() -> None:
    curve = [(i / 100, i) for i in range(100)]
    _, _, cadence = _run(curve, 100 * 30.0)
    assert cadence.after_success(3000.0) >= EXACT.min_interval
    assert cadence.after_success(3000.0, retry_after=500.0) == 500.0
    # A longer Retry-After is asked again after MAX_PAUSE (ten minutes).
    assert cadence.after_success(3000.0, retry_after=900.0) == MAX_PAUSE


@pytest.mark.parametrize(("max_interval", "floor"), [(600.0, 240.0), (300.0, 270.0)])
def test_jitter_keeps_a_floor(max_interval: float, floor: float) -> None:
    # Waits of 300 s: below the failure watch, up to the jitter (a fifth) is taken off; at
    # the watch, half of it (a promise, not a price: the full jitter cost two reads a
    # training).
    policy = PollPolicy(
        initial_interval=300.0, max_interval=max_interval, backoff_factor=1.0, jitter=0.2
    )
    cadence = Cadence(policy, PRIOR, start=0.0)
    cadence.observe(0.0, _face(0), server_date=None)
    delays = [cadence.after_success(0.0) for _ in range(200)]
    assert floor <= min(delays) < floor + 10.0
    assert max(delays) <= 300.0
    assert len(set(delays)) > 1


def test_a_failure_mid_way_is_seen_within_the_failure_watch() -> None:
    # Nothing but the plateau separates polls before the expected window.
    cadence = Cadence(EXACT, PRIOR, start=0.0)
    t = 5.0
    while t < HOUR:
        cadence.observe(t, _face(20), server_date=None)
        delay = cadence.after_success(t)
        assert delay <= EXACT.max_interval
        t += delay


# ---------------------------------------------------------------------- properties


def _spread(count: int) -> list[float]:
    """``count`` shares of ``[0, 1)`` spread evenly (golden-ratio steps), for durations."""
    golden = (math.sqrt(5.0) - 1.0) / 2.0
    return [(0.5 + i * golden) % 1.0 for i in range(count)]


#: Twenty trainings spread evenly over the benchmark's target range, 2.8 to 4.2 h.
TARGET_DURATIONS = [(2.8 + 1.4 * share) * HOUR for share in _spread(20)]


def _climb_latencies(
    queue: float, length: float, top: int, steps: int, durations: Sequence[float]
) -> tuple[float, float]:
    """The default's mean latency over trainings of ``durations`` that sit at 0/100 for
    ``queue``, climb in ``steps`` even steps to ``top`` over ``length`` (of the training) and
    hold it to the end; and a fixed poller's spending as many requests (half its spacing,
    over a random phase)."""
    end = min(1.0, queue + length)
    curve = [
        (queue + (end - queue) * i / steps, round(top * i / steps)) for i in range(1, steps + 1)
    ]
    return _latencies(curve, durations)


def _waits(curve: Sequence[tuple[float, int]], durations: Sequence[float]) -> tuple[float, float]:
    """The default's mean requests and latency over trainings of ``durations`` with this
    step curve."""
    random.seed(7)  # the jitter
    runs = [_run(curve, duration, PollPolicy()) for duration in durations]
    return statistics.fmean(r[0] for r in runs), statistics.fmean(r[1] for r in runs)


def _latencies(
    curve: Sequence[tuple[float, int]], durations: Sequence[float]
) -> tuple[float, float]:
    """The default's mean latency over trainings of ``durations`` with this step curve, and
    a fixed poller's spending as many requests (half its spacing, over a random phase)."""
    requests, latency = _waits(curve, durations)
    return latency, _fixed_latency(durations, requests)


def _fixed_latency(durations: Sequence[float], requests: float) -> float:
    """A fixed poller's mean latency spending ``requests`` on trainings of ``durations``:
    half its spacing, over a random phase."""
    return statistics.fmean(durations) / (2.0 * requests)


@settings(max_examples=15, deadline=None)
@given(
    queue=st.floats(0.0, 0.6),
    length=st.floats(0.02, 1.0),
    top=st.integers(1, 100),
    steps=st.sampled_from([1, 2, 4, 10, 25, 100]),
)
def test_a_climb_of_any_grain_is_seen_sooner_than_by_a_fixed_poller_spending_as_much(
    queue: float, length: float, top: int, steps: int
) -> None:
    # The robustness floor on a family of shapes the benchmark does not list: 0/100 for a
    # queue, then even steps of any grain to any last value, reached anywhere up to the end,
    # held until the training completes (one jump; deciles to 100/100 at 80 %; a climb to
    # 40/100 that completes there). Over trainings of 2.8 to 4.2 h, the mean latency is
    # below a fixed poller's spending as many requests: half its spacing, over a random
    # phase. (Over 200 random draws with the default policy, the worst ratio was 0.83.)
    latency, fixed = _climb_latencies(queue, length, top, steps, TARGET_DURATIONS)
    assert latency <= fixed


@pytest.mark.parametrize("queue", [0.6, 0.8, 0.9])
def test_a_climb_after_a_long_queue_is_forecast_at_its_own_pace(queue: float) -> None:
    # 0/100 for most of the training, then a steady climb that ends with it: once progress
    # has moved a few times, the queue is no work. Counting it (the rate since creation)
    # forecast a climb over the last tenth ten times too slow: read every two minutes to
    # the end (the benchmark's late_climb: 50.2 s, and 65.9 s on a face picked up mid-way).
    curve = [(queue + (1.0 - queue) * i / 100, i) for i in range(1, 100)]
    requests, latency = _waits(curve, TARGET_DURATIONS)
    assert latency <= 15.0
    assert requests <= 100
    model = progress_model(
        [(0.0, 0.0), (9000.0, 0.05), (9030.0, 0.1), (9060.0, 0.15)], start=0.0, now=9060.0
    )
    assert model is not None
    assert model.median() - 9060.0 < 3600.0  # the climb's pace (510 s), not the whole's


def _staircase(step: int, reach: float) -> list[tuple[float, int]]:
    """Even steps of ``step`` points, capped at 99/100, reached at ``reach`` of the training."""
    count = -(-99 // step)
    return [(reach * i / count, min(99, step * i)) for i in range(count + 1)]


@pytest.mark.parametrize(
    ("points", "ceiling"),
    [
        ([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 99], True),  # a clamp: 9 after steps of 10
        ([0, 20, 40, 60, 80, 99], True),
        ([0, 33, 66, 99], False),  # too few steps to call them even
        ([0, 3, 6, 9, 12, 15, 18, 21, 24, 99], False),  # a jump to 99: no staircase's step
        ([0, 10, 21, 29, 40, 51, 60, 70, 79, 90, 99], True),  # a point either way, from 5
        ([*range(0, 99, 3), 99], True),  # steps of three, to 96, then 99/100
        ([0, 30, 60, 84, 87, 90, 94, 97, 99], False),  # below 5 points, steps must be equal
        ([*range(99), 99], False),  # one point at a time: the polls set the increments
        ([0, 5, 7, 20, 33, 41, 60, 72, 90, 99], False),  # uneven steps
        ([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], True),  # 100/100 itself
        ([0, 10, 20, 30, 40, 50, 60, 70, 80, 90], False),  # not yet at 99/100
    ],
)
def test_an_even_staircase_that_lands_on_99_is_at_its_ceiling(
    points: list[int], ceiling: bool
) -> None:
    # Ten steps of ten points land on 99/100 only by a clamp: the count has hit a ceiling
    # and what is left is not counted, as at 100/100. Believed as one more step, the
    # forecast was a step wide, and a hold past it cost more than a fixed 120 s poller.
    history = [(600.0 * i, p / 100) for i, p in enumerate(points)]
    model = progress_model(history, start=0.0, now=history[-1][0] + 1.0)
    assert model is not None
    assert model.complete is ceiling


@settings(max_examples=12, deadline=None, derandomize=True)
@given(step=st.sampled_from([3, 5, 7, 8, 10, 12, 15, 20, 25]), reach=st.floats(0.55, 0.95))
@example(step=7, reach=0.75)  # 130 requests when the next step was believed
def test_an_even_staircase_to_99_costs_no_more_than_a_fixed_120_s_poller(
    step: int, reach: float
) -> None:
    # Even staircases of any step that reach 99/100 anywhere from 55 % of the training and
    # hold it: over trainings of 2.8 to 4.2 h, no more requests than a fixed 120 s poller
    # (one per 120 s, and the first), and seen sooner than by one spending as many.
    requests, latency = _waits(_staircase(step, reach), TARGET_DURATIONS)
    assert requests <= statistics.fmean(TARGET_DURATIONS) / 120.0 + 1.0
    assert latency <= _fixed_latency(TARGET_DURATIONS, requests)


@settings(max_examples=10, deadline=None, derandomize=True)
@given(
    queue=st.sampled_from([0.0, 0.0, 0.15, 0.4]),
    hold=st.floats(0.0, 0.45),
    last=st.sampled_from([99, 100, 60, 80, 95]),
    grain=st.sampled_from([1, 2, 5, 10, 20, 25, 33]),
    rates=st.lists(st.sampled_from([0.0, 0.3, 1.0, 4.0]), min_size=1, max_size=4),
)
@example(queue=0.0, hold=0.27, last=99, grain=5, rates=[1.0])  # steps of five, held 27 %
def test_a_climb_in_phases_is_seen_sooner_than_by_a_fixed_poller_spending_as_much(
    queue: float, hold: float, last: int, grain: int, rates: list[float]
) -> None:
    # The floor on another family the benchmark does not list, built to try it after the
    # cadence was tuned (the emulator's "phased" curve): a queue, one to four phases of
    # different rates (stalls among them), any grain, a last value held for up to 45 % of
    # the training. Over 400 random draws, the worst ratio to the fixed poller was 0.94
    # (the example: 0.93). Coarse climbs that near their end early spend more than a fixed
    # 120 s poller (the example: about 112 requests), but are seen sooner than by one
    # spending as much.
    latency, fixed = _latencies(_phases(queue, hold, last, grain, rates), TARGET_DURATIONS)
    assert latency <= fixed


# Derandomized: over 300 random draws the worst ratio was 1.035 (one draw in 150 above
# 1.0), so random draws in every run would make a flaky test of a property that holds
# within the fixed pollers' own noise (the benchmark's floor allows them 5 %).
@settings(max_examples=8, deadline=None, derandomize=True)
@given(
    queue=st.floats(0.0, 0.6),
    length=st.floats(0.02, 1.0),
    top=st.integers(0, 100),
    steps=st.sampled_from([1, 2, 4, 10, 25, 100]),
    hours=st.floats(4.5, 8.0),
)
@example(queue=0.0, length=1.0, top=0, steps=1, hours=6.0)  # silent
@example(queue=0.42, length=0.98, top=75, steps=25, hours=5.88)  # completes at 75/100
def test_a_training_that_runs_past_the_window_is_seen_sooner_than_by_a_fixed_poller(
    queue: float, length: float, top: int, steps: int, hours: float
) -> None:
    # The floor for late finishes: trainings of 4.5 to 8 h against a prior of 3-4 h, with
    # any climb (none at all, or even steps to any last value, which the training may
    # complete short of). Past the window the prior thins, and progress that has not yet
    # failed may still be wrong: without the pace past the window, the two examples below
    # were seen after 63 s (a fixed poller spending as many: 62.5 s) and 105 s (75.5 s), and
    # 67 of 100 random draws later than the fixed poller, up to twice. Now the worst of
    # those 100 is at 0.98 of its latency, and the examples at 0.83 and 0.79.
    durations = [hours * (0.9 + 0.2 * share) * HOUR for share in _spread(40)]
    latency, fixed = _climb_latencies(queue, length, top, steps, durations)
    assert latency <= 1.05 * fixed


_steps = st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 100)), min_size=0, max_size=30).map(
    sorted
)


@settings(max_examples=60, deadline=None)
@given(
    curve=_steps,
    hours=st.floats(0.5, 8.0),
    jitter=st.sampled_from([0.0, 0.2]),
    budget=st.sampled_from([60.0, 120.0, 600.0]),
)
def test_any_progress_history_keeps_every_delay_in_bounds(
    curve: list[tuple[float, int]], hours: float, jitter: float, budget: float
) -> None:
    # Whatever progress does (jumps, drops, 100/100, nothing): every delay is within
    # [min_interval, max_interval] (jittered), and the n-th read never comes before the
    # budget allows it: FREE_READS, then one per min_average_interval (capped at max_interval)
    # since the first read. So no history spends more than a fixed poller at that interval.
    policy = PollPolicy(jitter=jitter, min_average_interval=budget)
    pace = min(budget, policy.max_interval)
    duration = hours * HOUR
    cadence = Cadence(policy, PRIOR, start=0.0)
    first = t = policy.initial_interval
    reads = 0
    while t < duration:
        value = 0
        for fraction, percent in curve:
            if t >= fraction * duration:
                value = percent
        reads += 1
        assert t >= first + (reads - FREE_READS) * pace - 1e-6
        cadence.observe(t, _face(value), server_date=None)
        delay = cadence.after_success(t)
        assert policy.min_interval * (1 - jitter) <= delay <= policy.max_interval
        t += delay
    assert reads <= FREE_READS + (duration - first) / pace + 1


@settings(max_examples=40, deadline=None)
@given(curve=_steps, stop=st.floats(0.1, 0.95), hours=st.floats(1.0, 6.0))
# Found by CI: the restored progress model was not weighed by the prior as the saved one was.
@example(curve=[(0.25, 1), (0.5, 2), (0.5625, 60)], stop=0.75, hours=1.0)
def test_a_restored_state_makes_the_same_decisions(
    curve: list[tuple[float, int]], stop: float, hours: float
) -> None:
    # Serialize mid-training, restore "elsewhere" (another monotonic clock, the same Date):
    # the next delays and the estimate are those the original would have given.
    duration = hours * HOUR
    epoch = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    original = Cadence(EXACT, PRIOR, start=0.0, server_date=epoch)
    t = EXACT.initial_interval
    delay = 0.0
    while t < stop * duration:
        value = 0
        for fraction, percent in curve:
            if t >= fraction * duration:
                value = percent
        original.observe(t, _face(value), server_date=epoch + dt.timedelta(seconds=t))
        delay = original.after_success(t)
        t += delay
    token = encode(snapshot(original, "r1", now=t - delay, wall=0.0, delay=delay))
    assert len(token) < 1024
    offset = 12_345.0  # the other process's monotonic clock
    date = epoch + dt.timedelta(seconds=t)
    restored = restore(
        decode(token, face_id="r1"), EXACT, now=t + offset, server_date=date, wall=0.0
    )
    face = _face(None)
    original.observe(t, face, server_date=date)
    restored.observe(t + offset, face, server_date=date)
    assert restored.after_success(t + offset) == pytest.approx(
        original.after_success(t), rel=0.02, abs=1.0
    )
    mine, theirs = original.eta(t), restored.eta(t + offset)
    assert (mine is None) == (theirs is None)
    if mine is not None and theirs is not None:
        assert theirs - offset == pytest.approx(mine, rel=0.002, abs=5.0)


def test_a_restart_travels_with_the_state_and_keeps_the_told_age() -> None:
    # A face resumed 1 h into its training (created_at against Date), whose progress climbs
    # from 0 again: in another process, the climb that follows must not be read as its
    # age either.
    epoch = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    created = epoch - dt.timedelta(hours=1)
    cadence = Cadence(EXACT, PRIOR)

    def read(c: Cadence, t: float, progress: int, offset: float = 0.0) -> None:
        face = attrs.evolve(_face(progress), created_at=created)
        c.observe(t + offset, face, server_date=epoch + dt.timedelta(seconds=t))
        c.after_success(t + offset)

    for i, progress in enumerate((50, 55, 60, 2)):  # the last read: a new stage
        read(cadence, 600.0 * i, progress)
    assert cadence.belief.restarted
    token = encode(snapshot(cadence, "r1", now=1800.0, wall=0.0, delay=60.0))
    offset = 12_345.0
    restored = restore(
        decode(token, face_id="r1"),
        EXACT,
        now=1860.0 + offset,
        server_date=epoch + dt.timedelta(seconds=1860.0),
        wall=0.0,
    )
    assert restored.belief.restarted
    for c, offset_ in ((cadence, 0.0), (restored, offset)):
        for i, progress in enumerate((10, 20, 30, 40)):  # a stage's brisk climb
            read(c, 2400.0 + 300.0 * i, progress, offset_)
        assert c.belief.anchor.source == "server"
        assert c.start == pytest.approx(offset_ - HOUR, abs=1.0)


def test_after_a_restart_progress_forecasts_from_the_stage_not_the_faces_age() -> None:
    # Three even stages, each counted from 0/100 to 99/100: half-way through the last, the
    # stage's own rate places the finish. Its count over the face's whole age is no rate
    # (a third of the work in two and a half stages' time): it placed the finish at 6 h.
    duration = 3.5 * HOUR
    stage = duration / 3
    cadence = Cadence(EXACT, PRIOR, start=0.0)
    t = EXACT.initial_interval
    while t < 2.5 * stage:
        cadence.observe(t, _face(int(99 * (t % stage) / stage)), server_date=None)
        t += cadence.after_success(t)
    model = cadence.belief.model
    assert cadence.belief.restarted
    assert model is not None
    assert model.median() == pytest.approx(duration, rel=0.1)
