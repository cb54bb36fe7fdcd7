""":class:`TavusClient`: configuration and lifecycle; the services hang off it."""

from __future__ import annotations

import logging
import os
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
import attrs

from ._callbacks import CallbackReceiver
from ._conversations import ConversationsService
from ._errors import ClientClosedError, InvalidArgumentError
from ._faces import FacesService, ReplicasService
from ._http import HTTPSession, Secret
from ._hub import JobHub
from ._policies import PollPolicy, RetryPolicy, scaled_policy
from ._validation import check_base_url, check_timeout
from ._voices import VoicesService

__all__ = ["DEFAULT_BASE_URL", "TavusClient"]

logger = logging.getLogger("tavus_async")

T = TypeVar("T")

DEFAULT_BASE_URL = "https://tavusapi.com"
API_KEY_ENV = "TAVUS_API_KEY"
BASE_URL_ENV = "TAVUS_BASE_URL"
TIME_SCALE_ENV = "TAVUS_TIME_SCALE"
#: Per-request timeout. A create answers in seconds; training hours are PollPolicy.timeout.
DEFAULT_TIMEOUT = 60.0


class TavusClient:
    """An asyncio client for the Tavus API.

    Use it as an async context manager (or call :meth:`close`)::

        async with TavusClient() as client:
            job = await client.faces.create(train_video_url=url, face_name="Rio")
            face = await job

    Args:
        api_key: Your key; defaults to the ``TAVUS_API_KEY`` environment variable. It is sent
            only in the ``x-api-key`` header and never appears in a repr, log or error.
        base_url: API root; defaults to ``TAVUS_BASE_URL``, then ``https://tavusapi.com``
            (point it at the emulator in tests). It may sit under a path (a proxy's
            ``https://proxy.example/tavus``); a query, fragment or credentials are refused.
        session: An ``aiohttp.ClientSession`` of yours to send requests with. It is
            borrowed: the client never closes it. Without one, the client creates its own
            session inside the running loop on first use and closes it in :meth:`close`;
            creates then go out on a connection of their own, never on a kept-alive one
            that the server may have closed while it sat idle.
        timeout: Per-request timeout in seconds (or an ``aiohttp.ClientTimeout``). Not the
            training deadline: that is ``PollPolicy.timeout``.
        retry: How single requests are retried (:class:`RetryPolicy`).
        poll: Default cadence and deadline of training waits (:class:`PollPolicy`).
        max_polls_per_second: Client-wide budget for training polls (``None``: unlimited).
        callback_secret: The token callback URLs of :attr:`callbacks` carry (default: a new
            random one). Reuse it across restarts to accept callbacks for earlier trainings.

    Attributes:
        faces: Faces (``/v2/faces``): create, get, list, rename, update, delete, and the
            training jobs (:class:`~tavus_async.FacesService`).
        replicas: The same resource under its replica-era names (``/v2/replicas``,
            :class:`~tavus_async.ReplicasService`).
        voices: Stock voices (``/v2/voices``, :class:`~tavus_async.VoicesService`).
        conversations: Conversations with trained faces (``/v2/conversations``,
            :class:`~tavus_async.ConversationsService`).
        callbacks: The receiver of training callbacks for this client's jobs
            (:class:`~tavus_async.CallbackReceiver`).

    Without a ``poll`` policy, ``TAVUS_TIME_SCALE=N`` in the environment makes waits run N
    times faster, for an emulator started with ``--speed N``; it is ignored (with a
    warning in the log) when the base URL is Tavus's own.

    Raises:
        InvalidArgumentError: no API key anywhere, or a malformed option (a ``base_url``
            that is no http(s) root).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: float | aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        poll: PollPolicy | None = None,
        max_polls_per_second: float | None = 10.0,
        callback_secret: str | None = None,
    ) -> None:
        key = _resolve_key(api_key if api_key is not None else os.environ.get(API_KEY_ENV))
        url = base_url if base_url is not None else os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
        self._base_url = _normalise_base_url(url)
        if session is not None:
            _check_type("session", session, aiohttp.ClientSession)
        retry = _check_type("retry", retry, RetryPolicy) if retry is not None else RetryPolicy()
        if poll is not None:
            poll = _check_type("poll", poll, PollPolicy)
        else:
            poll = _default_poll(self._base_url, os.environ.get(TIME_SCALE_ENV))
        if max_polls_per_second is not None:
            check_timeout("max_polls_per_second", max_polls_per_second, maximum=10_000)
        self._http = HTTPSession(
            api_key=Secret(key),
            base_url=self._base_url,
            session=session,
            timeout=_client_timeout(timeout),
            retry=retry,
        )
        self._hub = JobHub(
            policy=poll,
            max_polls_per_second=max_polls_per_second,
            pause_remaining=self._http.pause_remaining,
        )
        self._original: TavusClient | None = None
        self._services(CallbackReceiver(self._hub, secret=_check_secret(callback_secret)))

    def _services(self, callbacks: CallbackReceiver) -> None:
        self.voices = VoicesService(self._http)
        self.faces = FacesService(self._http, self._hub, self.voices)
        self.replicas = ReplicasService(self._http, self._hub, self.voices)
        self.conversations = ConversationsService(self._http)
        self.callbacks = callbacks

    def with_options(
        self,
        *,
        timeout: float | aiohttp.ClientTimeout | None = None,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> TavusClient:
        """A light copy with its own per-request timeout and retries, sharing the rest.

        For one slow call without a client-wide setting::

            faces = await client.with_options(timeout=120, max_retries=5).faces.list()

        The copy sends through this client's session, within its poll budget and
        ``Retry-After`` pauses, and its jobs are this client's jobs. Closing the copy does
        nothing; closing this client closes both.

        Args:
            timeout: Per-request timeout in seconds (or an ``aiohttp.ClientTimeout``).
            max_retries: Retries after the first attempt (0 disables them); a shorthand for
                ``retry=RetryPolicy(max_attempts=max_retries + 1)`` on the current policy.
            retry: A whole :class:`RetryPolicy` instead.

        Raises:
            InvalidArgumentError: a malformed option, or both ``max_retries`` and ``retry``.
        """
        if max_retries is not None and retry is not None:
            msg = "give max_retries or retry, not both"
            raise InvalidArgumentError(msg)
        policy: RetryPolicy | None = None
        if retry is not None:
            policy = _check_type("retry", retry, RetryPolicy)
        elif max_retries is not None:
            if isinstance(max_retries, bool) or not isinstance(max_retries, int):
                msg = f"max_retries must be an int, got {type(max_retries).__name__}"
                raise TypeError(msg)
            policy = attrs.evolve(self._http.retry, max_attempts=max_retries + 1)
        copy = object.__new__(TavusClient)
        copy._base_url = self._base_url
        copy._hub = self._hub
        copy._http = self._http.derive(
            timeout=_client_timeout(timeout) if timeout is not None else None, retry=policy
        )
        copy._original = self._original or self
        copy._services(self.callbacks)
        return copy

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self._base_url

    @property
    def poll_policy(self) -> PollPolicy:
        """The default :class:`PollPolicy` of training waits."""
        return self._hub.policy

    @property
    def expected_duration(self) -> tuple[float, float]:
        """How long this client expects a training to take: ``(low, high)`` seconds.

        The poll policy's ``expected_duration`` until a training this client watched has
        finished; then the range it has learned from them (and from the trainings it still
        watches). To carry what it learned into another process (a worker that restarts,
        tomorrow's run), save it and pass it back: ``TavusClient(poll=
        PollPolicy(expected_duration=saved))``. A stateless worker's client learns the one
        training it sees finish: read it after the poll that says done. No I/O.
        """
        return self._hub.expected_duration()

    @property
    def retry_policy(self) -> RetryPolicy:
        """The :class:`RetryPolicy` of single requests."""
        return self._http.retry

    @property
    def closed(self) -> bool:
        """True after :meth:`close` (of the original, for a :meth:`with_options` copy)."""
        return self._http.closed

    @property
    def requests_sent(self) -> int:
        """HTTP requests this client has sent (every attempt counts)."""
        return self._http.sent

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"TavusClient(base_url={self._base_url!r}, {state})"

    async def close(self) -> None:
        """End every training wait (with :class:`ClientClosedError`) and close the session.

        A borrowed session is left open. Trainings are not touched. Calling it again does
        nothing, and so does closing a :meth:`with_options` copy.
        """
        if self.closed or self._original is not None:
            return
        await self._hub.close()
        await self._http.close()

    async def __aenter__(self) -> TavusClient:
        if self.closed:
            msg = "this TavusClient was closed; create a new one"
            raise ClientClosedError(msg)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


def _default_poll(base_url: str, scale_text: str | None) -> PollPolicy:
    """The default policy, sped up by ``TAVUS_TIME_SCALE`` for anything but the real API."""
    if not scale_text:
        return PollPolicy()
    try:
        scale = float(scale_text)
    except ValueError:
        scale = 0.0
    if not (scale > 0 and scale != float("inf")):
        msg = f"{TIME_SCALE_ENV} must be a number > 0, got {scale_text!r}"
        raise InvalidArgumentError(msg)
    if base_url == DEFAULT_BASE_URL:
        # A speed-up meant for an emulator would poll Tavus itself N times too often.
        logger.warning("%s is ignored for %s (it is for emulators)", TIME_SCALE_ENV, base_url)
        return PollPolicy()
    return scaled_policy(scale)


def _resolve_key(key: Any) -> str:
    if key is None or (isinstance(key, str) and not key.strip()):
        msg = (
            f"no Tavus API key: pass TavusClient(api_key=...) or set the {API_KEY_ENV} "
            "environment variable"
        )
        raise InvalidArgumentError(msg)
    if not isinstance(key, str):
        msg = f"api_key must be a string, got {type(key).__name__}"
        raise TypeError(msg)
    return key


def _check_type(name: str, value: Any, kind: type[T]) -> T:
    if isinstance(value, kind):
        return value
    msg = f"{name} must be a {kind.__name__}, got {type(value).__name__}"
    raise TypeError(msg)


def _check_secret(secret: Any) -> str | None:
    if secret is None:
        return None
    if not isinstance(secret, str):
        msg = f"callback_secret must be a string, got {type(secret).__name__}"
        raise TypeError(msg)
    if len(secret) < 16 or not secret.isprintable() or any(c.isspace() for c in secret):
        msg = "callback_secret must be at least 16 printable characters without spaces"
        raise InvalidArgumentError(msg)
    return secret


def _normalise_base_url(value: Any) -> str:
    url = check_base_url(value).rstrip("/")
    # Our paths start with /v2; a base that already ends in /v2 (as some clients use) would
    # double it.
    if url.endswith("/v2"):
        url = url[: -len("/v2")]
    return url


def _client_timeout(timeout: float | aiohttp.ClientTimeout) -> aiohttp.ClientTimeout:
    if isinstance(timeout, aiohttp.ClientTimeout):
        return timeout
    seconds = check_timeout("timeout", timeout, maximum=3600.0)
    # The connect phase gets its own, shorter limit: a connect timeout proves the request
    # was never sent, which is what makes a create safe to retry.
    return aiohttp.ClientTimeout(total=seconds, connect=min(seconds, 10.0))
