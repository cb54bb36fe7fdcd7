"""``python -m tavus_async``: the CLI (``demo`` by default)."""

import sys

from ._cli import main

sys.exit(main())
