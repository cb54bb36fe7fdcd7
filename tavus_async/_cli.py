"""The ``tavus-async`` command line: train a face and know when it is done, without code."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO

import attrs

from ._cli_args import (
    EXIT_AUTH,
    EXIT_BROKEN_PIPE,
    EXIT_CODES,
    EXIT_DEADLINE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TRAINING_FAILED,
    EXIT_USAGE,
    UsageError,
    build_parser,
    parse_duration,
    parse_duration_range,
)
from ._client import DEFAULT_BASE_URL, TavusClient
from ._converter import unstructure
from ._demo import run_demo
from ._errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    FinetuneFailedError,
    InvalidArgumentError,
    InvalidIdError,
    PermissionDeniedError,
    RateLimitError,
    TavusError,
    TrainingFailedError,
    TrainingMayHaveStartedError,
    TrainingTimeoutError,
)
from ._faces import FacesService, ReplicasService
from ._jobs import TrainingJob
from ._models import Face
from ._policies import PollPolicy, scaled_policy
from ._progress import choose_display, live
from .emulator._standalone import emulator_from_args, serve

__all__ = ["EXIT_CODES", "main"]


@attrs.define
class Context:
    """What a command needs and leaves behind (for the Ctrl-C message)."""

    stdout: TextIO
    stderr: TextIO
    env: dict[str, str]
    face_id: str | None = None
    resource: str = "faces"


# --------------------------------------------------------------------------- commands


def _print(ctx: Context, text: str) -> None:
    ctx.stdout.write(text + "\n")
    ctx.stdout.flush()


def _json(ctx: Context, data: Any) -> None:
    _print(ctx, json.dumps(data))


def _summary(face: Face) -> str:
    name = f" {face.face_name!r}" if face.face_name else ""
    bits = [f"{face.face_id}{name}", str(face.status)]
    if face.training_progress:
        bits.append(face.training_progress)
    if face.model_name:
        bits.append(face.model_name)
    if face.finetune_status is not None:
        bits.append(f"tuning {face.finetune_status}")
    if face.error_message:
        bits.append(f"error: {face.error_message}")
    return "  ".join(bits)


@attrs.frozen
class _WaitOptions:
    timeout: float
    policy: PollPolicy


def _wait_options(client: TavusClient, args: argparse.Namespace) -> _WaitOptions:
    """``--timeout`` and ``--expect``, read before anything is sent (a bad one is refused)."""
    timeout = parse_duration(args.timeout or "8h")
    if not args.expect:
        return _WaitOptions(timeout, client.poll_policy)
    expected = parse_duration_range(args.expect)
    return _WaitOptions(timeout, attrs.evolve(client.poll_policy, expected_duration=expected))


async def _wait(
    ctx: Context, job: TrainingJob[Any], args: argparse.Namespace, options: _WaitOptions
) -> int:
    display = choose_display(ctx.stdout, ctx.env, as_json=args.json)
    try:
        async with live(display, job):
            face = await job.wait(
                timeout=options.timeout,
                policy=options.policy,
                until=args.until or "final",
                on_update=lambda f: display.changed(job, f),
            )
    except (TrainingFailedError, FinetuneFailedError) as err:
        if args.json:
            _json(ctx, unstructure(err.face))
        raise
    if args.json:
        _json(ctx, unstructure(face))
    else:
        _print(ctx, f"completed: {_summary(face)}")
    return EXIT_OK


def _no_command(ctx: Context) -> int:
    _print(ctx, build_parser().format_help().rstrip())
    _print(ctx, "\nnew here? try: tavus-async demo  (the whole flow on a local emulator, no key)")
    return EXIT_OK


async def _training_command(ctx: Context, client: TavusClient, args: argparse.Namespace) -> int:
    service: FacesService | ReplicasService = (
        client.faces if args.group == "faces" else client.replicas
    )
    ctx.resource = args.group
    verb = args.verb
    if verb == "create":
        if args.image_url and not args.voice:
            msg = "--image-url needs --voice (see: tavus-async voices list)"
            raise UsageError(msg)
        options: dict[str, Any] = {
            "train_video_url": args.video_url,
            "train_image_url": args.image_url,
            "voice_name": args.voice,
            "model_name": args.model,
            "callback_url": args.callback_url,
        }
        wait_options = _wait_options(client, args)
        if isinstance(service, ReplicasService):
            job: TrainingJob[Any] = await service.create(
                replica_name=args.name, consent_video_url=args.consent_video_url, **options
            )
        else:
            job = await service.create(face_name=args.name, **options)
        ctx.face_id = job.face_id
        if args.wait:
            return await _wait(ctx, job, args, wait_options)
        if args.json:
            _json(ctx, {"face_id": job.face_id, "status": str(job.status)})
        else:
            _print(ctx, f"created {job.face_id} ({job.status})")
            _print(ctx, f"wait for it with: tavus-async {args.group} wait {job.face_id}")
        return EXIT_OK
    if verb == "wait":
        wait_options = _wait_options(client, args)
        job = service.job(args.face_id)
        ctx.face_id = job.face_id
        return await _wait(ctx, job, args, wait_options)
    if verb == "get":
        face = await service.get(args.face_id, verbose=True)
        _json(ctx, unstructure(face)) if args.json else _print(ctx, _summary(face))
        return EXIT_OK
    if verb == "list":
        kind = "system" if args.stock else "all" if args.all else "user"
        listing = (
            service.list(replica_type=kind)
            if isinstance(service, ReplicasService)
            else service.list(face_type=kind)
        )
        faces = [f async for f in listing]
        if args.json:
            _json(ctx, [unstructure(f) for f in faces])
        else:
            for face in faces:
                _print(ctx, _summary(face))
            if not faces:
                _print(ctx, f"no {'stock ' if args.stock else ''}{args.group}")
        return EXIT_OK
    if verb == "rename":
        await service.rename(args.face_id, args.name)
        _print(ctx, f"renamed {args.face_id} to {args.name!r}")
        return EXIT_OK
    if verb == "delete":
        await service.delete(args.face_id, hard=args.hard)
        _print(ctx, f"deleted {args.face_id}{' (hard)' if args.hard else ''}")
        return EXIT_OK
    msg = f"unknown command {verb!r}"  # pragma: no cover - argparse rejects it first
    raise UsageError(msg)


async def _voices_command(ctx: Context, client: TavusClient, args: argparse.Namespace) -> int:
    voices = [v async for v in client.voices.list(search=args.search, tag=args.tag)]
    if args.json:
        _json(ctx, [unstructure(v) for v in voices])
    else:
        for voice in voices:
            tags = f"  ({', '.join(voice.tags)})" if voice.tags else ""
            _print(ctx, f"{voice.voice_name}{tags}")
    return EXIT_OK


async def _conversations_command(
    ctx: Context, client: TavusClient, args: argparse.Namespace
) -> int:
    if args.verb == "create":
        conversation = await client.conversations.create(
            face_id=args.face, pal_id=args.pal, conversation_name=args.name
        )
        if args.json:
            _json(ctx, unstructure(conversation))
        else:
            _print(ctx, f"conversation {conversation.conversation_id} ({conversation.status})")
            _print(ctx, f"join at: {conversation.conversation_url}")
        return EXIT_OK
    await client.conversations.end(args.conversation_id)
    _print(ctx, f"ended {args.conversation_id}")
    return EXIT_OK


async def _temporal_command(ctx: Context, client: TavusClient, args: argparse.Namespace) -> int:
    try:
        from .temporal._command import run_worker  # noqa: PLC0415 -- an optional extra
    except ImportError as exc:
        raise UsageError(str(exc)) from exc
    scale = _time_scale(args, ctx.env) or 1.0
    if scale != 1.0 and client.base_url == DEFAULT_BASE_URL:
        # Timers N times shorter against Tavus itself would poll it N times too often.
        msg = "the time scale is for emulators; unset TAVUS_TIME_SCALE to run against Tavus"
        raise UsageError(msg)
    await run_worker(
        client,
        address=args.address,
        namespace=args.namespace,
        task_queue=args.task_queue,
        time_scale=scale,
        out=lambda line: _print(ctx, line),
    )
    return EXIT_OK


Command = Callable[[Context, TavusClient, argparse.Namespace], Any]
_COMMANDS: dict[str, Command] = {
    "temporal": _temporal_command,
    "faces": _training_command,
    "replicas": _training_command,
    "voices": _voices_command,
    "conversations": _conversations_command,
}


def _time_scale(args: argparse.Namespace, env: dict[str, str]) -> float | None:
    raw = args.time_scale if args.time_scale is not None else env.get("TAVUS_TIME_SCALE")
    if raw is None or raw == "":
        return None
    try:
        scale = float(raw)
    except ValueError:
        scale = 0.0
    if not scale > 0 or scale != scale or scale == float("inf"):
        msg = f"the time scale must be a number > 0, got {raw!r}"
        raise UsageError(msg)
    return scale


async def _run(ctx: Context, args: argparse.Namespace) -> int:
    if args.group == "demo":
        if not args.speed > 0:
            msg = "--speed must be > 0"
            raise UsageError(msg)
        return await run_demo(
            speed=args.speed, out=lambda line: _print(ctx, line), stream=ctx.stdout, env=ctx.env
        )
    if args.group == "emulator":
        try:
            emulator = emulator_from_args(args)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        await serve(emulator)
        return EXIT_OK
    scale = _time_scale(args, ctx.env)
    options: dict[str, Any] = {}
    if scale is not None:
        options["poll"] = scaled_policy(scale)
    async with TavusClient(
        api_key=ctx.env.get("TAVUS_API_KEY"),
        base_url=args.base_url or ctx.env.get("TAVUS_BASE_URL") or None,
        **options,
    ) as client:
        result: int = await _COMMANDS[args.group](ctx, client, args)
        return result


def _explain(ctx: Context, exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line that says what went wrong and what to do."""
    resume = f"resume with: tavus-async {ctx.resource} wait {ctx.face_id}" if ctx.face_id else ""
    if isinstance(exc, UsageError):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, InvalidArgumentError):
        text = str(exc)
        if "TAVUS_API_KEY" in text:
            return EXIT_USAGE, "no API key: export TAVUS_API_KEY=… (or try: tavus-async demo)"
        return EXIT_USAGE, text
    if isinstance(exc, (TrainingFailedError, FinetuneFailedError)):
        return EXIT_TRAINING_FAILED, str(exc)
    if isinstance(exc, TrainingTimeoutError):
        return EXIT_DEADLINE, f"{exc.face_id} is still training at the deadline; {resume}"
    if isinstance(exc, (AuthenticationError, PermissionDeniedError)):
        return EXIT_AUTH, (
            f"authentication failed (HTTP {exc.status}: {exc.message}); "
            "check TAVUS_API_KEY (and the key's allowed IPs)"
        )
    if isinstance(exc, InvalidIdError):
        return EXIT_ERROR, f"HTTP 400: {exc.message}: no such id on this account"
    if isinstance(exc, RateLimitError):
        after = f" for {exc.retry_after:.0f}s" if exc.retry_after else ""
        return EXIT_ERROR, f"rate limited (HTTP 429: {exc.message}); wait{after} and retry"
    if isinstance(exc, APIStatusError):
        return EXIT_ERROR, f"HTTP {exc.status}: {exc.message} ({exc.method} {exc.url})"
    if isinstance(exc, APIConnectionError):
        return EXIT_ERROR, f"could not reach Tavus: {exc}; check the network or TAVUS_BASE_URL"
    if isinstance(exc, TrainingMayHaveStartedError):
        return EXIT_ERROR, f"{exc}; list them with: tavus-async {exc.resource} list"
    if isinstance(exc, TavusError):
        return EXIT_ERROR, str(exc)
    if isinstance(exc, ConnectionError):
        return EXIT_ERROR, str(exc)
    return EXIT_ERROR, f"unexpected error: {type(exc).__name__}: {exc} (run with --debug)"


def main(
    argv: Sequence[str] | None = None,
    *,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    env: dict[str, str] | None = None,
) -> int:
    """Run the CLI; returns the exit code (see :data:`EXIT_CODES`)."""
    ctx = Context(
        stdout=stdout or sys.stdout,
        stderr=stderr or sys.stderr,
        env=dict(os.environ if env is None else env),
    )
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    if debug:
        logging.basicConfig(
            level=logging.DEBUG, stream=ctx.stderr, format="%(asctime)s %(name)s %(message)s"
        )
    try:
        args = build_parser().parse_args(argv)
        if args.group is None:
            return _no_command(ctx)
        wait_options = any(getattr(args, name, None) for name in ("timeout", "until", "expect"))
        if getattr(args, "verb", None) == "create" and wait_options:
            args.wait = True  # --timeout, --until, --expect are wait options: they mean --wait
        return asyncio.run(_run(ctx, args))
    except BrokenPipeError:
        return _broken_pipe(ctx)
    except KeyboardInterrupt:
        resume = (
            f"; the training goes on: resume with: tavus-async {ctx.resource} wait {ctx.face_id}"
            if ctx.face_id
            else ""
        )
        ctx.stderr.write(f"tavus-async: interrupted{resume}\n")
        return EXIT_INTERRUPTED
    except SystemExit as exc:  # --help and --version
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    except Exception as exc:  # the one place every failure becomes a line and a code
        code, line = _explain(ctx, exc)
        if debug:
            traceback.print_exception(exc, file=ctx.stderr)
        ctx.stderr.write(f"tavus-async: error: {line}\n")
        ctx.stderr.flush()
        return code


def console() -> NoReturn:
    """The ``tavus-async`` command (and ``python -m tavus_async``): :func:`main`, then exit.

    Once the Temporal worker has run, the process leaves with ``os._exit`` after flushing its
    output: finalizing Python while temporalio's Rust runtime still has threads can crash it
    (temporalio/sdk-python#300), which turned exit status 1 into a segfault (-11).
    """
    code = main()
    if "temporalio.bridge" in sys.modules:
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)
    sys.exit(code)


def _broken_pipe(ctx: Context) -> int:
    """The reader of our output went away (``| head``): stop quietly, as Unix tools do.

    Python would complain once more when it flushes stdout at exit; pointing stdout at
    /dev/null first (the recipe of Python's signal documentation) keeps that quiet.
    """
    stream = ctx.stdout
    try:
        fileno = stream.fileno()
    except (AttributeError, OSError, ValueError):
        return EXIT_BROKEN_PIPE
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fileno)
    finally:
        os.close(devnull)
    return EXIT_BROKEN_PIPE


if __name__ == "__main__":  # pragma: no cover
    console()
