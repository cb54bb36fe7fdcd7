"""The package's shape: each private module imports only from layers below its own.

models → errors → converter / policies → http / cadence → jobs → services → client →
``__init__``. A reader (or a refactoring) can rely on it: nothing low reaches up, so there
are no import cycles and each layer can be read, and tested, without the ones above.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tavus_async"

#: Lowest first. A module may import from any layer before its own, never from its own
#: layer or one after it.
LAYERS: tuple[frozenset[str], ...] = tuple(
    frozenset(layer.split())
    for layer in (
        "_version _models _prior _timestamps",
        "_errors",
        "_validation _sansio _converter _policies _estimate _anchor _server_clock",
        "_backoffs _sessions",
        "_durable _http _belief _outcome _hub",
        "_pricing",
        "_cadence _pages _create _recover",
        "_snapshot",
        "_memory _waiter",
        "_driver",
        "_jobs",
        "_progress _callbacks _training",
        "_faces _voices _conversations",
        "_client",
        "testing _demo _cli_args",
        "_cli",
        "__init__ __main__",
    )
)
SUBPACKAGES = frozenset({"emulator", "temporal"})
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py"))


def _rank(module: str) -> int:
    for rank, layer in enumerate(LAYERS):
        if module in layer:
            return rank
    raise AssertionError(f"tavus_async/{module}.py has no layer in tests/test_layers.py")


def _imports(module: str) -> set[str]:
    """The package's own top-level modules that ``module`` imports, anywhere in it."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level == 1 and node.module:
            found.add(node.module.split(".")[0])
        elif node.level == 1:
            found.update(alias.name for alias in node.names)
        elif node.level == 0 and node.module and node.module.startswith("tavus_async."):
            found.add(node.module.split(".")[1])
    return found - SUBPACKAGES


def test_every_module_has_a_layer() -> None:
    assert {m for layer in LAYERS for m in layer} == set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_imports_go_only_downward(module: str) -> None:
    upward = sorted(m for m in _imports(module) if _rank(m) >= _rank(module))
    assert not upward, f"{module} imports from its own layer or above: {upward}"


def test_the_check_sees_imports() -> None:
    # The client wires the services together; if the parser saw nothing, every check passes.
    assert {"_faces", "_http", "_hub"} <= _imports("_client")
