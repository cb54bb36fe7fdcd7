"""The ``tavus-async`` command line."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from ._demo import run_demo
from .emulator._standalone import add_arguments as add_emulator_arguments
from .emulator._standalone import emulator_from_args, serve

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tavus-async", description="Train Tavus faces.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("demo", help="run the whole flow on the embedded emulator (no key needed)")
    emu = sub.add_parser("emulator", help="serve a local Tavus API emulator")
    add_emulator_arguments(emu)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    args = _parser().parse_args(argv)
    if args.command in (None, "demo"):
        return asyncio.run(run_demo())
    if args.command == "emulator":
        asyncio.run(serve(emulator_from_args(args)))
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
