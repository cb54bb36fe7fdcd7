"""Timestamps as the API sends them, read into aware datetimes (UTC when no zone is given).

ISO 8601 with ``Z``, an offset or none, any fraction length, a space instead of ``T``;
epoch seconds or milliseconds (numbers, or digit strings of nine digits or more); HTTP
dates. The converter's hook for ``datetime`` fields calls :func:`parse_datetime`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from typing import Any

__all__ = ["parse_datetime", "parse_http_date"]

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?$"
)

_EPOCH = re.compile(r"^\s*\d{9,}(?:\.\d+)?\s*$")


def parse_datetime(value: Any) -> dt.datetime:
    """Parse a timestamp from the API into an aware datetime (UTC if no zone is given).

    Raises:
        ValueError: for a string in no recognised format.
        TypeError: for a value that is neither a string nor a number.
    """
    if value.__class__ is str and "T" in value:
        # The API's own shape, first and without the checks below (every face read has two).
        try:
            iso = dt.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return iso if iso.tzinfo else iso.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, bool):
        msg = f"expected a date string, got {value!r}"
        raise TypeError(msg)
    if isinstance(value, str) and _EPOCH.match(value):
        # Epoch seconds sent as a string: nine digits or more (a bare year is no timestamp).
        value = float(value)
    if isinstance(value, (int, float)):
        # Epoch seconds; values this large can only be milliseconds.
        seconds = value / 1000 if value > 1e11 else value
        try:
            return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
        except (OverflowError, OSError, ValueError):
            msg = f"timestamp out of range: {value!r}"
            raise ValueError(msg) from None
    if not isinstance(value, str):
        msg = f"expected a date string, got {type(value).__name__}"
        raise TypeError(msg)
    text = value.strip()
    try:
        # The same shape padded with whitespace (the unpadded one returned above).
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is not None and "T" in text:
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
    match = _ISO.match(text)
    if match:
        return _from_iso_match(match)
    parsed = parse_http_date(text)
    if parsed is not None:
        return parsed
    msg = f"unrecognised date format {text[:40]!r}"
    raise ValueError(msg)


def parse_http_date(text: str) -> dt.datetime | None:
    """An HTTP date (``Sun, 06 Dec 2026 02:29:28 GMT``) as an aware datetime (UTC when it
    names no zone), or ``None`` for anything else."""
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def _from_iso_match(match: re.Match[str]) -> dt.datetime:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = dt.timezone.utc
    if zone and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        offset = dt.timedelta(hours=hours, minutes=minutes)
        tz = dt.timezone(offset if zone[0] == "+" else -offset)
    return dt.datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        micro,
        tzinfo=tz,
    )
