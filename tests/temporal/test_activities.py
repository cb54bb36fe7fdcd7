"""The poll activity's own rules, run in Temporal's activity test environment (no server)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from temporalio.testing import ActivityEnvironment

from tavus_async.temporal._activities import (
    HEARTBEAT_EVERY,
    _heartbeating_sleep,
    heartbeat_interval,
)


def test_heartbeats_come_well_within_the_heartbeat_timeout() -> None:
    # With poll_timeout (the heartbeat timeout) below HEARTBEAT_EVERY, a sleeping poll
    # activity must still heartbeat within it, or a live worker would be taken for dead.
    assert heartbeat_interval(dt.timedelta(seconds=2)) == 2 / 3
    assert heartbeat_interval(dt.timedelta(seconds=60)) == HEARTBEAT_EVERY
    assert heartbeat_interval(None) == HEARTBEAT_EVERY


async def test_a_sleeping_poll_heartbeats_its_state() -> None:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, heartbeat_timeout=dt.timedelta(seconds=0.15))
    beats: list[tuple[object, ...]] = []
    env.on_heartbeat = lambda *details: beats.append(details)
    await env.run(_heartbeating_sleep, 0.2, "state")
    assert beats
    assert all(details == ("state",) for details in beats)
