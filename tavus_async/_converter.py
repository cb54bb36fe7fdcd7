"""The one cattrs converter of tavus_async, built by :func:`make_converter`.

Policy lives in hooks, once:

* **Lenient in what we receive.** Unknown keys are ignored; unknown status strings are kept
  (open enums); replica-era field names are accepted wherever a model declares them as
  aliases; dates arrive in several shapes (ISO 8601 with ``Z`` or an offset or none, any
  fraction length, a space instead of ``T``, epoch seconds (numbers or digit strings),
  HTTP dates).
* **Strict about types.** A string field that receives a number, or an object that is a
  list, is an error, not a silent ``str(…)``: garbage becomes a
  :class:`~tavus_async.ResponseValidationError` naming the field path.

Nothing else in the package calls cattrs directly.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ._errors import ResponseValidationError
from ._models import (
    ALIASES,
    ConversationStatus,
    Face,
    FaceStatus,
    FinetuneStatus,
    TrainingCallback,
    Voice,
    _OpenStrEnum,
)
from ._timestamps import parse_datetime

__all__ = ["make_converter", "structure", "structure_page", "unstructure"]

if TYPE_CHECKING:
    import cattrs

T = TypeVar("T")

logger = logging.getLogger("tavus_async")

_OPEN_ENUMS: tuple[type[_OpenStrEnum], ...] = (FaceStatus, FinetuneStatus, ConversationStatus)


def _strict(kind: type[Any], label: str) -> Callable[[Any, Any], Any]:
    def hook(value: Any, _type: Any) -> Any:
        # bool is an int subclass; a JSON true is never a count or an id.
        if isinstance(value, bool) and kind is not bool:
            msg = f"expected {label}, got a boolean"
            raise TypeError(msg)
        if kind is float and isinstance(value, int):
            return float(value)
        if not isinstance(value, kind):
            msg = f"expected {label}, got {_json_type(value)}"
            raise TypeError(msg)
        return value

    return hook


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (int, float)):
        return "a number"
    return type(value).__name__


def _optional(hook: Callable[[Any, Any], Any], inner: Any) -> Callable[[Any, Any], Any]:
    def structure_optional(value: Any, _type: Any) -> Any:
        return None if value is None else hook(value, inner)

    return structure_optional


def _optional_inner(annotation: Any) -> Any:
    """``X`` for ``X | None`` (the only optional shape the models use)."""
    inner = [arg for arg in getattr(annotation, "__args__", ()) if arg is not type(None)]
    return inner[0] if len(inner) == 1 else annotation


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format(value, "g") if isinstance(value, float) else str(value)
    return json.dumps(value, separators=(",", ":"), default=str)[:1000]


def _lenient(strict: Callable[[Any, Any], Any], kind: Any, label: str) -> Callable[[Any, Any], Any]:
    """``strict``, except that a value it refuses becomes text (for text fields, or the
    open status enums) or ``None`` (anything else), rather than failing the whole read."""
    if kind is str:

        def text_hook(value: Any, _type: Any) -> Any:
            # The common case first, without a call: a string or null.
            if value is None or value.__class__ is str:
                return value
            logger.debug("unexpected %s %.80r: kept as text", label, value)
            return _as_text(value)

        return text_hook

    open_enum = kind in _OPEN_ENUMS

    def hook(value: Any, type_: Any) -> Any:
        try:
            return strict(value, type_)
        except (TypeError, ValueError):
            logger.debug(
                "unexpected %s %.80r: kept %s", label, value, "as text" if open_enum else "as None"
            )
            return kind(_as_text(value)) if open_enum else None

    return hook


def _structure_open_enum(value: Any, cls: type[_OpenStrEnum]) -> _OpenStrEnum:
    # A documented value, without Enum's call machinery (a wait reads one per poll).
    member = cls._value2member_map_.get(value) if value.__class__ is str else None
    if member is not None:
        return member  # type: ignore[return-value]  # the map holds cls's own members
    if not isinstance(value, str):
        msg = f"expected a status string, got {_json_type(value)}"
        raise TypeError(msg)
    return cls(value)


def _structure_tags(value: Any, _type: Any) -> tuple[str, ...]:
    """Voice tags arrive as ``[{"tag_name": "x"}]`` (spec) or as plain strings."""
    if value is None:
        return ()
    if not isinstance(value, list):
        msg = f"expected an array of tags, got {_json_type(value)}"
        raise TypeError(msg)
    names: list[str] = []
    for item in value:
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, Mapping) and isinstance(item.get("tag_name"), str):
            names.append(item["tag_name"])
        else:
            msg = f"expected a tag object with tag_name, got {_json_type(item)}"
            raise TypeError(msg)
    return tuple(names)


#: Required keys by model class (see :func:`_required`), computed once.
_REQUIRED: dict[type[Any], frozenset[str]] = {}
#: Spellings by model class and field (see :func:`_spellings`), computed once.
_SPELLINGS: dict[tuple[type[Any], str], tuple[str, ...]] = {}


def _alias_map(cls: type[Any]) -> dict[str, tuple[str, ...]]:
    return {a.name: a.metadata[ALIASES] for a in attrs.fields(cls) if a.metadata.get(ALIASES)}


def _spellings(cls: type[Any], field_name: str) -> tuple[str, ...]:
    """Every key under which ``field_name`` of ``cls`` may arrive: its name and aliases."""
    keys = _SPELLINGS.get((cls, field_name))
    if keys is None:  # once per field: every face read asks for its id's
        keys = _SPELLINGS[cls, field_name] = (field_name, *_alias_map(cls).get(field_name, ()))
    return keys


def _required(cls: type[Any]) -> frozenset[str]:
    """The keys of ``cls``'s required fields, in every spelling."""
    keys = _REQUIRED.get(cls)
    if keys is None:
        keys = _REQUIRED[cls] = frozenset(
            key
            for field in attrs.fields(cls)
            if field.default is attrs.NOTHING
            for key in _spellings(cls, field.name)
        )
    return keys


def _unwrap(value: Mapping[str, Any], cls: type[Any]) -> Mapping[str, Any]:
    """The object inside an envelope (``{"data": {...}}``, as some gateways wrap every
    answer) when the outer object has none of ``cls``'s required keys; else ``value``."""
    inner = value.get("data")
    if inner is None:  # the common case, decided without the checks below
        return value
    required = _required(cls)
    if isinstance(inner, Mapping) and required and required.isdisjoint(value):
        return inner
    return value


def _with_known(data: Any, cls: type[Any], known: Mapping[str, Any]) -> Any:
    """``data`` with the fields the caller already knows filled in where it has none of
    their spellings (a face read by its id, from a server that leaves the id out)."""
    if data.__class__ is not dict and not isinstance(data, Mapping):
        return data
    value = _unwrap(data, cls)
    missing: dict[str, Any] = {}
    for name, known_value in known.items():  # a loop, not any(): this runs on every read
        for key in _spellings(cls, name):
            if key in value:
                break
        else:
            missing[name] = known_value
    return {**value, **missing} if missing else data


def _object_hook_factory(converter: cattrs.Converter) -> Callable[[type[Any]], Any]:
    """One hook factory for every attrs model: object check, aliases, per-class overrides."""
    from cattrs.gen import make_dict_structure_fn, override  # noqa: PLC0415 - lazy, see below

    def factory(cls: type[Any]) -> Callable[[Any, Any], Any]:
        overrides: dict[str, Any] = {}
        if cls is Voice:
            overrides["tags"] = override(struct_hook=_structure_tags)
        if issubclass(cls, (Face, TrainingCallback)):
            # A wait reads a face for hours: only its id and status may fail a read. Any
            # optional field of an unexpected type is kept as text or dropped (see _lenient).
            attrs.resolve_types(cls)
            for field in attrs.fields(cls):
                if field.default is None and field.type is not None:
                    kind = _optional_inner(field.type)
                    strict = converter.get_structure_hook(field.type)
                    overrides[field.name] = override(
                        struct_hook=_lenient(strict, kind, f"{cls.__name__}.{field.name}")
                    )
        base = make_dict_structure_fn(cls, converter, **overrides)
        aliases = _alias_map(cls)
        name = cls.__name__

        def hook(value: Any, _type: Any) -> Any:
            # (a dict, as JSON decodes into, is told apart without the ABC's check)
            if value.__class__ is not dict and not isinstance(value, Mapping):
                msg = f"expected a JSON object for {name}, got {_json_type(value)}"
                raise TypeError(msg)
            value = _unwrap(value, cls)
            if aliases:
                copied = False
                for field_name, names in aliases.items():
                    if field_name in value:
                        continue
                    for alias in names:
                        if alias in value:
                            if not copied:  # copy only when an alias is actually used
                                value, copied = dict(value), True
                            value[field_name] = value[alias]
                            break
            return base(value, _type)

        return hook

    return factory


def make_converter() -> cattrs.Converter:
    """Build the converter: cattrs' JSON preconf plus tavus_async's receiving policy.

    cattrs is imported here, not at module level: with the converter built on first use,
    ``import tavus_async`` stays close to ``import aiohttp`` (see benchmarks/import_time.py).
    """
    from cattrs.preconf.json import make_converter as make_json_converter  # noqa: PLC0415 - above

    converter = make_json_converter()
    # Class hooks go through singledispatch, so the str hook would also catch the str-based
    # status enums: each open enum gets its own (more specific) hook.
    for kind, label in ((str, "a string"), (int, "an integer"), (float, "a number")):
        converter.register_structure_hook(kind, _strict(kind, label))
    converter.register_structure_hook(bool, _strict(bool, "a boolean"))
    converter.register_structure_hook(dt.datetime, lambda v, _t: parse_datetime(v))
    for enum_cls in _OPEN_ENUMS:
        converter.register_structure_hook(enum_cls, _structure_open_enum)
        converter.register_unstructure_hook(enum_cls, lambda e: e.value)
    # "X | None" fields are most fields; a direct hook each skips cattrs' generic union path.
    for inner in (str, int, float, bool, dt.datetime, *_OPEN_ENUMS):
        converter.register_structure_hook(
            inner | None,
            _optional(converter.get_structure_hook(inner), inner),
        )
    converter.register_structure_hook_factory(attrs.has, _object_hook_factory(converter))
    # Sending side: datetimes as ISO 8601 with "Z", enums as their string values.
    converter.register_unstructure_hook(dt.datetime, lambda d: d.isoformat().replace("+00:00", "Z"))
    return converter


_converter: cattrs.Converter | None = None
#: Structure hooks by target type, looked up once (the per-call dispatch is measurable).
_HOOKS: dict[Any, Callable[[Any, Any], Any]] = {}


def _get_converter() -> cattrs.Converter:
    # Built on first use: building it (and importing cattrs' machinery) is most of the
    # package's own import time, and a CLI that only prints --help never needs it.
    global _converter
    if _converter is None:
        _converter = make_converter()
    return _converter


def prepare(*classes: type[Any]) -> None:
    """Build the converter and the hooks of ``classes`` now, rather than at first use.

    For sandboxes that must not import or generate code later (Temporal's workflow sandbox).
    """
    converter = _get_converter()
    for cls in classes:
        if cls not in _HOOKS:
            _HOOKS[cls] = converter.get_structure_hook(cls)
        converter.get_unstructure_hook(cls)
    import cattrs  # noqa: PLC0415 - loaded with the converter; transform_error needs it

    cattrs.transform_error  # noqa: B018 - touch it, so its module is loaded too


def structure(
    data: Any,
    cls: type[T],
    *,
    method: str,
    url: str,
    status: int,
    path: str = "$",
    known: Mapping[str, Any] | None = None,
) -> T:
    """Structure a response body into ``cls``.

    ``known`` holds fields the caller knows already (the id it asked for, by field name):
    used where the body has none of their spellings, never over what the body says.

    Raises:
        ResponseValidationError: the body does not fit ``cls``; the error lists each problem
            with its field path and keeps the body.
    """
    hook = _HOOKS.get(cls)
    if hook is None:
        hook = _HOOKS[cls] = _get_converter().get_structure_hook(cls)
    try:
        value = data if known is None else _with_known(data, cls, known)
        return hook(value, cls)  # type: ignore[no-any-return]  # cattrs' hooks return Any
    except Exception as exc:  # the boundary where cattrs' (and our hooks') errors become ours
        from cattrs import transform_error  # noqa: PLC0415 - loaded with the converter

        errors = transform_error(exc, path=path, format_exception=_describe)
        msg = f"response does not fit {cls.__name__}"
        raise ResponseValidationError(
            msg, method=method, url=url, status=status, errors=errors, body=data
        ) from exc


def structure_page(
    data: Any, cls: type[T], *, method: str, url: str, status: int
) -> tuple[list[T], int | None]:
    """Structure a list response ``{"data": [...], "total_count": n}``.

    ``"data": null`` is an empty page (servers that serialise an empty list as ``null``
    send it), and a bare array is a page without a total (the listing then reads to an empty
    page); a body without ``data`` does not fit. ``total_count`` is read as a count when
    it is one in any spelling (``12``, ``12.0``, ``"12"``); anything else (negative, such as
    ``-1`` for "unknown", fractional, text) is taken as absent: a listing is complete
    without it (it reads to an empty page), and trusting a bogus one could end it early.

    Returns:
        The items and ``total_count`` (``None`` when absent or unreadable).

    Raises:
        ResponseValidationError: for a body that is not such an object, or a bad item.
    """
    problem: str | None = None
    if isinstance(data, list):
        data = {"data": data}
    if isinstance(data, Mapping) and "data" in data and data["data"] is None:
        data = {**data, "data": []}
    if not isinstance(data, Mapping):
        problem = f"expected an object with a 'data' array, got {_json_type(data)} @ $"
    elif not isinstance(data.get("data"), list):
        problem = f"expected an array, got {_json_type(data.get('data'))} @ $.data"
    if problem is not None:
        msg = "list response does not fit {data: [...], total_count}"
        raise ResponseValidationError(
            msg, method=method, url=url, status=status, errors=[problem], body=data
        )
    items = structure(
        data["data"],
        list[cls],  # type: ignore[valid-type]  # a runtime type, which mypy cannot follow
        method=method,
        url=url,
        status=status,
        path="$.data",
    )
    return items, _count(data.get("total_count"))


def _count(value: Any) -> int | None:
    """A non-negative whole number however it is spelled, else ``None`` (see above)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if number and 0 <= value < 2**53 and value == int(value):
        return int(value)
    if value is not None:
        logger.debug("unreadable total_count %.40r: ignored", value)
    return None


def _describe(exc: BaseException, type_: type[Any] | None) -> str:
    """Error text for one bad field: our hooks' own words, cattrs' wording otherwise."""
    from cattrs import BaseValidationError  # noqa: PLC0415 - loaded with the converter
    from cattrs.v import format_exception  # noqa: PLC0415 - loaded with the converter

    if isinstance(exc, (TypeError, ValueError)) and not isinstance(exc, BaseValidationError):
        text = str(exc)
        if text and not text.startswith(("'", "<")):
            return text
    return format_exception(exc, type_)


def unstructure(obj: Any) -> Any:
    """Plain JSON-ready data for a model (used for ``--json`` output and the emulator)."""
    return _get_converter().unstructure(obj)
