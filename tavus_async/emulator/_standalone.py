"""Run the emulator as a standalone server until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from ._faults import FAULT_KINDS, parse_faults
from ._scenarios import SCENARIOS
from ._server import Emulator

__all__ = ["add_arguments", "main", "serve"]


async def serve(emulator: Emulator, *, ready: asyncio.Event | None = None) -> None:
    """Start ``emulator``, print where it listens, and serve until cancelled or SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with emulator:
        # Emulated time runs from here, not from the first request: fault windows
        # (``--faults "reset~10800-14400"``) count from the start. (Not in start() itself:
        # a test's fixture may start it on another clock than the test's, e.g. looptime's.)
        emulator.now()
        key = "any non-empty key" if emulator.api_key is None else "the key you set"
        speed = getattr(emulator.clock, "speed", 1.0)
        scale = (
            f"  export TAVUS_TIME_SCALE={speed:g}  (clients wait at the emulator's speed)\n"
            if speed != 1.0
            else ""
        )
        print(
            f"Tavus emulator listening on {emulator.url}\n"
            f"  export TAVUS_BASE_URL={emulator.url}  (accepts {key})\n"
            f"{scale}"
            f"  control API: {emulator.url}/_emulator/stats",
            flush=True,
        )
        if ready is not None:
            ready.set()
        await stop.wait()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The emulator's command-line options (shared with ``tavus-async emulator``)."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8089, help="port (default 8089; 0 = any)")
    parser.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="time acceleration: 600 makes a 3.5 h training last 21 s (default 1)",
    )
    parser.add_argument(
        "--scenario",
        default="realistic",
        choices=sorted(SCENARIOS),
        help="default training scenario (default realistic)",
    )
    parser.add_argument(
        "--faults",
        default="",
        help="faults as kind[:rate][~start-end][@'METHOD /path-glob'],... (start and end: "
        "emulated seconds since the emulator started, an outage) kinds: " + ", ".join(FAULT_KINDS),
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for ids, curves and faults")
    parser.add_argument("--api-key", default=None, help="accept only this key (default: any)")


def emulator_from_args(args: argparse.Namespace) -> Emulator:
    """Build an :class:`Emulator` from parsed :func:`add_arguments` options."""
    if args.speed <= 0:
        msg = "--speed must be > 0"
        raise ValueError(msg)
    return Emulator(
        api_key=args.api_key,
        speed=args.speed,
        scenario=args.scenario,
        faults=parse_faults(args.faults),
        seed=args.seed,
        host=args.host,
        port=args.port,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m tavus_async.emulator``."""
    parser = argparse.ArgumentParser(
        prog="python -m tavus_async.emulator", description="Run a local Tavus API emulator."
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        emulator = emulator_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(emulator))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
