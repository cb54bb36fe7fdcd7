"""``python -m tavus_async``: the command line (as ``tavus-async``)."""

from ._cli import console

console()
