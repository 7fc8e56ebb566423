"""Readers' web sessions: who is logged in, the session cookie, CSRF tokens, and the gate
that keeps a private server's pages for readers who logged in.

    sessions = Sessions(storage, public=False, trusted_proxies=("127.0.0.1",))
    Starlette(..., middleware=[Middleware(SessionGate, sessions=sessions)])
    reader(request)      -> the Account logged in on this request, or None
    form_token(request)  -> the CSRF token every POST form of the session carries

A session is a random token in an HttpOnly, SameSite=Strict cookie (Secure when the reader
came over https); the store keeps only its digest, as a ``user_tokens`` row of kind
``session``. It lives 30 days from its last refresh and is refreshed (row and cookie) when a
reader comes back after a day, so an active reader stays logged in and a lost cookie stops
working within a month. A form's CSRF token is an HMAC of the session token: nobody without
the cookie can compute it, and no server secret has to be shared between instances.

The gate (:class:`SessionGate`) finds the reader before any page runs. With
``settings.http.public: false`` it answers a request without a session itself: pages redirect
to /login, the JSON API and the feeds answer 401. /healthz and /metrics stay open (health
checks and Prometheus have no login), as do the stylesheet, the login form, and the readers'
apps under /greader/ and /fever/, which log in with their own tokens.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request, cookie_parser
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aggregator.errors import StorageError
from aggregator.store import Account
from aggregator.store.engine import Location
from aggregator.store.sqlite import SqliteStore
from aggregator.web.auth import LoginLimiter
from aggregator.web.queries import open_store
from aggregator.web.responses import JSON, wants_json

log = logging.getLogger(__name__)

SESSION_COOKIE = "aggregator_session"
LOGIN_COOKIE = "aggregator_login"  # before a session: ties the login form to its browser
SESSION_KIND = "session"  # the user_tokens kind of web sessions
LIFETIME = timedelta(days=30)
REFRESH_AFTER = timedelta(days=1)

# what a private server still answers without a session (the apps bring their own tokens)
OPEN_PATHS = ("/login", "/logout", "/static/", "/healthz", "/metrics", "/greader", "/fever")


@dataclass(frozen=True)
class Visit:
    """One request as the sessions see it."""

    reader: Account | None = None
    token: str = ""  # the session's token ("" without a session)
    secure: bool = False  # came over https (directly or through a trusted proxy)
    address: str = ""  # the client's address (behind a trusted proxy: the proxy's client)


def visit(request: Request) -> Visit:
    found: Visit = getattr(request.state, "visit", None) or Visit()
    return found


def reader(request: Request) -> Account | None:
    return visit(request).reader


def sessions_of(request: Request) -> Sessions:
    found: Sessions = request.app.state.sessions
    return found


# ---------------------------------------------------------------------- tokens and cookies
def keyed_token(secret: str, purpose: str) -> str:
    """A token only the holder of ``secret`` (a cookie's value) can compute."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).hexdigest()


def form_token(request: Request) -> str:
    """The CSRF token of this request's session ("" without a session)."""
    token = visit(request).token
    return keyed_token(token, "form") if token else ""


def same_token(expected: str, given: str) -> bool:
    """Constant-time comparison; an empty expected token never matches."""
    return bool(expected) and hmac.compare_digest(expected.encode(), given.encode())


def cookie(name: str, value: str, *, secure: bool, max_age: int | None, path: str = "/") -> str:
    """A Set-Cookie value: HttpOnly and SameSite=Strict always, Secure over https."""
    parts = [f"{name}={value}", f"Path={path}", "HttpOnly", "SameSite=Strict"]
    if max_age is not None:
        parts.insert(1, f"Max-Age={max_age}")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)


def session_cookie(token: str, secure: bool) -> str:
    return cookie(SESSION_COOKIE, token, secure=secure, max_age=int(LIFETIME.total_seconds()))


def cleared_cookie(name: str, secure: bool, path: str = "/") -> str:
    return cookie(name, "", secure=secure, max_age=0, path=path)


@contextlib.contextmanager
def writer(storage: Path | Location) -> Iterator[SqliteStore]:
    """A store that may write (sessions, marks), for one request."""
    store = SqliteStore(storage)
    try:
        yield store
    finally:
        store.close()


# ---------------------------------------------------------------------- sessions
class Sessions:
    """Sessions over the store, the login limiter, and whom to believe about the client."""

    def __init__(
        self,
        storage: Path | Location,
        *,
        public: bool = True,
        trusted_proxies: Sequence[str] = (),
        limiter: LoginLimiter | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.storage = storage
        self.public = public
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]
        self.limiter = limiter or LoginLimiter()
        self.clock = clock

    def lookup(self, token: str) -> tuple[Account, bool] | None:
        """The reader of a live session token, and whether it was refreshed just now."""
        now = self.clock()
        with open_store(self.storage) as store:
            found = store.session_user(token, SESSION_KIND, now - LIFETIME)
        if found is None:
            return None
        user, issued = found
        if now - issued < REFRESH_AFTER:
            return user, False
        try:
            with writer(self.storage) as store:
                store.refresh_token(token)
        except StorageError as exc:  # a read-only store: the session still counts today
            log.warning("web: cannot refresh a session: %s", exc)
            return user, False
        return user, True

    def start(self, user: Account) -> str:
        """A new session for ``user`` (its expired sessions are forgotten)."""
        with writer(self.storage) as store:
            store.expire_tokens(user, SESSION_KIND, self.clock() - LIFETIME)
            return store.issue_token(user, SESSION_KIND)

    def end(self, token: str) -> None:
        with writer(self.storage) as store:
            store.revoke_token(token)

    def _trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip().strip("[]").split("%")[0])
        except ValueError:
            return False
        return any(ip in net for net in self.proxies)

    def client(self, scope: Scope, headers: Headers) -> tuple[str, bool]:
        """(the client's address, over https?), believing forwarded headers only when the
        direct peer is a trusted proxy: the nearest address that is not one of them."""
        peer = (scope.get("client") or ("", 0))[0]
        secure = scope.get("scheme") == "https"
        if not self._trusted(peer):
            return peer, secure
        hops = [h.strip() for h in ",".join(headers.getlist("x-forwarded-for")).split(",")]
        for hop in reversed([h for h in hops if h]):
            peer = hop
            if not self._trusted(hop):
                break
        proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        return peer, (proto == "https") if proto else secure


def limiter_address(address: str) -> str:
    """What the login limiter counts: an IPv6 client by its /64 (one host holds a /64)."""
    try:
        ip = ipaddress.ip_address(address.split("%")[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def is_open(path: str) -> bool:
    return any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in OPEN_PATHS)


# ---------------------------------------------------------------------- the gate
class SessionGate:
    """ASGI middleware: finds the reader, refreshes the session cookie, keeps a private
    server's pages behind the login, and marks readers' pages as private to caches."""

    def __init__(self, app: ASGIApp, sessions: Sessions) -> None:
        self.app = app
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)  # the stylesheet is the same for everyone
            return
        headers = Headers(scope=scope)
        token = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE, "")
        address, secure = self.sessions.client(scope, headers)
        found, ended = None, False
        if token:
            try:
                found = await run_in_threadpool(self.sessions.lookup, token)
                ended = found is None
            except StorageError as exc:  # no store yet: nobody is logged in
                log.debug("web: session lookup: %s", exc)
        user = found[0] if found else None
        scope.setdefault("state", {})["visit"] = Visit(user, token if user else "", secure, address)
        if user is None and not self.sessions.public and not is_open(scope["path"]):
            await refusal(Request(scope))(scope, receive, send)
            return
        refreshed = found is not None and found[1]

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start" and (user or ended):
                out = MutableHeaders(scope=message)
                sets_session = any(
                    v.startswith(SESSION_COOKIE + "=") for v in out.getlist("set-cookie")
                )
                if user is not None:
                    out["cache-control"] = "private, no-cache"
                    out.append("vary", "Cookie")
                if not sets_session and refreshed:
                    out.append("set-cookie", session_cookie(token, secure))
                elif not sets_session and ended:  # an expired or revoked session's cookie
                    out.append("set-cookie", cleared_cookie(SESSION_COOKIE, secure))
            await send(message)

        await self.app(scope, receive, send_marked)


AUTHENTICATE = f'Cookie realm="readers", form-action="/login", cookie-name="{SESSION_COOKIE}"'


def refusal(request: Request) -> Response:
    """What a private server answers without a session: pages send the reader to the login
    form (and back afterwards); the API and the feeds, read by programs, get 401."""
    path = request.url.path
    message = "this server is private: log in at /login (aggregator users add NAME)"
    challenge = {"www-authenticate": AUTHENTICATE, "cache-control": "no-store"}
    if wants_json(request):
        body = json.dumps({"error": {"status": 401, "message": message}})
        return Response(body, status_code=401, media_type=JSON, headers=challenge)
    if path.startswith("/feed.") or path.startswith("/api/"):
        return Response(message + "\n", status_code=401, media_type="text/plain", headers=challenge)
    here = path + (f"?{request.url.query}" if request.url.query else "")
    target = "/login" + ("" if here == "/" else "?" + urlencode({"next": here}))
    return RedirectResponse(target, status_code=303, headers={"cache-control": "no-store"})
