"""The emulator as a standalone server (subprocess), and the pytest plugin for users."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

pytest_plugins = ["pytester"]

ENTRY_POINTS = {
    "module": [sys.executable, "-m", "tavus_async.emulator"],
    "cli": [sys.executable, "-m", "tavus_async", "emulator"],
}


@contextlib.contextmanager
def _running(command: list[str]) -> Iterator[subprocess.Popen[str]]:
    """The emulator in a child process; killed and its pipes closed however the test ends."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _call(url: str, method: str = "GET", body: Any = None, key: str | None = "k") -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback
    if key:
        request.add_header("x-api-key", key)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as err:
        # The error holds the response open: closed here, not at garbage collection
        # (Python 3.14 warns of the latter).
        with err:
            return err.code, json.loads(err.read() or b"null")


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_standalone_server(entry: str) -> None:
    command = [
        *ENTRY_POINTS[entry],
        "--port", "0", "--speed", "600", "--api-key", "k", "--seed", "3",
        "--scenario", "quick", "--faults", "rate_limit:1@GET /v2/voices",
    ]  # fmt: skip
    with _running(command) as proc:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("Tavus emulator listening on http://127.0.0.1:"), first
        url = first.split()[-1]
        assert "TAVUS_BASE_URL=" in proc.stdout.readline()
        assert _call(f"{url}/v2/faces/rnope") == (400, {"error": "Invalid face_id"})
        assert _call(f"{url}/v2/faces", key=None) == (401, {"message": "Invalid access token"})
        assert _call(f"{url}/v2/voices")[0] == 429  # the injected fault
        status, created = _call(
            f"{url}/v2/faces", "POST", {"train_video_url": "https://cdn.test/v.mp4"}
        )
        assert status == 200
        _, faces = _call(f"{url}/_emulator/faces", key=None)
        assert faces[0]["face_id"] == created["face_id"]
        assert faces[0]["finishes_at"] == pytest.approx(faces[0]["finishes_at"])
        _, stats = _call(f"{url}/_emulator/stats", key=None)
        assert stats["faults"] == {"rate_limit": 1}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_standalone_fault_windows_count_from_the_start() -> None:
    # At speed 600, the window opens 0.1 s after the start; nothing is asked before it.
    command = [
        *ENTRY_POINTS["module"], "--port", "0", "--speed", "600",
        "--faults", "rate_limit~60-@GET /v2/voices",
    ]  # fmt: skip
    with _running(command) as proc:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        time.sleep(0.5)  # at least 300 emulated seconds since the start
        assert _call(f"{url}/v2/voices")[0] == 429
        _, stats = _call(f"{url}/_emulator/stats", key=None)
        assert stats["time"] >= 300
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_standalone_refuses_bad_options() -> None:
    result = subprocess.run(
        [*ENTRY_POINTS["module"], "--faults", "gremlins"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 2
    assert "unknown fault kind" in result.stderr
    assert "Traceback" not in result.stderr


USER_TESTS = """
import pytest

from tavus_async import TrainingFailedError


def test_a_sync_test_next_to_async_ones():
    assert True


async def test_training_completes(tavus_client, tavus_emulator):
    job = await tavus_client.faces.create(train_video_url="https://x.test/v.mp4")
    face = await job
    assert face.status == "completed"
    assert tavus_emulator.now() >= 3.5 * 3600
    assert tavus_emulator.calls("POST", "/v2/faces")


@pytest.mark.tavus(scenario="failure")
async def test_training_failure_is_reported(tavus_client):
    job = await tavus_client.faces.create(train_video_url="https://x.test/v.mp4")
    with pytest.raises(TrainingFailedError):
        await job
"""


@pytest.mark.parametrize("looptime", [True, False])
def test_pytest_plugin_for_users(pytester: pytest.Pytester, looptime: bool) -> None:
    pytester.makeconftest('pytest_plugins = ["tavus_async.testing"]')
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
        "filterwarnings = error\n"
    )
    pytester.makepyfile(test_user=USER_TESTS)
    args = ["-p", "no:cacheprovider"] + ([] if looptime else ["-p", "no:looptime_plugin"])
    result = pytester.runpytest_subprocess(*args, timeout=120)
    result.assert_outcomes(passed=3)
