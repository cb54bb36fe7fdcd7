"""The polling cadence: where requests go during a multi-hour training.

The first tests wait for real trainings on the emulator (virtual time) and count the polls
it received in stretches of the training; the last ones feed observations straight into the
pure :class:`~tavus_async._cadence.Cadence`, which needs no socket (like the status-to-error
function in test_sansio).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import pytest

from tavus_async import Face, FaceStatus, PollPolicy, TavusClient
from tavus_async._cadence import Cadence
from tavus_async.emulator import Emulator, Rule, Scenario

from .conftest import API_KEY

HOURS_3_5 = 3.5 * 3600
#: Progress every 5 % of the time up to 90/100 at 90 % of the training; the last step varies.
STEPS = tuple((i / 100, i) for i in range(0, 91, 5))


async def _final_step_polls(last: int) -> tuple[int, float]:
    """Polls made while a training sat at ``last``/100 for its final 10 %, and that span."""
    random.seed(5)  # the jitter: the same cadence on every run
    curve = (*STEPS, (0.9, last))
    async with (
        Emulator(api_key=API_KEY, seed=1) as emu,
        TavusClient(api_key=API_KEY, base_url=emu.url) as client,
    ):
        emu.add_rule(Rule(name_contains="x", scenario=Scenario(curve=curve)))
        job = await client.faces.create(train_video_url="https://cdn.test/v.mp4", face_name="x")
        await job
        finished = emu.finish_time(job.face_id)
        assert finished is not None
        start = finished - 0.1 * HOURS_3_5
        gets = emu.calls("GET", f"/v2/faces/{job.face_id}")
        return sum(1 for r in gets if start <= r.time < finished), finished - start


async def test_polls_are_densest_at_99_percent() -> None:
    # At 99/100 only the finish is left; below it, at least one more step is. The same
    # 21-minute final step gets several times the polls when it reads 99/100.
    at_99, span = await _final_step_polls(99)
    at_90, _ = await _final_step_polls(90)
    assert at_99 >= 2 * at_90
    # A training that completes without showing 99/100 is still watched more closely than
    # the plateau would (at most one poll per jittered max_interval).
    policy = PollPolicy()
    assert at_90 > span / (policy.max_interval * (1 - policy.jitter))


async def test_stalled_progress_returns_to_the_plateau(emulator: Emulator) -> None:
    # Progress races to 50/100 in 20 minutes, then sits there: the estimate (finish at
    # 40 minutes) passes, and polling thins back out to the plateau.
    emulator.add_rule(
        Rule(name_contains="stall", scenario=Scenario(curve=((0, 0), (0.05, 25), (0.1, 50))))
    )
    async with TavusClient(api_key=API_KEY, base_url=emulator.url) as client:
        job = await client.faces.create(train_video_url="https://cdn.test/v.mp4", face_name="stall")
        await job
    finished = emulator.finish_time(job.face_id)
    assert finished is not None
    gets = emulator.calls("GET", f"/v2/faces/{job.face_id}")
    last_hour = [r for r in gets if finished - 3600 <= r.time < finished]
    policy = PollPolicy()
    # No delay is shorter than the jittered plateau: at most one poll per 240 s, plus one.
    assert len(last_hour) <= 3600 / (policy.max_interval * (1 - policy.jitter)) + 1


# ---------------------------------------------------------------------- the pure cadence

#: No jitter and a flat ramp, so a delay is exactly the rule's value.
EXACT = PollPolicy(initial_interval=300.0, jitter=0.0)


def _face(progress: int) -> Face:
    return Face(face_id="r1", status=FaceStatus.STARTED, training_progress=f"{progress}/100")


def _fed(steps: Sequence[int], step_time: float, policy: PollPolicy = EXACT) -> Cadence:
    """A cadence that saw progress ``steps[k]`` first at ``k * step_time``."""
    cadence = Cadence(policy)
    for k, progress in enumerate(steps):
        cadence.observe(k * step_time, _face(progress), server_date=None)
    return cadence


@pytest.mark.parametrize("step_time", [300.0, 600.0, 2400.0])
@pytest.mark.parametrize(
    ("last", "interval"), [(99, EXACT.finish_interval), (95, EXACT.approach_interval)]
)
def test_interval_at_the_estimate(step_time: float, last: int, interval: float) -> None:
    # One percent per step: the estimate is one step after the last change for 99/100
    # (five for 95/100), and the interval there scales with the square root of the step.
    cadence = _fed(range(last + 1), step_time)
    eta = cadence.eta()
    assert eta is not None
    assert eta == pytest.approx(last * step_time + (100 - last) * step_time)
    assert cadence.sigma() == pytest.approx(step_time)
    delay = cadence.after_success(eta)
    assert delay == pytest.approx(interval * math.sqrt(step_time / 600.0))


def test_intervals_grow_away_from_the_estimate() -> None:
    cadence = _fed(range(100), 600.0)
    eta = cadence.eta()
    assert eta is not None
    at, before, after = (cadence.after_success(eta + d) for d in (0.0, -600.0, 600.0))
    assert at < before
    assert at < after
    # Two step times past the estimate with no finish: (1 + 2²) times the interval.
    assert cadence.after_success(eta + 1200.0) == pytest.approx(5 * at)


def test_a_jump_in_progress_is_not_extrapolated() -> None:
    # 5 → 60 in one step: too coarse to extrapolate, so the plateau, not a dense burst.
    cadence = _fed([0, 5, 60], 600.0)
    assert cadence.eta() is None
    assert cadence.after_success(1300.0) == EXACT.max_interval


def test_progress_going_backwards_restarts_the_estimate() -> None:
    cadence = _fed([*range(0, 60, 5), 10], 600.0)
    # Only one point since the restart: no estimate until progress moves again.
    assert cadence.eta() is None
    cadence.observe(13 * 600.0, _face(20), server_date=None)
    cadence.observe(14 * 600.0, _face(30), server_date=None)
    eta = cadence.eta()
    assert eta is not None
    # 10 points per step time since the restart: 70 more points take 7 step times.
    assert eta == pytest.approx(14 * 600.0 + 7 * 600.0)


def test_min_interval_and_retry_after_bound_the_delay() -> None:
    cadence = _fed(range(100), 60.0, PollPolicy(initial_interval=300.0, jitter=0.0))
    eta = cadence.eta()
    assert eta is not None
    # 15 s × √(60/600) ≈ 4.7 s would be below the 5 s floor.
    assert cadence.after_success(eta) == EXACT.min_interval
    assert cadence.after_success(eta, retry_after=90.0) == 90.0


def test_jitter_keeps_a_floor() -> None:
    policy = PollPolicy(initial_interval=300.0, jitter=0.2)
    cadence = Cadence(policy)
    delays = [cadence.after_success(0.0) for _ in range(200)]
    assert min(delays) >= 240.0
    assert max(delays) <= 300.0
    assert len(set(delays)) > 1
