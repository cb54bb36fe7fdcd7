"""A local, stateful emulator of the Tavus API, for tests, demos and development.

It serves ``/v2/faces`` and ``/v2/replicas`` (create, get, list, rename, update, delete) with
the real API's status codes and error bodies, trains faces along configurable
:class:`Scenario` curves on an injectable clock, injects seeded :class:`Fault` s, POSTs
training callbacks, records every request, and offers a control API under ``/_emulator/``.
It also serves ``/v2/voices`` and ``/v2/conversations`` so a whole flow runs locally.

In-process::

    from tavus_async.emulator import Emulator, LoopClock

    async with Emulator(api_key="test-key", clock=LoopClock(speed=600)) as emu:
        ...  # TavusClient(api_key="test-key", base_url=emu.url)

Standalone: ``tavus-async emulator --port 8089`` or ``python -m tavus_async.emulator``.
"""

from ._clock import EmulatorClock, LoopClock, VirtualClock
from ._faults import FAULT_KINDS, Fault, FaultInjector, parse_faults
from ._scenarios import CURVES, ERROR_MESSAGES, SCENARIOS, FaceState, Rule, Scenario
from ._server import CallbackDelivery, Emulator, RecordedRequest
from ._standalone import serve

__all__ = [
    "CURVES",
    "CallbackDelivery",
    "ERROR_MESSAGES",
    "Emulator",
    "EmulatorClock",
    "FAULT_KINDS",
    "FaceState",
    "Fault",
    "FaultInjector",
    "LoopClock",
    "RecordedRequest",
    "Rule",
    "SCENARIOS",
    "Scenario",
    "VirtualClock",
    "parse_faults",
    "serve",
]
