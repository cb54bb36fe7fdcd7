"""Checks on user input, run before any request is sent.

Wrong *types* raise :class:`TypeError`; wrong *values* raise
:class:`~tavus_async.InvalidArgumentError` (a :class:`ValueError`). Messages name the argument
and what was wrong with it.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import urlsplit

import attrs

from ._errors import InvalidArgumentError

__all__ = [
    "CreateFields",
    "MAX_NAME",
    "check_base_url",
    "check_bool",
    "check_choice",
    "check_id",
    "check_name",
    "check_page_size",
    "check_text",
    "check_timeout",
    "check_url",
    "create_body",
]

# Ids are interpolated into URL paths: anything that could change the path or query is out.
_ID_FORBIDDEN = re.compile(r"[/?#%\\\s]|\.\.")
_MAX_ID = 128
#: The longest display name Tavus accepts.
MAX_NAME = 255


def _type_error(name: str, expected: str, value: Any) -> TypeError:
    return TypeError(f"{name} must be {expected}, got {type(value).__name__}")


def check_id(name: str, value: Any) -> str:
    """An id that is safe to put in a URL path (e.g. ``r90bbd427f71``)."""
    if not isinstance(value, str):
        raise _type_error(name, "a string", value)
    if not value:
        msg = f"{name} must not be empty"
        raise InvalidArgumentError(msg)
    if _ID_FORBIDDEN.search(value):
        msg = (
            f"{name} {value[:40]!r} contains a character not allowed in an id "
            "(/ ? # % \\ .. or whitespace)"
        )
        raise InvalidArgumentError(msg)
    if len(value) > _MAX_ID:
        msg = f"{name} is {len(value)} characters long; ids are at most {_MAX_ID}"
        raise InvalidArgumentError(msg)
    return value


def check_url(name: str, value: Any) -> str:
    """An absolute ``http(s)`` URL with a host."""
    if not isinstance(value, str):
        raise _type_error(name, "a URL string", value)
    if value != value.strip() or not value:
        msg = f"{name} must be a URL without surrounding whitespace, got {value[:60]!r}"
        raise InvalidArgumentError(msg)
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError for a port out of range
    except ValueError:
        msg = f"{name} is not a valid URL: {value[:60]!r}"
        raise InvalidArgumentError(msg) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        msg = f"{name} must be an absolute http(s) URL, got {value[:60]!r}"
        raise InvalidArgumentError(msg)
    if port == 0 or any(c.isspace() for c in value):
        msg = f"{name} is not a valid URL: {value[:60]!r}"
        raise InvalidArgumentError(msg)
    return value


def check_base_url(value: Any) -> str:
    """The API's root: a :func:`check_url` URL with no query, fragment or credentials.

    Paths are appended to it, so a query or fragment would swallow them; credentials in it
    would show in every error's URL, log line and the client's repr (send a proxy's on a
    ``session`` of your own instead).
    """
    url = check_url("base_url", value)
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
        msg = (
            f"base_url must not carry credentials (they would show in errors and logs), "
            f"got {shown[:60]!r} with a user part; pass a session of your own instead"
        )
        raise InvalidArgumentError(msg)
    if "?" in url or "#" in url:
        msg = f"base_url must be the API's root, without a query or fragment, got {url[:60]!r}"
        raise InvalidArgumentError(msg)
    return url


def check_name(name: str, value: Any) -> str:
    """A display name: a non-blank string of at most :data:`MAX_NAME` characters."""
    if not isinstance(value, str):
        raise _type_error(name, "a string", value)
    if not value.strip():
        msg = f"{name} must not be empty or blank"
        raise InvalidArgumentError(msg)
    if len(value) > MAX_NAME:
        msg = f"{name} is {len(value)} characters long; at most {MAX_NAME} are accepted"
        raise InvalidArgumentError(msg)
    return value


def check_text(name: str, value: Any, *, limit: int = 10_000) -> str:
    """A free-text value: a string (may be blank) up to ``limit`` characters."""
    if not isinstance(value, str):
        raise _type_error(name, "a string", value)
    if len(value) > limit:
        msg = f"{name} is {len(value)} characters long; at most {limit} are accepted"
        raise InvalidArgumentError(msg)
    return value


def check_bool(name: str, value: Any) -> bool:
    """A real ``bool`` (not ``0``/``1`` or ``"true"``)."""
    if not isinstance(value, bool):
        raise _type_error(name, "True or False", value)
    return value


def check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    """One of ``choices``."""
    if not isinstance(value, str):
        raise _type_error(name, "a string", value)
    if value not in choices:
        msg = f"{name} must be one of {', '.join(choices)}; got {value!r}"
        raise InvalidArgumentError(msg)
    return value


def check_page_size(value: Any) -> int:
    """A page size between 1 and 100."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(name="page_size", expected="an int", value=value)
    if not 1 <= value <= 100:
        msg = f"page_size must be between 1 and 100, got {value}"
        raise InvalidArgumentError(msg)
    return value


def check_timeout(name: str, value: Any, *, maximum: float) -> float:
    """A per-request timeout in seconds: finite, > 0, at most ``maximum``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _type_error(name, "a number of seconds", value)
    if not math.isfinite(value) or not 0 < value <= maximum:
        msg = f"{name} must be > 0 and at most {maximum:g} seconds, got {value!r}"
        raise InvalidArgumentError(msg)
    return float(value)


@attrs.frozen(kw_only=True)
class CreateFields:
    """A create's fields as the caller gave them, under neutral names (checked by
    :func:`create_body`): ``name`` is ``face_name`` or ``replica_name``."""

    name: str | None = None
    train_video_url: str | None = None
    train_image_url: str | None = None
    voice_name: str | None = None
    default_voice_id: str | None = None
    auto_fix_training_image: bool | None = None
    callback_url: str | None = None
    model_name: str | None = None
    background_green_screen: bool | None = None
    consent_video_url: str | None = None


def create_body(fields: CreateFields, *, name_field: str) -> dict[str, Any]:
    """Validate create arguments and build the JSON body (``None`` fields are dropped later).

    Raises:
        InvalidArgumentError: a missing, conflicting or malformed field.
    """
    f = fields
    if (f.train_video_url is None) == (f.train_image_url is None):
        msg = "give exactly one of train_video_url or train_image_url"
        raise InvalidArgumentError(msg)
    if f.voice_name is not None and f.default_voice_id is not None:
        msg = "give voice_name or default_voice_id, not both"
        raise InvalidArgumentError(msg)
    if f.train_image_url is not None and f.voice_name is None and f.default_voice_id is None:
        msg = "image training needs a voice: pass voice_name (a stock voice) or default_voice_id"
        raise InvalidArgumentError(msg)
    if f.auto_fix_training_image is not None:
        check_bool("auto_fix_training_image", f.auto_fix_training_image)
        if f.train_image_url is None:
            msg = "auto_fix_training_image applies only to image training (train_image_url)"
            raise InvalidArgumentError(msg)
    body: dict[str, Any] = {
        "train_video_url": check_url("train_video_url", f.train_video_url)
        if f.train_video_url is not None
        else None,
        "train_image_url": check_url("train_image_url", f.train_image_url)
        if f.train_image_url is not None
        else None,
        "consent_video_url": check_url("consent_video_url", f.consent_video_url)
        if f.consent_video_url is not None
        else None,
        "voice_name": check_name("voice_name", f.voice_name) if f.voice_name is not None else None,
        "default_voice_id": check_id("default_voice_id", f.default_voice_id)
        if f.default_voice_id is not None
        else None,
        "auto_fix_training_image": f.auto_fix_training_image,
        "callback_url": check_url("callback_url", f.callback_url)
        if f.callback_url is not None
        else None,
        name_field: check_name(name_field, f.name) if f.name is not None else None,
        "model_name": check_name("model_name", f.model_name) if f.model_name is not None else None,
    }
    if f.background_green_screen is not None:
        check_bool("background_green_screen", f.background_green_screen)
        body["properties"] = {"background_green_screen": f.background_green_screen}
    return body
