"""The Starlette application, its security headers, and the uvicorn runner.

create_app(storage)          -> an ASGI app reading ``storage`` (read-only)
await serve(app, stop=event) -> serves on 127.0.0.1:8080 until ``event`` is set
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aggregator.config.model import HttpSettings
from aggregator.daemon.metrics import CONTENT_TYPE, Metrics
from aggregator.errors import ConfigError, StorageError
from aggregator.store.engine import Location
from aggregator.web import api, feeds, fever, greader, html, login, pages, reading
from aggregator.web.queries import BadRequest
from aggregator.web.responses import Clock, Endpoint, WebContext, cached, wants_json
from aggregator.web.session import SessionGate, Sessions
from aggregator.web.style import CSS, VERSION

log = logging.getLogger(__name__)

# No script runs on these pages at all: the CSP forbids every script, not just inline ones.
SECURITY_HEADERS: dict[str, str] = {
    "content-security-policy": (
        "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    # readers' clicks to outlets carry no trace of where they came from
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def create_app(
    storage: Path | Location,
    *,
    title: str = "News",
    clock: Clock | None = None,
    metrics: Metrics | None = None,
    http: HttpSettings | None = None,
) -> ASGIApp:
    """The readers' web app over the store in ``storage`` (opened read-only per request;
    readers' logins and marks write).

    ``metrics`` are the daemon's when it serves; on its own the app still exports the
    store's gauges at /metrics. ``http``: whether the server is public, which proxies to
    trust (:mod:`aggregator.web.session`).
    """
    http = http or HttpSettings()
    sessions = Sessions(storage, public=http.public, trusted_proxies=http.trusted_proxies)
    exporter = metrics or Metrics(storage)

    def prometheus(request: Request) -> Response:
        return Response(exporter.exposition(), media_type=CONTENT_TYPE)

    endpoints: dict[str, Endpoint] = {
        **pages.ENDPOINTS,
        **api.ENDPOINTS,
        **feeds.ENDPOINTS,
        "/static/style.css": stylesheet,
        "/metrics": prometheus,
    }
    app = Starlette(
        # GET (and HEAD) only, but for readers' forms (logging in, marking read) and the
        # readers' apps, which also POST their marks
        routes=[
            *(Route(path, endpoint, methods=["GET"]) for path, endpoint in endpoints.items()),
            *login.ROUTES,
            *reading.ROUTES,
            *greader.ROUTES,
            *fever.ROUTES,
        ],
        middleware=[Middleware(SessionGate, sessions=sessions)],
        exception_handlers={
            StorageError: storage_error,
            BadRequest: bad_request,
            HTTPException: http_error,
        },
    )
    app.state.web = WebContext(storage, title, clock or (lambda: datetime.now(UTC)))
    app.state.sessions = sessions
    return SecurityHeaders(app)


# ---------------------------------------------------------------------- responses
def stylesheet(request: Request) -> Response:
    # the URL carries the stylesheet's hash (?v=), so it may be cached for a long time
    return cached(
        request,
        CSS,
        "text/css; charset=utf-8",
        max_age=86400 if request.query_params.get("v") == VERSION else 0,
    )


def _error(request: Request, status: int, message: str) -> Response:
    if wants_json(request):
        return api.error_response(status, message)
    return html.error_page(request, status, message)


def storage_error(request: Request, exc: Exception) -> Response:
    log.warning("web: %s", exc)
    # the message names paths on the server; readers only need to know there is no data
    return _error(request, 503, "No stories yet: the aggregator has not stored anything here.")


def bad_request(request: Request, exc: Exception) -> Response:
    return _error(request, 400, str(exc))


def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return Response(status_code=405, headers=exc.headers)
    return _error(request, exc.status_code, str(exc.detail))


class SecurityHeaders:
    """Adds the security headers to every response, errors included."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self._headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]

    @property
    def state(self) -> object:  # so tests can reach app.state.web through the wrapper
        return self.app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self._headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


# ---------------------------------------------------------------------- serving
async def serve(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    stop: asyncio.Event,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` on host:port until ``stop`` is set; in-flight requests finish.

    The socket is bound here, before uvicorn starts, so that an address in use is a
    :class:`ConfigError` (uvicorn would call ``sys.exit``) and ``port=0`` works: ``on_ready``
    gets the base URL actually bound. Signals stay with the caller (the daemon owns them).
    """
    sock = bind(host, port)
    config = uvicorn.Config(
        app,
        log_config=None,  # keep the aggregator's logging setup
        log_level="warning",
        access_log=False,
        lifespan="off",
        server_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=5,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    if on_ready is not None:
        on_ready(base_url(sock))
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        server.should_exit = True
        stopping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()


async def serve_until_signalled(
    app: ASGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """``serve`` until SIGINT or SIGTERM: what ``aggregator serve`` runs."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await serve(app, host=host, port=port, stop=stop, on_ready=on_ready)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


class _Server(uvicorn.Server):
    """uvicorn's server without its signal handlers (the caller decides when to stop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (IPv4 or IPv6)."""
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = info[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}", key="settings.http") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc}", key="settings.http") from exc
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class ServerThread:
    """``serve`` in a background thread with its own event loop: for tests and benchmarks.

    with ServerThread(create_app(storage)) as server:
        httpx.get(server.url + "/api/stories")
    """

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.url = ""
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="web-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        def ready(url: str) -> None:
            self.url = url
            self._ready.set()

        try:
            self._loop.run_until_complete(
                serve(self.app, host=self.host, port=self.port, stop=self._stop, on_ready=ready)
            )
        except BaseException as exc:  # handed to the starting thread
            self._error = exc
            self._ready.set()
        finally:
            self._loop.close()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise self._error
        if not self.url:
            raise RuntimeError("the web server did not start within 30 s")
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)
