"""The ``tavus-async`` command line's arguments: commands, options, exit codes, durations.

Parsing only; :mod:`tavus_async._cli` runs what was parsed.
"""

from __future__ import annotations

import argparse
import re
from typing import Any, NoReturn

from ._version import __version__
from .emulator._standalone import add_arguments as add_emulator_arguments

__all__ = [
    "EXIT_AUTH",
    "EXIT_BROKEN_PIPE",
    "EXIT_CODES",
    "EXIT_DEADLINE",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_TRAINING_FAILED",
    "EXIT_USAGE",
    "UsageError",
    "build_parser",
    "parse_duration",
]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_TRAINING_FAILED = 3
EXIT_AUTH = 4
EXIT_DEADLINE = 5
EXIT_INTERRUPTED = 130
#: The reader went away (``| head``): quiet, as a process killed by SIGPIPE (128 + 13).
EXIT_BROKEN_PIPE = 141

#: Exit codes, as documented in ``--help`` and the README.
EXIT_CODES = {
    EXIT_OK: "completed (or the command succeeded)",
    EXIT_ERROR: "API or other error",
    EXIT_USAGE: "usage error",
    EXIT_TRAINING_FAILED: "training ended in error",
    EXIT_AUTH: "authentication failed (401/403)",
    EXIT_DEADLINE: "deadline passed while the training still runs",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C); the training goes on",
    EXIT_BROKEN_PIPE: "the output's reader went away (e.g. | head); nothing printed",
}

EPILOG = (
    "exit codes:\n"
    + "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items())
    + "\n\nenvironment: TAVUS_API_KEY (required for API commands), TAVUS_BASE_URL,\n"
    "  TAVUS_NO_PROGRESS=1 (no live bar), TAVUS_TIME_SCALE=N (waits run N times faster,\n"
    "  for an emulator started with --speed N)"
)

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?$")


class UsageError(Exception):
    """A command line that cannot be run as given (exit code 2)."""


def parse_duration(text: str) -> float:
    """``8h``, ``90m``, ``1h30m``, ``45s`` or plain seconds → seconds.

    Raises:
        UsageError: not a positive duration.
    """
    match = _DURATION.match(text.strip().lower())
    if not match or not text.strip() or not any(match.groups()):
        msg = f"not a duration: {text!r} (use e.g. 8h, 90m, 1h30m or 3600)"
        raise UsageError(msg)
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    total = hours * 3600 + minutes * 60 + seconds
    if total <= 0:
        msg = f"a duration must be positive: {text!r}"
        raise UsageError(msg)
    return total


def parse_duration_range(text: str) -> tuple[float, float]:
    """``1h-2h``, ``50m-70m`` → ``(low, high)`` seconds (for ``--expect``).

    Raises:
        UsageError: not two durations joined by ``-``, or the first longer than the second.
    """
    low_text, dash, high_text = text.partition("-")
    if not dash:
        msg = f"not a range of durations: {text!r} (use e.g. 1h-2h or 50m-70m)"
        raise UsageError(msg)
    low, high = parse_duration(low_text), parse_duration(high_text)
    if low > high:
        msg = f"the shorter duration comes first: {text!r}"
        raise UsageError(msg)
    return low, high


def _add_global_options(parser: argparse.ArgumentParser, **defaults: Any) -> None:
    """``--debug``, ``--base-url`` and ``--time-scale``: before the command, or after it."""
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks on errors", **defaults
    )
    parser.add_argument(
        "--base-url", help="API root (default: TAVUS_BASE_URL or tavusapi.com)", **defaults
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        help="run waits N times faster (for an emulator started with --speed N)",
        **defaults,
    )


#: The global options again on each command that talks to Tavus, so that they may follow
#: it (``tavus-async faces wait ID --debug``). Suppressed defaults: given only before the
#: command, a value is not reset by the command's parser.
_GLOBALS = argparse.ArgumentParser(add_help=False)
_add_global_options(_GLOBALS, default=argparse.SUPPRESS)


def _verb(verbs: Any, name: str, **kwargs: Any) -> argparse.ArgumentParser:
    """A command that talks to Tavus (it takes the global options too)."""
    parser: argparse.ArgumentParser = verbs.add_parser(name, parents=[_GLOBALS], **kwargs)
    return parser


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (and exit code 2), never a usage dump."""

    def error(self, message: str) -> NoReturn:
        msg = f"{message} (see {self.prog} --help)"
        raise UsageError(msg)


def build_parser() -> argparse.ArgumentParser:
    """The ``tavus-async`` argument parser: every command, its options, the exit codes."""
    parser = _Parser(
        prog="tavus-async",
        description="Train Tavus faces and wait for them, with a live progress display.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"tavus-async {__version__}",
        help="print the version",
    )
    _add_global_options(parser)
    groups = parser.add_subparsers(dest="group", metavar="COMMAND", parser_class=_Parser)
    for resource in ("faces", "replicas"):
        _add_training_commands(groups, resource)
    voices = groups.add_parser("voices", help="stock voices for image training")
    voice_verbs = voices.add_subparsers(dest="verb", metavar="VERB", required=True)
    vlist = _verb(voice_verbs, "list", help="list stock voices")
    vlist.add_argument("--search", help="case-insensitive part of the voice name")
    vlist.add_argument("--tag", help="only voices with this tag")
    vlist.add_argument("--json", action="store_true", help="print JSON")
    conversations = groups.add_parser("conversations", help="talk to a trained face")
    conv_verbs = conversations.add_subparsers(dest="verb", metavar="VERB", required=True)
    ccreate = _verb(conv_verbs, "create", help="start a conversation; prints its URL")
    ccreate.add_argument("--face", required=True, help="id of a trained face")
    ccreate.add_argument("--pal", help="id of a PAL (persona)")
    ccreate.add_argument("--name", help="conversation name")
    ccreate.add_argument("--json", action="store_true", help="print JSON")
    cend = _verb(conv_verbs, "end", help="end a conversation")
    cend.add_argument("conversation_id")
    emulator = groups.add_parser("emulator", help="serve a local Tavus API emulator")
    add_emulator_arguments(emulator)
    temporal = groups.add_parser("temporal", help="durable trainings on Temporal")
    temporal_verbs = temporal.add_subparsers(dest="verb", metavar="VERB", required=True)
    worker = _verb(
        temporal_verbs,
        "worker",
        help='run a tavus.TrainFace worker (needs "tavus-async[temporal]")',
    )
    worker.add_argument(
        "--address", default="localhost:7233", help="Temporal frontend (default localhost:7233)"
    )
    worker.add_argument("--namespace", default="default", help="Temporal namespace")
    worker.add_argument("--task-queue", required=True, help="the task queue to serve")
    demo = groups.add_parser("demo", help="the whole flow on an embedded emulator (no key)")
    demo.add_argument(
        "--speed", type=float, default=630.0, help="time acceleration (default 630: 3.5 h in 20 s)"
    )
    return parser


def _add_training_commands(groups: Any, resource: str) -> None:
    singular = resource[:-1]
    sub = groups.add_parser(resource, help=f"train and manage {resource}")
    verbs = sub.add_subparsers(dest="verb", metavar="VERB", required=True)
    create = _verb(verbs, "create", help=f"start training a {singular}")
    source = create.add_mutually_exclusive_group(required=True)
    source.add_argument("--video-url", help="public URL of the training video")
    source.add_argument("--image-url", help="public URL of one training image (needs --voice)")
    create.add_argument("--voice", help="stock voice name for image training (see voices list)")
    create.add_argument("--name", help=f"{singular} name")
    create.add_argument("--model", help="phoenix-4 (default), phoenix-4.5 or phoenix-3")
    create.add_argument("--callback-url", help="Tavus POSTs here when training ends")
    if resource == "replicas":
        create.add_argument("--consent-video-url", help="separate consent clip")
    create.add_argument("--wait", action="store_true", help="wait for the training to end")
    _add_wait_options(create, implies_wait=True)
    wait = _verb(verbs, "wait", help="wait for a training to end (resume a wait)")
    wait.add_argument("face_id")
    _add_wait_options(wait)
    get = _verb(verbs, "get", help=f"show one {singular}")
    get.add_argument("face_id")
    get.add_argument("--json", action="store_true", help="print JSON")
    listing = _verb(verbs, "list", help=f"list your {resource}")
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--stock", action="store_true", help=f"list stock {resource} instead")
    which.add_argument("--all", action="store_true", help=f"list yours and stock {resource}")
    listing.add_argument("--json", action="store_true", help="print JSON")
    rename = _verb(verbs, "rename", help=f"rename a {singular}")
    rename.add_argument("face_id")
    rename.add_argument("name")
    delete = _verb(verbs, "delete", help=f"delete a {singular}")
    delete.add_argument("face_id")
    delete.add_argument("--hard", action="store_true", help="also erase its assets (irreversible)")


def _add_wait_options(parser: argparse.ArgumentParser, *, implies_wait: bool = False) -> None:
    also = "; implies --wait" if implies_wait else ""
    parser.add_argument("--timeout", help=f"deadline of the wait (default 8h){also}")
    parser.add_argument(
        "--until",
        choices=("final", "preview"),
        help="Phoenix-4.5: return at the watermarked preview, or wait for tuning (default)" + also,
    )
    parser.add_argument(
        "--expect",
        metavar="LOW-HIGH",
        help="how long the training should take, e.g. 1h-2h (default 3h-4h, as documented): "
        "checked most closely then" + also,
    )
    parser.add_argument(
        "--json", action="store_true", help="JSON lines: each change, then the face"
    )
