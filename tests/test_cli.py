"""The CLI as a user runs it: subprocesses against a standalone emulator, on fast time.

The emulator runs at ``--speed 20000`` and the CLI with ``TAVUS_TIME_SCALE=20000``, so a
3.5 h training takes about 0.6 s of real time with the real cadence and request count.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import IO, Any

import pytest

KEY = "tvs-cli-test-key-5d2a91"
SPEED = "20000"


def _control(url: str, path: str, body: Any = None, method: str | None = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(  # noqa: S310 - loopback
        url + path, data=data, method=method or ("POST" if data is not None else "GET")
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read() or b"null")


@contextlib.contextmanager
def _sigint_heard() -> Iterator[None]:
    """Start children with SIGINT at its default, as a terminal's foreground job has it.

    A shell runs background jobs (a CI script started with ``&``) with SIGINT ignored, and
    children inherit that: Python then installs no handler and Ctrl-C is never heard. A
    handled signal is reset to its default by exec, so handling it here for the moment of
    the fork gives the child what a user's terminal would.
    """
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, before)


@contextlib.contextmanager
def _standalone_emulator(*args: str) -> Iterator[IO[str]]:
    """``python -m tavus_async.emulator --port 0 *args``; yields its stdout, stops on exit."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tavus_async.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        yield proc.stdout
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture(scope="module")
def emulator_url() -> Iterator[str]:
    with _standalone_emulator("--speed", SPEED, "--api-key", KEY, "--seed", "4") as out:
        yield out.readline().split()[-1]


@pytest.fixture
def emu(emulator_url: str) -> str:
    _control(emulator_url, "/_emulator/reset", method="POST")
    return emulator_url


def _env(url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
    env.update({"TAVUS_API_KEY": KEY, "TAVUS_BASE_URL": url, "TAVUS_TIME_SCALE": SPEED})
    env.update(extra)
    return env


def cli(
    url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "tavus_async", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else _env(url),
        timeout=60,
        check=False,
    )
    assert KEY not in result.stdout + result.stderr  # the key is never printed
    return result


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tavus-async: ")
    return lines[0]


# --------------------------------------------------------------------------- exit codes


def test_create_and_wait_completes_with_plain_lines_off_a_tty(emu: str) -> None:
    # At 20000x a real millisecond is 20 emulated seconds: a realistic curve's queue at 0
    # lasts only a few real milliseconds, which a loaded machine's first poll can miss.
    # A queue of 30 % of the training (about 0.2 s real) is seen at 0/100 whatever the load.
    _control(emu, "/_emulator/rules", {"name_contains": "Rio",
             "scenario": {"curve": "queue_first"}})  # fmt: skip
    result = cli(emu, "faces", "create", "--video-url", "https://cdn.test/v.mp4",
                 "--name", "Rio", "--wait")  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1].startswith("completed: r")
    assert "'Rio'" in lines[-1]
    assert any(" started 0/100" in line for line in lines)
    assert "\r" not in result.stdout  # nothing decorative off a TTY
    assert "\x1b" not in result.stdout


def test_json_output_is_one_object_per_change_then_the_face(emu: str) -> None:
    result = cli(emu, "faces", "create", "--video-url", "https://cdn.test/v.mp4",
                 "--wait", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    objects = [json.loads(line) for line in result.stdout.splitlines()]
    updates, final = objects[:-1], objects[-1]
    assert all(o["event"] == "update" for o in updates)
    progress = [o["face"]["training_progress"] for o in updates]
    assert len(progress) == len(set(progress))  # only changes
    assert final["status"] == "completed"
    assert final["face_id"] == updates[0]["face"]["face_id"]


def test_training_error_exits_3_with_its_message(emu: str) -> None:
    _control(emu, "/_emulator/rules", {"name_contains": "doomed",
             "scenario": {"fail": "video_codec", "fail_at": 0.1}})  # fmt: skip
    result = cli(emu, "faces", "create", "--video-url", "https://cdn.test/v.mp4",
                 "--name", "doomed", "--wait")  # fmt: skip
    assert result.returncode == 3
    assert "H.264" in _one_line_error(result)


def test_deadline_exits_5_and_says_how_to_resume(emu: str) -> None:
    result = cli(emu, "faces", "create", "--video-url", "https://cdn.test/v.mp4",
                 "--wait", "--timeout", "1h")  # fmt: skip
    assert result.returncode == 5
    line = _one_line_error(result)
    face_id = line.split("resume with: tavus-async faces wait ")[1].strip()
    assert face_id.startswith("r")
    resumed = cli(emu, "faces", "wait", face_id, "--timeout", "8h")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[-1].startswith(f"completed: {face_id}")


def test_authentication_failure_exits_4(emu: str) -> None:
    result = cli(emu, "faces", "list", env=_env(emu, TAVUS_API_KEY="tvs-wrong-key"))
    assert result.returncode == 4
    line = _one_line_error(result)
    assert "Invalid access token" in line
    assert "TAVUS_API_KEY" in line
    assert "tvs-wrong-key" not in line


def test_api_error_exits_1(emu: str) -> None:
    result = cli(emu, "faces", "get", "r000000000000")
    assert result.returncode == 1
    assert "Invalid face_id" in _one_line_error(result)
    unreachable = cli(emu, "faces", "list", env=_env("http://127.0.0.1:9"))
    assert unreachable.returncode == 1
    assert "could not reach Tavus" in _one_line_error(unreachable)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["faces", "create", "--name", "x"], "one of the arguments --video-url --image-url"),
        (["faces", "create", "--video-url", "https://x.test/v", "--image-url", "https://x.test/i"],
         "not allowed with"),
        (["faces", "create", "--image-url", "https://x.test/i.png"], "needs --voice"),
        (["faces", "create", "--video-url", "relative/v.mp4"], "absolute http(s) URL"),
        (["faces", "wait", "r1", "--timeout", "8x"], "not a duration"),
        (["faces", "wait", "r1", "--until", "soon"], "invalid choice"),
        (["faces", "wait", "r1", "--expect", "2h"], "not a range of durations"),
        (["faces", "create", "--video-url", "https://x.test/v", "--expect", "4h-3h"],
         "the shorter duration comes first"),
        (["faces", "wait", "r1", "--expect", "10s-20s"], "expected_duration must be"),
        (["faces", "get", "r1/../r2"], "not allowed in an id"),
        (["faces", "explode"], "invalid choice"),
        (["--time-scale", "0", "faces", "list"], "time scale"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2_with_one_line(emu: str, args: list[str], words: str) -> None:
    result = cli(emu, *args)
    assert result.returncode == 2
    assert words in _one_line_error(result)
    assert _control(emu, "/_emulator/requests") == []  # nothing was sent


def test_missing_key_is_a_usage_error(emu: str) -> None:
    env = _env(emu)
    del env["TAVUS_API_KEY"]
    result = cli(emu, "faces", "list", env=env)
    assert result.returncode == 2
    assert "TAVUS_API_KEY" in _one_line_error(result)


def test_debug_shows_the_traceback(emu: str) -> None:
    result = cli(emu, "--debug", "faces", "get", "r000000000000")
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "InvalidIdError" in result.stderr


def test_global_options_may_follow_the_command(emu: str) -> None:
    result = cli(emu, "faces", "get", "r000000000000", "--debug")
    assert result.returncode == 1
    assert "InvalidIdError" in result.stderr
    # Neither the URL nor the speed in the environment: both given after the command, the
    # URL overriding one given before it (a closed port).
    env = {k: v for k, v in _env(emu).items() if k not in ("TAVUS_BASE_URL", "TAVUS_TIME_SCALE")}
    result = cli(emu, "--base-url", "http://127.0.0.1:9", "faces", "create",
                 "--video-url", "https://cdn.test/v.mp4", "--wait",
                 "--base-url", emu, "--time-scale", SPEED, env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("completed: r")


def test_help_documents_the_exit_codes(emu: str) -> None:
    result = cli(emu, "--help")
    assert result.returncode == 0
    for code in ("0", "1", "2", "3", "4", "5", "130"):
        assert f"\n  {code} " in result.stdout


def test_ctrl_c_exits_130_says_how_to_resume_and_deletes_nothing(emu: str) -> None:
    _control(emu, "/_emulator/rules", {"name_contains": "forever",
             "scenario": {"duration": 1e9}})  # fmt: skip
    # At the emulator's speed the default 8 h deadline is 1.4 s of real time; 700 h is two
    # minutes, so a signal that is not heard fails this test rather than ending in exit 5.
    with _sigint_heard():
        proc = subprocess.Popen(
            [sys.executable, "-m", "tavus_async", "faces", "create",
             "--video-url", "https://cdn.test/v.mp4", "--name", "forever", "--wait",
             "--timeout", "700h"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(emu),
        )  # fmt: skip
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the first update: it is waiting now
    assert " started " in first
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "Traceback" not in err
    assert "interrupted; the training goes on: resume with: tavus-async faces wait r" in err
    methods = {r["method"] for r in _control(emu, "/_emulator/requests")}
    assert methods <= {"POST", "GET"}  # never a DELETE or PATCH


# --------------------------------------------------------------------------- the display


def _run_in_pty(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tavus_async", *args],
        stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=10)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode(errors="replace")


def test_live_bar_is_drawn_on_a_terminal(emu: str) -> None:
    # A terminal wide enough for every field (narrower ones drop fields: test_progress_display).
    code, screen = _run_in_pty(
        ["faces", "create", "--video-url", "https://cdn.test/v.mp4", "--wait"],
        _env(emu, COLUMNS="140"),
    )
    assert code == 0
    redraws = screen.count("\r\x1b[2K")
    assert redraws >= 3  # redrawn in place
    bar = screen.split("\r\x1b[2K")[-1]
    assert "[########################] 100% completed" in bar
    assert "elapsed 3:" in bar
    assert "ETA done" in bar
    assert "checked" in bar
    assert KEY not in screen


def test_no_progress_env_turns_the_bar_off(emu: str) -> None:
    code, screen = _run_in_pty(
        ["faces", "create", "--video-url", "https://cdn.test/v.mp4", "--wait"],
        _env(emu, TAVUS_NO_PROGRESS="1"),
    )
    assert code == 0
    assert "\x1b[2K" not in screen
    assert "completed: r" in screen


def test_demo_runs_on_a_fresh_machine_with_no_key() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
    code, screen = _run_in_pty(["demo", "--speed", "20000"], env)
    assert code == 0, screen
    assert "failed: " in screen
    assert "H.264" in screen
    assert "\r\x1b[2K" in screen  # the live bar
    assert "completed after 3:" in screen
    assert "join at: https://" in screen
    assert "Against the real API" in screen


# --------------------------------------------------------------------------- other verbs


def test_the_other_verbs(emu: str) -> None:
    created = cli(emu, "faces", "create", "--video-url", "https://cdn.test/v.mp4",
                  "--name", "Rio", "--json")  # fmt: skip
    assert created.returncode == 0
    face_id = json.loads(created.stdout)["face_id"]
    assert cli(emu, "faces", "rename", face_id, "Rio 2").returncode == 0
    got = json.loads(cli(emu, "faces", "get", face_id, "--json").stdout)
    assert got["face_name"] == "Rio 2"
    listed = json.loads(cli(emu, "faces", "list", "--json").stdout)
    assert [f["face_id"] for f in listed] == [face_id]
    stock = cli(emu, "replicas", "list", "--stock")
    assert "r4067604db72" in stock.stdout
    voices = cli(emu, "voices", "list", "--search", "an")
    assert voices.stdout.splitlines()[0].startswith("anna")
    assert cli(emu, "faces", "wait", face_id).returncode == 0
    talk = cli(emu, "conversations", "create", "--face", face_id, "--name", "Hi")
    assert talk.returncode == 0, talk.stderr
    conversation_id = talk.stdout.split()[1]
    assert "join at: https://" in talk.stdout
    assert cli(emu, "conversations", "end", conversation_id).returncode == 0
    assert cli(emu, "faces", "delete", face_id, "--hard").returncode == 0
    assert cli(emu, "faces", "get", face_id).returncode == 1
    replica = cli(emu, "replicas", "create", "--video-url", "https://cdn.test/v.mp4",
                  "--consent-video-url", "https://cdn.test/c.mp4")  # fmt: skip
    assert replica.returncode == 0
    posts = [r for r in _control(emu, "/_emulator/requests") if r["path"] == "/v2/replicas"]
    assert posts[-1]["body"]["consent_video_url"] == "https://cdn.test/c.mp4"


# --------------------------------------------------------------------------- edges a new user hit


def test_a_reader_that_goes_away_ends_the_cli_quietly() -> None:
    # `tavus-async demo | head -3`: no traceback, no error line, the SIGPIPE exit status.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAVUS_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tavus_async", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    head = [proc.stdout.readline() for _ in range(3)]
    proc.stdout.close()  # the reader goes away
    code = proc.wait(timeout=60)
    stderr = proc.stderr.read().decode()
    proc.stderr.close()
    assert all(head)
    assert code == 141
    assert stderr == ""


def test_no_command_prints_the_help_and_the_demo(emu: str) -> None:
    result = cli(emu)
    assert result.returncode == 0
    assert "usage: tavus-async" in result.stdout
    assert "tavus-async demo" in result.stdout
    assert _control(emu, "/_emulator/requests") == []  # no demo was run, nothing sent
    version = cli(emu, "--version")
    assert version.returncode == 0
    assert version.stdout.startswith("tavus-async ")
    assert version.stdout.split()[1][0].isdigit()


def test_timeout_on_create_means_wait(emu: str) -> None:
    # --timeout and --until are wait options: on create they imply --wait (said in --help).
    result = cli(emu, "faces", "create", "--video-url", "https://cdn.test/v.mp4",
                 "--timeout", "6h")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].startswith("completed: r")
    helped = cli(emu, "faces", "create", "--help")
    assert "implies --wait" in helped.stdout


@pytest.mark.parametrize("expect", [None, "50m-70m"])
def test_expect_watches_the_range_given(expect: str | None) -> None:
    # A silent one-hour training: the documented 3-4 h put the closest watch far later, and
    # its last twenty minutes are read at the failure watch's pace (a read every 6 minutes);
    # told "50m-70m", the CLI reads them at the window's (about one every 2 minutes). On its
    # own emulator at a tenth of the module's speed: at 20,000x, a busy machine's 10 ms
    # hiccup was 200 emulated seconds, the size of what this test tells apart.
    speed = "2000"
    with _standalone_emulator("--speed", speed, "--api-key", KEY) as out:
        url = out.readline().split()[-1]
        _control(url, "/_emulator/rules", {"name_contains": "quick",
                 "scenario": {"curve": "silent", "duration": 3600.0}})  # fmt: skip
        told = ["--expect", expect] if expect else ["--wait"]
        result = cli(url, "faces", "create", "--video-url", "https://cdn.test/v.mp4",
                     "--name", "quick", *told, env=_env(url, TAVUS_TIME_SCALE=speed))  # fmt: skip
        assert result.returncode == 0, result.stderr
        requests = _control(url, "/_emulator/requests")
    created = next(r["time"] for r in requests if r["method"] == "POST")
    reads = [
        t for r in requests if r["method"] == "GET" and 2400 <= (t := r["time"] - created) < 3600
    ]
    spacing = (reads[-1] - reads[0]) / (len(reads) - 1)
    assert (spacing < 230.0) is (expect is not None)


def test_faces_list_hides_stock_faces_unless_asked(emu: str) -> None:
    created = cli(emu, "faces", "create", "--video-url", "https://cdn.test/v.mp4", "--json")
    face_id = json.loads(created.stdout)["face_id"]
    mine = json.loads(cli(emu, "faces", "list", "--json").stdout)
    stock = json.loads(cli(emu, "faces", "list", "--stock", "--json").stdout)
    both = json.loads(cli(emu, "faces", "list", "--all", "--json").stdout)
    assert [f["face_id"] for f in mine] == [face_id]
    assert stock
    assert all(f["face_type"] == "system" for f in stock)
    assert {f["face_id"] for f in both} == {face_id} | {f["face_id"] for f in stock}


def test_the_standalone_emulator_says_how_to_match_its_speed() -> None:
    with _standalone_emulator("--speed", "600") as out:
        banner = [out.readline() for _ in range(3)]
    assert any("export TAVUS_TIME_SCALE=600" in line for line in banner)


def test_the_control_api_takes_a_name_or_an_object(emu: str) -> None:
    for body in ("quick", {"scenario": "quick"}, {"scenario": {"duration": 60.0}}):
        answer = _control(emu, "/_emulator/scenario", body, method="PUT")
        assert answer["duration"] == 60.0


def test_the_temporal_worker_refuses_a_time_scale_against_tavus() -> None:
    env = {**_env("https://tavusapi.com"), "TAVUS_TIME_SCALE": "600"}
    result = cli("https://tavusapi.com", "temporal", "worker", "--task-queue", "q", env=env)
    assert result.returncode == 2
    assert "the time scale is for emulators" in result.stderr


def test_the_temporal_worker_says_when_temporal_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # free, and nothing listens on it
    # Several times: an interpreter finalized with temporalio's runtime alive used to die
    # at exit now and then (abort or segfault) instead of returning 1.
    for _ in range(5):
        result = cli(
            "http://127.0.0.1:9", "temporal", "worker", "--address", f"127.0.0.1:{port}",
            "--task-queue", "q",
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        assert f"cannot reach Temporal at 127.0.0.1:{port}" in result.stderr
        assert "Traceback" not in result.stderr
