"""Pure protocol decisions: no sockets, no clocks of our own, no aiohttp.

Everything here takes plain values (status, headers, body bytes, "now") and returns plain
values or raises; the HTTP adapter in :mod:`tavus_async._http` is the only caller that does
I/O. Keeping these pure means every status, header and body case is a table test.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import math
import re
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import SplitResult, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from ._errors import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidIdError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)
from ._timestamps import parse_http_date

__all__ = [
    "BODY_SNIPPET_LIMIT",
    "MAX_REDIRECTS",
    "MIN_ERROR_SECRET_LENGTH",
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "Redirect",
    "echo_forms",
    "redact",
    "with_query_param",
    "decode_body",
    "error_from_response",
    "message_from_body",
    "parse_retry_after",
    "redirect",
    "retry_after_from",
    "request_id_from",
    "server_date",
]

#: Longest piece of a non-JSON body kept on an exception.
BODY_SNIPPET_LIMIT = 500

#: What the API key becomes where a server echoes it back in a body.
REDACTED = b"[redacted]"
#: A key shorter than this is not looked for in successful bodies: no real key is so short,
#: and replacing one would mangle ordinary data (a test's ``api_key="test"`` in a URL).
MIN_SECRET_LENGTH = 6
#: A key shorter than this is not looked for in error bodies either (they only become
#: messages, and a one-letter key would cut up every word of one).
MIN_ERROR_SECRET_LENGTH = 3

_STATUS_CLASSES: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}

# Tavus answers unknown ids with 400 {"error": "Invalid face_id"} (replica_id, conversation_id…).
_INVALID_ID = re.compile(r"^\s*invalid\s+([a-z_]+_id)\b", re.IGNORECASE)

# Request-id headers seen on APIs behind common gateways; Tavus documents none.
_REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-amzn-requestid", "x-amz-request-id")


def snippet(text: str, limit: int = BODY_SNIPPET_LIMIT) -> str:
    """Shorten ``text`` for an error message, marking the cut."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + f"… [{len(text) - limit} more chars]"


_BOM = codecs.BOM_UTF8


def echo_forms(secret: str, minimum: int = MIN_SECRET_LENGTH) -> tuple[bytes, ...]:
    """The bytes a server's echo of ``secret`` would be: as sent, and escaped inside a JSON
    string (slashes escaped or not); none for a secret shorter than ``minimum``."""
    if len(secret) < minimum:
        return ()
    plain = secret.encode()
    escaped = json.dumps(secret)[1:-1]  # quotes, backslashes, control and non-ASCII
    forms = dict.fromkeys((plain, escaped.encode(), escaped.replace("/", "\\/").encode()))
    return tuple(forms)


def redact(raw: bytes, forms: tuple[bytes, ...]) -> bytes:
    """``raw`` with every echo of a secret (its :func:`echo_forms`) replaced by
    :data:`REDACTED`: an error page that quotes the key it refused, a debug dump of the
    request, must not carry it into an exception, a log line or a model."""
    for form in forms:
        if form in raw:
            raw = raw.replace(form, REDACTED)
    return raw


def decode_body(raw: bytes) -> tuple[bool, Any]:
    """Decode a response body: ``(True, json_value)`` or ``(False, text_snippet)``.

    Never raises: a body that is not JSON comes back as a text snippet for error messages.
    An empty body is ``(True, None)``; a UTF-8 byte-order mark before the JSON is skipped
    (some servers write one; RFC 8259 lets a parser ignore it).
    """
    if raw.startswith(_BOM):  # (the "utf-8-sig" codec does the same, in Python, slower)
        raw = raw[len(_BOM) :]
    text = raw.decode("utf-8", errors="replace")
    if not text or text.isspace():
        return True, None
    try:
        return True, json.loads(text)
    except ValueError:
        return False, snippet(text)


def message_from_body(body: Any, reason: str = "") -> str:
    """The API's own error message: ``error`` or ``message`` in a JSON object, else a snippet."""
    if isinstance(body, Mapping):
        for key in ("error", "message", "detail"):
            value = body.get(key)
            # Bounded like any snippet: a server may put a whole stack dump in "error".
            if isinstance(value, str) and value.strip():
                return snippet(value)
            if isinstance(value, Mapping) and isinstance(value.get("message"), str):
                return snippet(value["message"])
        return snippet(json.dumps(body, default=str)) if body else (reason or "no message")
    if isinstance(body, str) and body.strip():
        return snippet(_strip_html(body), 200)
    if body is not None:
        return snippet(json.dumps(body, default=str), 200)
    return reason or "empty body"


def _strip_html(text: str) -> str:
    if "<" not in text:
        return text
    # An HTML error page from a proxy: its <title> (or text) says more than its markup.
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title and title.group(1).strip():
        return "HTML page: " + " ".join(title.group(1).split())
    return "HTML page: " + " ".join(re.sub(r"<[^>]+>", " ", text).split())


def request_id_from(headers: Mapping[str, str]) -> str | None:
    """A request id from the response headers, if the server sent one."""
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in _REQUEST_ID_HEADERS:
        value = lowered.get(name)
        if value:
            return value[:200]
    return None


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """``headers[name]`` in any case (aiohttp's are case-insensitive; a plain dict is not)."""
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def server_date(headers: Mapping[str, str]) -> dt.datetime | None:
    """The response's ``Date`` header as an aware datetime, or ``None`` if absent or garbled."""
    value = _header(headers, "Date")
    return parse_http_date(value) if value else None


def retry_after_from(headers: Mapping[str, str], *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a response's ``Retry-After``, an HTTP-date read against its ``Date``.

    Both dates come from the server's clock, so their difference is the wait it meant even
    when its clock and ours are hours apart. ``now`` overrides the ``Date``; without either,
    our clock is used.
    """
    value = _header(headers, "Retry-After")
    if value is None:
        return None  # every successful poll: no header, and no Date to parse
    return parse_retry_after(value, now=now or server_date(headers))


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date).

    Returns ``None`` for a missing or unparsable header; negative values become ``0``.
    ``now`` (aware, UTC) is only needed for the HTTP-date form and defaults to the current
    time (:func:`retry_after_from` passes the server's ``Date``).
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    when = parse_http_date(value)
    if when is None:
        return None
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def error_from_response(
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    method: str,
    url: str,
    reason: str = "",
    now: dt.datetime | None = None,
    message: str | None = None,
) -> APIStatusError:
    """Map a non-2xx response to its exception (returned, not raised).

    Args:
        status: HTTP status code (not 2xx).
        headers: Response headers.
        body: The decoded body as returned by :func:`decode_body`.
        method: Request method, for the message.
        url: Request URL, for the message (must not contain secrets; ours never does).
        reason: HTTP reason phrase, used when the body says nothing.
        now: Current time for HTTP-date ``Retry-After`` values (default: the response's
            ``Date``, else our clock).
        message: What to say instead of what the body says (a response we refuse, such as
            a redirect elsewhere: see :func:`redirect`).
    """
    if message is None:
        message = message_from_body(body, reason)
    common: dict[str, Any] = {
        "status": status,
        "method": method,
        "url": url,
        "body": body,
        "request_id": request_id_from(headers),
        "retry_after": retry_after_from(headers, now=now),
    }
    if status == 400:
        match = _INVALID_ID.match(message)
        if match:
            return InvalidIdError(message, id_field=match.group(1).lower(), **common)
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIStatusError
    return cls(message, **common)


#: Same-origin redirects followed in a row before the answer counts as an error (a loop).
MAX_REDIRECTS = 5
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Redirect(NamedTuple):
    """A redirect to follow: the request to send instead."""

    method: str
    url: str
    keep_body: bool


def redirect(
    status: int, headers: Mapping[str, str], body: Any, *, method: str, url: str, hops: int
) -> Redirect | APIStatusError | None:
    """What to do with a response of ``status`` to ``method url`` after ``hops`` redirects
    in a row: ``None`` if it is no redirect; the request to send next if it is one to
    follow; else the error it is (returned, not raised; ``body`` as from
    :func:`decode_body`).

    Only redirects within the request's origin (scheme, host and port) are followed. The API
    key goes with every request in a header that HTTP clients keep on a redirect elsewhere
    (aiohttp drops only ``Authorization`` and cookies), so a redirect to another origin,
    ``http://`` to ``https://`` included, would hand the key to whoever it names. A 303,
    and a 301 or 302 answering a POST, turn the request into a GET without its body, as
    browsers and aiohttp do; 307 and 308 repeat it as it was.
    """
    if status not in _REDIRECT_STATUSES:
        return None
    location = _header(headers, "Location")
    if not location:
        return None  # nowhere to go: an error status like any other
    target = urljoin(url, location.strip())
    if _origin(urlsplit(target)) != _origin(urlsplit(url)):
        shown = urlunsplit(urlsplit(target)._replace(path="", query="", fragment=""))
        msg = (
            f"redirected to another origin ({shown}); not followed, so that the API key is "
            "not sent there: set base_url to the API's own address"
        )
        return error_from_response(status, headers, body, method=method, url=url, message=msg)
    if hops >= MAX_REDIRECTS:
        msg = f"more than {MAX_REDIRECTS} redirects in a row (last to {target})"
        return error_from_response(status, headers, body, method=method, url=url, message=msg)
    becomes_get = (status == 303 and method != "HEAD") or (
        status in (301, 302) and method == "POST"
    )
    if becomes_get:
        return Redirect("GET", target, keep_body=False)
    return Redirect(method, target, keep_body=True)


def _origin(parts: SplitResult) -> tuple[str, str, int | None]:
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:  # a port that is no number: no origin of ours
        return (scheme, "", -1)
    return (scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme))


def is_transient_status(status: int) -> bool:
    """408, 429 and 5xx are worth retrying; other statuses will fail the same way again."""
    return status in (408, 429) or status >= 500


def with_query_param(url: str, key: str, value: str) -> str:
    """``url`` with its query parameter ``key`` set to ``value`` (any earlier one replaced)."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != key]
    query.append((key, value))
    return urlunsplit(parts._replace(query=urlencode(query)))
