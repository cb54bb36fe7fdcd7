"""``python -m tavus_async.emulator``: serve the emulator standalone."""

import sys

from ._standalone import main

sys.exit(main())
