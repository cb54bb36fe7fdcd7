"""The public surface: an explicit, sorted __all__ that matches what the package exports."""

from __future__ import annotations

import inspect
from importlib.resources import files

import tavus_async
import tavus_async.emulator
import tavus_async.temporal

#: Type aliases carry the module of what they alias, so they are listed by hand.
ALIASES = {"Forwarder"}


def _public_names(module: object) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not inspect.ismodule(value)
        and getattr(value, "__module__", "").startswith("tavus_async")
    }


def test_all_is_sorted_and_complete() -> None:
    exported = tavus_async.__all__
    assert exported == sorted(exported)
    assert set(exported) - {"__version__"} == _public_names(tavus_async) | ALIASES


def test_temporal_all_is_sorted_and_complete() -> None:
    exported = tavus_async.temporal.__all__
    assert exported == sorted(exported)
    assert set(exported) == _public_names(tavus_async.temporal) | {
        n for n in exported if n.isupper()
    }


def test_emulator_all_is_sorted_and_complete() -> None:
    exported = tavus_async.emulator.__all__
    assert exported == sorted(exported)
    assert set(exported) == _public_names(tavus_async.emulator) | {
        n for n in exported if n.isupper()
    }


def test_every_public_object_is_documented() -> None:
    for module in (tavus_async, tavus_async.emulator, tavus_async.temporal):
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) or inspect.isfunction(value):
                assert inspect.getdoc(value), f"{module.__name__}.{name} has no docstring"


def test_every_error_derives_from_tavus_error() -> None:
    errors = [getattr(tavus_async, n) for n in tavus_async.__all__ if n.endswith("Error")]
    assert len(errors) >= 20
    for error in errors:
        assert issubclass(error, tavus_async.TavusError), error


def test_the_package_ships_py_typed() -> None:
    assert files("tavus_async").joinpath("py.typed").is_file()
