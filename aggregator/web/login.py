"""Logging in and out on the web page: GET and POST /login, POST /logout.

The login form is protected against CSRF before any session exists: GET /login gives the
browser a random ``aggregator_login`` cookie (HttpOnly, SameSite=Strict, Path=/login) and
the form a token keyed by it, so a form posted from another site, or without the cookie, is
refused (403). Failed logins go through :mod:`aggregator.web.auth`'s limiter, per account
name and per client address: past a few tries the form answers 429 with ``Retry-After`` and
says how long to wait. A successful login starts a new session (any session the browser
had ends) and forgets the login cookie.
"""

from __future__ import annotations

import math

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aggregator.errors import StorageError
from aggregator.store import passwords
from aggregator.web.auth import LoginRefused, log_in
from aggregator.web.forms import Form, checked_reader, field, local_path, read_form
from aggregator.web.html import layout
from aggregator.web.queries import open_store
from aggregator.web.safety import text
from aggregator.web.session import (
    AUTHENTICATE,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    cleared_cookie,
    cookie,
    keyed_token,
    limiter_address,
    same_token,
    session_cookie,
    sessions_of,
    visit,
)

NO_STORE = "cannot save logins: the storage is read-only or unavailable"


def login_form(request: Request) -> Response:
    """GET /login: the form (a reader already logged in goes on to ``next``)."""
    back = local_path(request.query_params.get("next", ""))
    if visit(request).reader is not None:
        return RedirectResponse(back, status_code=303)
    return _form_page(request, back)


def _form_page(
    request: Request, back: str, *, name: str = "", error: str = "", status: int = 200
) -> Response:
    pre = request.cookies.get(LOGIN_COOKIE, "")
    fresh = not pre
    if fresh:
        pre = passwords.new_token()
    problem = f'<p class="problem" role="alert">{text(error)}</p>' if error else ""
    body = (
        '<h1 class="story">Log in</h1>'
        f"{problem}"
        '<form class="login" method="post" action="/login">'
        f'<input type="hidden" name="csrf" value="{keyed_token(pre, "login")}">'
        f'<input type="hidden" name="next" value="{text(back)}">'
        '<label>User name <input name="name" autocomplete="username" required '
        f'maxlength="64" value="{text(name)}"{"" if name else " autofocus"}></label>'
        '<label>Password <input type="password" name="password" '
        f'autocomplete="current-password" required{" autofocus" if name else ""}></label>'
        '<button type="submit">Log in</button></form>'
        '<p class="meta">Accounts are made by whoever runs this server '
        "(<code>aggregator users add NAME</code>). Logged in, you see what you have not "
        "read yet and can star articles.</p>"
    )
    response = layout(request, "Log in", body, status=status)
    response.headers["cache-control"] = "no-store"
    if fresh:
        secure = visit(request).secure
        response.headers.append(
            "set-cookie", cookie(LOGIN_COOKIE, pre, secure=secure, max_age=None, path="/login")
        )
    if status == 401:
        response.headers["www-authenticate"] = AUTHENTICATE
    return response


async def login(request: Request) -> Response:
    """POST /login: check the form's token, the limiter, then the password (in a thread:
    argon2 takes tens of milliseconds)."""
    form = await read_form(request)
    return await run_in_threadpool(_login, request, form)


def _login(request: Request, form: Form) -> Response:
    back = local_path(field(form, "next"))
    pre = request.cookies.get(LOGIN_COOKIE, "")
    if not pre or not same_token(keyed_token(pre, "login"), field(form, "csrf")):
        raise HTTPException(
            403,
            "The login form has expired or did not come from this site (or this browser "
            "refuses cookies). Open the login page again.",
        )
    sessions = sessions_of(request)
    seen = visit(request)
    name = field(form, "name").strip()
    try:
        with open_store(sessions.storage) as store:
            user = log_in(
                store,
                sessions.limiter,
                name,
                field(form, "password"),
                limiter_address(seen.address),
            )
    except LoginRefused as refused:
        if refused.retry_after > 0:
            wait = max(1, math.ceil(refused.retry_after))
            response = _form_page(
                request,
                back,
                name=name,
                error=f"Too many failed logins: wait {wait} seconds, then try again.",
                status=429,
            )
            response.headers["retry-after"] = str(wait)
            return response
        return _form_page(
            request, back, name=name, error="Wrong user name or password.", status=401
        )
    try:
        if seen.token:
            sessions.end(seen.token)  # one browser, one session
        token = sessions.start(user)
    except StorageError as exc:
        raise HTTPException(503, f"This server {NO_STORE}.") from exc
    response = RedirectResponse(back, status_code=303)
    response.headers.append("set-cookie", session_cookie(token, seen.secure))
    response.headers.append("set-cookie", cleared_cookie(LOGIN_COOKIE, seen.secure, "/login"))
    return response


async def logout(request: Request) -> Response:
    form = await read_form(request)
    return await run_in_threadpool(_logout, request, form)


def _logout(request: Request, form: Form) -> Response:
    """POST /logout: the session ends at once (its token is deleted from the store)."""
    seen = visit(request)
    if seen.reader is not None:
        checked_reader(request, form)  # 403 without this session's token
        try:
            sessions_of(request).end(seen.token)
        except StorageError as exc:
            raise HTTPException(503, f"This server {NO_STORE}.") from exc
    response = RedirectResponse("/", status_code=303)
    response.headers.append("set-cookie", cleared_cookie(SESSION_COOKIE, seen.secure))
    return response


ROUTES = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
