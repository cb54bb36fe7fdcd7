"""Training callbacks: parse them, receive them, and let waiting jobs act on them at once.

Tavus POSTs ``{"replica_id", "status": "ready"}`` (or ``"error"`` with ``error_message``) to a
face's ``callback_url`` when training ends, and more than once for Phoenix-4.5. Tavus documents
no signature on these deliveries, so:

* the callback URL carries a random per-client secret (``?token=…``), checked in constant
  time; :meth:`CallbackReceiver.url` builds it;
* a callback is only a *hint*: a waiting job re-reads its face with one GET before it
  resolves, so a forged "ready" can at most trigger a GET.

Callbacks can also be *forwarded* (:meth:`CallbackReceiver.forward`): after the checks, each
forwarder gets the callback and the URL's query parameters, e.g. to signal a durable workflow
waiting for the face in another process (:mod:`tavus_async.temporal`).

The receiver answers at once (the GET happens in the job's own task), deduplicates repeated
deliveries, and turns bad requests into 400/401/403/413 without touching any job.
"""

from __future__ import annotations

import collections
import contextlib
import hmac
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ._converter import structure
from ._errors import CallbackError, ResponseValidationError
from ._hub import JobHub
from ._models import TrainingCallback
from ._sansio import with_query_param
from ._validation import check_url

if TYPE_CHECKING:
    from aiohttp import web

__all__ = [
    "MAX_CALLBACK_BYTES",
    "CallbackReceiver",
    "CallbackResult",
    "Forwarder",
    "parse_training_callback",
]

Forwarder = Callable[[TrainingCallback, Mapping[str, str]], Awaitable[int]]
"""What :meth:`CallbackReceiver.forward` takes: an async function that gets an accepted
callback and the callback URL's query parameters (the token removed), and returns how many
waits it woke (e.g. :func:`tavus_async.temporal.signal_workflows`)."""

logger = logging.getLogger("tavus_async")

#: Largest callback body accepted; Tavus's are well under 1 KiB.
MAX_CALLBACK_BYTES = 16 * 1024
TOKEN_PARAMETER = "token"  # noqa: S105 - the name of a query parameter, not a secret
#: Where a standalone receiver listens by default: Tavus must be able to reach it.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - a callback receiver is meant to be reachable
#: Recent deliveries remembered for deduplication.
DEDUPE_WINDOW = 4096


def parse_training_callback(body: bytes | str | Mapping[str, Any]) -> TrainingCallback:
    """A typed :class:`TrainingCallback` from a callback body (bytes, text or decoded JSON).

    Accepts ``face_id`` or ``replica_id``; ``ready``/``completed`` mean success; extra keys are
    ignored; unknown statuses are kept.

    Raises:
        CallbackError: the body is not JSON, not an object, or lacks an id or a status.
    """
    data: Any = body
    if isinstance(body, (bytes, bytearray)):
        try:
            data = json.loads(bytes(body).decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            msg = "callback body is not JSON"
            raise CallbackError(msg) from exc
    elif isinstance(body, str):
        try:
            data = json.loads(body)
        except ValueError as exc:
            msg = "callback body is not JSON"
            raise CallbackError(msg) from exc
    try:
        return structure(data, TrainingCallback, method="POST", url="callback", status=200)
    except ResponseValidationError as exc:
        msg = f"callback body does not describe a training: {'; '.join(exc.errors)}"
        raise CallbackError(msg) from exc


@attrs.frozen(kw_only=True)
class CallbackResult:
    """What to answer Tavus, whatever the web framework: ``status`` and a small JSON body."""

    status: int
    message: str
    callback: TrainingCallback | None = None
    woke: int = 0
    """Waiting jobs told to confirm with a GET."""

    @property
    def body(self) -> bytes:
        """The JSON body to send (``{"message": …}``)."""
        return json.dumps({"message": self.message}).encode()


class CallbackReceiver:
    """``client.callbacks``: receives training callbacks for this client's waiting jobs.

    Mount :meth:`app` in your aiohttp application (or call :meth:`handle` from any
    framework), give Tavus :meth:`url`, and every job of this client whose ``callback_url`` is
    that URL resolves right after its callback instead of at the next poll, polling only as
    a slow safety net meanwhile.
    """

    def __init__(self, hub: JobHub, *, secret: str | None = None) -> None:
        self._secret = secret or secrets.token_urlsafe(24)
        self._hub = hub
        hub.callback_token = self._secret
        self._seen: collections.OrderedDict[tuple[Any, ...], None] = collections.OrderedDict()
        self._forwarders: list[Forwarder] = []
        #: Callbacks accepted (after deduplication), for diagnostics.
        self.accepted = 0

    def __repr__(self) -> str:
        return f"CallbackReceiver(accepted={self.accepted})"

    @property
    def secret(self) -> str:
        """The token callback URLs carry. Pass it as ``TavusClient(callback_secret=…)`` to a
        restarted worker so that it accepts callbacks for trainings created before."""
        return self._secret

    def url(self, base_url: str) -> str:
        """The callback URL to pass to ``create(callback_url=…)``: ``base_url`` plus the token.

        Args:
            base_url: The public URL where :meth:`app` (or your handler) is reachable, e.g.
                ``https://my.app/tavus/callback``.

        Raises:
            InvalidArgumentError: not an absolute http(s) URL.
        """
        return with_query_param(check_url("base_url", base_url), TOKEN_PARAMETER, self._secret)

    def forward(self, forwarder: Forwarder) -> None:
        """Also hand every accepted callback to ``forwarder`` (after the token check, the
        parsing and the deduplication), with the callback URL's query parameters.

        A forwarder that raises is logged and skipped: Tavus still gets its 200.
        """
        self._forwarders.append(forwarder)

    async def handle(
        self, body: bytes, *, token: str | None, params: Mapping[str, str] | None = None
    ) -> CallbackResult:
        """Check, parse and act on one delivery; framework-agnostic.

        Answer Tavus with ``result.status`` and ``result.body``. Never raises for a bad
        request: 401 (no token), 403 (wrong token), 413 (too large), 400 (not a training
        callback) leave every job untouched; 200 otherwise (also for a repeated delivery).

        Args:
            body: The request body, as received.
            token: The ``token`` query parameter of the request.
            params: The other query parameters, for forwarders (see :meth:`forward`).
        """
        if not token:
            return CallbackResult(status=401, message="missing callback token")
        if not hmac.compare_digest(token.encode(), self._secret.encode()):
            return CallbackResult(status=403, message="wrong callback token")
        if len(body) > MAX_CALLBACK_BYTES:
            return CallbackResult(status=413, message="callback body too large")
        try:
            callback = parse_training_callback(body)
        except CallbackError as exc:
            return CallbackResult(status=400, message=str(exc))
        key = (
            callback.face_id,
            callback.status.value,
            callback.finetune_status,
            callback.error_message,
        )
        if key in self._seen:
            self._seen.move_to_end(key)
            return CallbackResult(status=200, message="duplicate", callback=callback)
        self._seen[key] = None
        if len(self._seen) > DEDUPE_WINDOW:
            self._seen.popitem(last=False)
        self.accepted += 1
        woke = self._hub.hint(callback.face_id)
        extra = {k: v for k, v in (params or {}).items() if k != TOKEN_PARAMETER}
        for forwarder in self._forwarders:
            try:
                woke += await forwarder(callback, extra)
            except Exception:  # a forwarder's failure must not turn Tavus's delivery into a 500
                logger.exception("forwarding the callback for %s failed", callback.face_id)
        logger.info(
            "callback for %s (%s): %d waiting job(s) will confirm",
            callback.face_id,
            callback.status.value,
            woke,
        )
        return CallbackResult(status=200, message="ok", callback=callback, woke=woke)

    async def aiohttp_handler(self, request: web.Request) -> web.Response:
        """An aiohttp request handler for a route of yours.

        ``app.router.add_post("/tavus/callback", client.callbacks.aiohttp_handler)``
        """
        from aiohttp import web  # noqa: PLC0415 - aiohttp.web is loaded only when serving

        declared = request.content_length
        if declared is not None and declared > MAX_CALLBACK_BYTES:
            result = CallbackResult(status=413, message="callback body too large")
        else:
            # Read one byte past the limit: enough to tell "too large" without reading more.
            body = await request.content.read(MAX_CALLBACK_BYTES + 1)
            result = await self.handle(
                body, token=request.query.get(TOKEN_PARAMETER), params=request.query
            )
        return web.Response(status=result.status, body=result.body, content_type="application/json")

    def app(self) -> web.Application:
        """An aiohttp sub-application answering ``POST /``: mount it where Tavus can reach it,
        e.g. ``app.add_subapp("/tavus/callback", client.callbacks.app())``."""
        from aiohttp import web  # noqa: PLC0415 - see aiohttp_handler

        sub = web.Application()
        sub.router.add_post("/", self.aiohttp_handler)
        sub.router.add_post("", self.aiohttp_handler)
        return sub

    @contextlib.asynccontextmanager
    async def serve(
        self, *, host: str = ALL_INTERFACES, port: int = 8080, public_url: str | None = None
    ) -> AsyncIterator[str]:
        """Run a small standalone receiver (for worker scripts without a web app).

        Yields the callback URL to pass to ``create(callback_url=…)``: built from
        ``public_url`` (how Tavus reaches this machine) or else from ``host:port``.
        """
        from aiohttp import web  # noqa: PLC0415 - see aiohttp_handler

        root = web.Application()
        root.router.add_post("/", self.aiohttp_handler)
        runner = web.AppRunner(root, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        sockets = getattr(getattr(site, "_server", None), "sockets", None) or ()
        bound = int(sockets[0].getsockname()[1]) if sockets else port
        shown = "127.0.0.1" if host in (ALL_INTERFACES, "::") else host
        try:
            yield self.url(public_url or f"http://{shown}:{bound}/")
        finally:
            await runner.cleanup()
