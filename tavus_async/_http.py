"""The one place that sends requests through aiohttp.

:class:`HTTPSession` sends a request and returns a :class:`Response` holding decoded JSON;
it knows nothing of models. It adds the ``x-api-key`` and ``User-Agent`` headers, drops
``None`` fields from JSON bodies, translates aiohttp and timeout exceptions once (chained with
``raise … from``), maps non-2xx statuses through :func:`~tavus_async._sansio.error_from_response`,
and retries under a :class:`~tavus_async.RetryPolicy` according to each request's
:class:`Retry` mode. It follows redirects itself, within the API's origin only
(:func:`~tavus_async._sansio.redirect`), so that the key goes nowhere else. The aiohttp
sessions it sends on (owned or borrowed, and their lifetime) are
:mod:`tavus_async._sessions`'s: a request that is not retried once sent goes out on a
connection of its own.

A ``Retry-After`` on a 429 or 503 pauses *every* request of the client until it has passed:
the server asked this API key, not this one request, to slow down.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import aiohttp

from ._errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    ClientClosedError,
    RateLimitError,
    ResponseValidationError,
)
from ._policies import MAX_PAUSE, RetryPolicy, jittered
from ._sansio import (
    MIN_ERROR_SECRET_LENGTH,
    Redirect,
    decode_body,
    echo_forms,
    error_from_response,
    is_transient_status,
    redact,
    redirect,
    server_date,
)
from ._sessions import Sessions
from ._version import __version__

__all__ = ["HTTPSession", "Response", "Retry", "Secret", "USER_AGENT"]

logger = logging.getLogger("tavus_async")
# A library does not print: without configuration of the application's, nothing is shown
# (not even warnings through logging's last-resort handler).
logger.addHandler(logging.NullHandler())

USER_AGENT = (
    f"tavus-async/{__version__} aiohttp/{aiohttp.__version__} "
    f"python/{sys.version_info.major}.{sys.version_info.minor}"
)

_CONSTANT_HEADERS = {"User-Agent": USER_AGENT, "Accept": "application/json"}
#: Most of a response body read: Tavus's are kilobytes (a page of 100 faces, tens of them).
#: A server that sends more is broken, and is not let to fill the memory with it.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class Secret:
    """Holds the API key so that no repr, log line or traceback local shows it."""

    __slots__ = ("_echoes", "_error_echoes", "_value")

    def __init__(self, value: str) -> None:
        self._value = value
        self._echoes = echo_forms(value)
        self._error_echoes = echo_forms(value, MIN_ERROR_SECRET_LENGTH)

    def reveal(self) -> str:
        """The key itself, for the one header that needs it."""
        return self._value

    def redact(self, raw: bytes, *, error: bool = False) -> bytes:
        """A response body with any echo of the key replaced (see :func:`_sansio.redact`);
        an ``error`` body (one that only becomes an exception) for shorter keys too."""
        return redact(raw, self._error_echoes if error else self._echoes)

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__


class _MaskedHeaders(dict[str, str]):
    """Request headers whose repr never shows their values (one of them is the API key).

    Debuggers and error reporters print attributes and frame locals; this dict prints as
    ``{'x-api-key': '***', …}``. aiohttp copies it like any mapping.
    """

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{k!r}: '***'" for k in self) + "}"

    __str__ = __repr__


class Retry(enum.Enum):
    """What a request may be retried on."""

    IDEMPOTENT = "idempotent"
    """Connection errors, timeouts, 408, 429, 5xx: for GET, DELETE, PATCH."""
    UNSENT_ONLY = "unsent-only"
    """Only failures proven to happen before the request left (refused connection): for
    creates, where a retry after the server saw the request could start a second training."""
    NEVER = "never"
    """One attempt; the caller handles failures (a poller has its own backoff)."""


class Response(NamedTuple):
    """A 2xx response: status, headers and the decoded JSON body.

    A NamedTuple, not an attrs class: one is built per request, and tuples are the cheapest
    immutable record Python has.
    """

    status: int
    method: str
    url: str
    headers: Mapping[str, str]
    data: Any
    """Decoded JSON, ``None`` for an empty body, or a text snippet when ``is_json`` is false."""
    is_json: bool = True

    @property
    def server_date(self) -> dt.datetime | None:
        """The server's ``Date`` header (aware), used to relate server timestamps to now."""
        return server_date(self.headers)


class _UnsentError(APIConnectionError):
    """A connection failure proven to have happened before the request was written."""


def _json_body(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(_without_none(payload), separators=(",", ":")).encode()


def _without_none(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    return value


def _query(params: Mapping[str, Any] | None) -> dict[str, str]:
    if not params:
        return {}
    out: dict[str, str] = {}
    for key, value in params.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


class HTTPSession:
    """Sends requests for one client. Owns its aiohttp session unless one was borrowed.

    Not public: :class:`~tavus_async.TavusClient` is the way in.
    """

    def __init__(
        self,
        *,
        api_key: Secret,
        base_url: str,
        session: aiohttp.ClientSession | None,
        timeout: aiohttp.ClientTimeout,
        retry: RetryPolicy,
    ) -> None:
        self._key = api_key
        # Built once: aiohttp copies request headers, it never changes ours. A borrowed
        # session has defaults of its own, so it gets our constant headers with each call.
        self._headers = _MaskedHeaders({"x-api-key": api_key.reveal()})
        if session is not None:
            self._headers.update(_CONSTANT_HEADERS)
        self._json_headers = _MaskedHeaders(self._headers, **{"Content-Type": "application/json"})
        self.base_url = base_url
        self._sessions = Sessions(session, timeout=timeout, headers=_CONSTANT_HEADERS)
        self._timeout = timeout
        # Only a borrowed session needs our timeout passed with each request.
        self._per_request: dict[str, Any] = {} if session is None else {"timeout": timeout}
        self.retry = retry
        self._closed = False
        self._paused_until = 0.0
        #: Requests sent (attempts), for diagnostics and benchmarks.
        self.sent = 0

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    def check_open(self) -> None:
        """Raise :class:`ClientClosedError` if the client was closed."""
        if self._closed:
            msg = "the TavusClient is closed; create a new one (or use `async with`)"
            raise ClientClosedError(msg)

    async def close(self) -> None:
        """Close the owned sessions (a borrowed one is left open). Idempotent."""
        if self._closed:
            return
        self._closed = True
        await self._sessions.close()

    def derive(
        self, *, timeout: aiohttp.ClientTimeout | None, retry: RetryPolicy | None
    ) -> HTTPSession:
        """A view with its own per-request timeout and retries, sharing everything else.

        It sends through this session's aiohttp sessions, pause and counter; closing it does
        nothing (the original owns the sessions).
        """
        return _Derived(self, timeout=timeout or self._timeout, retry=retry or self.retry)

    def count(self) -> None:
        """Count one request sent."""
        self.sent += 1

    # ------------------------------------------------------------------ pause (Retry-After)

    def pause_remaining(self) -> float:
        """Seconds left of a client-wide ``Retry-After`` pause (0 when none)."""
        if self._paused_until <= 0:
            return 0.0
        return max(0.0, self._paused_until - asyncio.get_running_loop().time())

    def pause(self, seconds: float) -> None:
        """Hold every request of this client for ``seconds`` (at most ``MAX_PAUSE``)."""
        seconds = min(max(seconds, 0.0), MAX_PAUSE)
        until = asyncio.get_running_loop().time() + seconds
        if until > self._paused_until:
            self._paused_until = until
            logger.info("Tavus asked to wait %.1fs: pausing requests of this client", seconds)

    # ------------------------------------------------------------------ requests

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        retry: Retry = Retry.IDEMPOTENT,
        expect_json: bool = True,
    ) -> Response:
        """Send ``method path`` and return the 2xx response.

        Raises:
            ClientClosedError: the client was closed.
            APIStatusError: a non-2xx answer (the subclass for its status).
            APIConnectionError: no usable response; :class:`APITimeoutError` on timeout.
            RateLimitError: a client-wide ``Retry-After`` pause longer than
                ``RetryPolicy.max_retry_after`` is in force (nothing was sent).
        """
        self.check_open()
        if not self._sessions.settled():
            await self._sessions.ready()  # the first request, a borrowed session, or another loop
        url = self.base_url + path
        body = _json_body(json) if json is not None else None
        query = _query(params)
        # Built on the first failure only: almost every call succeeds at once.
        delays: Iterator[float] | None = None
        while True:
            if self.pause_remaining() > 0:
                await self._wait_for_pause(method, url)
            try:
                response = await self._send(
                    method, url, query, body, expect_json, unpooled=retry is Retry.UNSENT_ONLY
                )
            except APIConnectionError as exc:
                allowed = retry is Retry.IDEMPOTENT or (
                    retry is Retry.UNSENT_ONLY and isinstance(exc, _UnsentError)
                )
                if delays is None:
                    delays = self.retry.delays()
                delay = next(delays, None) if allowed else None
                if delay is None:
                    raise
                delay = jittered(delay, self.retry.jitter)
                logger.warning("%s %s failed (%s); retrying in %.2fs", method, url, exc, delay)
                await self.retry.sleep(delay)
                continue
            except APIStatusError as exc:
                if exc.retry_after is not None and exc.status in (429, 503):
                    self.pause(exc.retry_after)
                if delays is None:
                    delays = self.retry.delays()
                delay = (
                    next(delays, None)
                    if retry is Retry.IDEMPOTENT and is_transient_status(exc.status)
                    else None
                )
                if delay is None:
                    raise
                if exc.retry_after is not None:
                    if exc.retry_after > self.retry.max_retry_after:
                        raise
                    # The pause set above makes the next attempt wait out Retry-After.
                    delay = 0.0
                delay = jittered(delay, self.retry.jitter)
                logger.warning(
                    "%s %s answered %s; retrying in %.2fs", method, url, exc.status, delay
                )
                await self.retry.sleep(delay)
                continue
            return response

    async def _wait_for_pause(self, method: str, url: str) -> None:
        # A few re-checks catch a pause extended while we slept; a bounded number, because
        # an injected sleep may not move the loop clock at all.
        for _ in range(3):
            remaining = self.pause_remaining()
            if remaining <= 0:
                return
            if remaining > self.retry.max_retry_after:
                msg = f"Tavus asked this client to wait {remaining:.0f}s more (Retry-After)"
                raise RateLimitError(msg, status=429, method=method, url=url, retry_after=remaining)
            await self.retry.sleep(remaining)

    async def _send(
        self,
        method: str,
        url: str,
        query: dict[str, str],
        body: bytes | None,
        expect_json: bool,
        *,
        unpooled: bool,
    ) -> Response:
        session = self._sessions.get(unpooled=unpooled)
        hops = 0
        while True:
            shown = url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
            status, reason, resp_headers, raw, cut = await self._exchange(
                session, method, url, shown, query, body
            )
            # Once, here: what the server echoes of the key reaches no error, log or model.
            is_json, data = decode_body(self._key.redact(raw, error=not 200 <= status < 300))
            logger.debug("%s %s -> %s (%d bytes)", method, shown, status, len(raw))
            # Redirects are ours to follow, within the API's origin only (see
            # _sansio.redirect): aiohttp's would carry the key to any host.
            hop = redirect(status, resp_headers, data, method=method, url=shown, hops=hops)
            if not isinstance(hop, Redirect):
                break
            method, url, query, hops = hop.method, hop.url, {}, hops + 1
            body = body if hop.keep_body else None
        if hop is not None:
            raise hop
        if not 200 <= status < 300:
            raise error_from_response(
                status, resp_headers, data, method=method, url=shown, reason=reason
            )
        if cut or (expect_json and not is_json):
            msg, problem = (
                ("response body too large", f"more than {MAX_RESPONSE_BYTES} bytes")
                if cut
                else ("response body is not JSON", f"expected JSON, got text {data!r}")
            )
            raise ResponseValidationError(
                msg, method=method, url=shown, status=status, errors=[problem], body=data
            )
        return Response(
            status=status,
            method=method,
            url=shown,
            headers=resp_headers,
            data=data,
            is_json=is_json,
        )

    async def _exchange(
        self,
        session: aiohttp.ClientSession,
        method: str,
        url: str,
        shown: str,
        query: dict[str, str],
        body: bytes | None,
    ) -> tuple[int, str, Mapping[str, str], bytes, bool]:
        """One request and its response: status, reason, headers, body bytes (at most
        :data:`MAX_RESPONSE_BYTES` of them) and whether the body was longer."""
        headers = self._headers if body is None else self._json_headers
        self.count()
        try:
            async with session.request(
                method,
                url,
                params=query or None,
                data=body,
                headers=headers,
                allow_redirects=False,
                **self._per_request,
            ) as resp:
                declared = resp.content_length
                # A compressed body's length says nothing of what it inflates to.
                if (
                    declared is not None
                    and declared <= MAX_RESPONSE_BYTES
                    and not resp.headers.get("Content-Encoding")
                ):
                    raw, cut = await resp.read(), False  # the common case: framed, plain, small
                else:
                    raw, cut = await _read_capped(resp)
                return resp.status, resp.reason or "", resp.headers, raw, cut
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            # Raised while connecting: nothing of the request was written.
            msg = f"could not connect to {self.base_url}: {_describe(exc)}"
            raise _UnsentError(msg, method=method, url=shown) from exc
        except asyncio.TimeoutError as exc:
            msg = f"no response within {self._timeout.total}s"
            raise APITimeoutError(msg, method=method, url=shown) from exc
        except (aiohttp.ClientError, OSError) as exc:
            msg = f"connection failed: {_describe(exc)}"
            raise APIConnectionError(msg, method=method, url=shown) from exc


async def _read_capped(resp: aiohttp.ClientResponse) -> tuple[bytes, bool]:
    """The body, at most :data:`MAX_RESPONSE_BYTES` of it, and whether there was more."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            # Leaving the rest unread closes the connection instead of reusing it.
            return b"".join(chunks)[:MAX_RESPONSE_BYTES], True
    return b"".join(chunks), False


class _Derived(HTTPSession):
    """A view of an :class:`HTTPSession` with its own timeout and retries (``with_options``)."""

    def __init__(
        self, root: HTTPSession, *, timeout: aiohttp.ClientTimeout, retry: RetryPolicy
    ) -> None:
        super().__init__(
            api_key=root._key,
            base_url=root.base_url,
            session=None,
            timeout=timeout,
            retry=retry,
        )
        self._root = root
        self._sessions = root._sessions
        self._headers, self._json_headers = root._headers, root._json_headers
        # The shared session's default timeout is the root's: ours goes with each request.
        self._per_request = {"timeout": timeout}

    @property
    def closed(self) -> bool:
        """The original's state: closing the original closes every view."""
        return self._root.closed

    def check_open(self) -> None:
        """As the original's."""
        self._root.check_open()

    async def close(self) -> None:
        """Nothing: the original owns the sessions."""

    def pause_remaining(self) -> float:
        """The original's (a Retry-After pauses the whole client)."""
        return self._root.pause_remaining()

    def pause(self, seconds: float) -> None:
        """Pause the original (and so every view)."""
        self._root.pause(seconds)

    def count(self) -> None:
        """Count on the original."""
        self._root.count()


def _describe(exc: BaseException) -> str:
    # aiohttp's messages name host and port but never our headers; keep them short.
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]
