"""What every HTML page shares: the layout around a page's body, the error page, times,
plurals and links to story pages.

Every value from the store goes through :func:`safety.text` (escape) before it is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from aggregator.types import iso_utc
from aggregator.web.forms import button
from aggregator.web.responses import HTML, cached, context
from aggregator.web.safety import text
from aggregator.web.session import reader
from aggregator.web.style import VERSION


def story_href(story_id: str) -> str:
    return "/stories/" + quote(story_id, safe="")


def ago(dt: datetime | None, now: datetime) -> str:
    if dt is None:
        return "time unknown"
    seconds = (now - dt).total_seconds()
    if seconds < 0:
        return "just now" if seconds > -300 else dt.strftime("%d %b %H:%M")
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 48 * 3600:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 30 * 86400:
        return f"{int(seconds // 86400)} days ago"
    return dt.strftime("%d %b %Y")


def absolute(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M UTC")


def time_tag(dt: datetime | None, now: datetime) -> str:
    if dt is None:
        return "<time>time unknown</time>"
    return f'<time datetime="{iso_utc(dt)}" title="{absolute(dt)}">{ago(dt, now)}</time>'


def duration(seconds: float) -> str:
    """``+2 h 05 min`` style offsets for the timeline."""
    minutes = int(round(seconds / 60))
    if minutes < 60:
        return f"+{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"+{hours} h {minutes:02d}"
    return f"+{hours // 24} d {hours % 24} h"


_PLURALS = {"story": "stories"}


def plural(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else _PLURALS.get(word, word + 's')}"


def layout(
    request: Request,
    title: str,
    body: str,
    *,
    status: int = 200,
    alternates: Sequence[tuple[str, str, str]] = (),
) -> Response:
    """The page around ``body``. ``alternates``: (type, title, href) feed links to advertise."""
    site = context(request).title
    links = "".join(
        f'<link rel="alternate" type="{text(kind)}" title="{text(label)}" href="{text(href)}">'
        for kind, label, href in alternates
    )
    page_title = site if title == site else f"{title} · {site}"
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{text(page_title)}</title>"
        f'<link rel="stylesheet" href="/static/style.css?v={VERSION}">{links}</head><body>'
        f'<header class="top"><div class="wrap"><a class="brand" href="/">{text(site)}</a>'
        '<nav><a href="/">Stories</a><a href="/sources">Sources</a><a href="/api">API</a>'
        f"{account_nav(request)}</nav>"
        f'</div></header><main class="wrap">{body}</main>'
        '<footer class="wrap">Grouped coverage from the feeds this server follows. '
        "No tracking, no scripts.</footer></body></html>\n"
    )
    return cached(request, html, HTML, status=status)


def account_nav(request: Request) -> str:
    """The reader's links and a log-out button, or a link to log in."""
    user = reader(request)
    if user is None:
        return '<a href="/login">Log in</a>'
    logout = button(
        "/logout", {}, "Log out", request, "/", cls="logout", title=f"Log out {user.name}"
    )
    return (
        '<a href="/?unread=1">Unread</a><a href="/starred">Starred</a>'
        f'<span class="who">{text(user.name)}</span>{logout}'
    )


def error_page(request: Request, status: int, message: str) -> Response:
    body = (
        f'<h1 class="story">{text(_STATUS_TITLES.get(status, "Error"))}</h1>'
        f'<p class="empty">{text(message)}</p><p><a href="/">← All stories</a></p>'
    )
    return layout(request, _STATUS_TITLES.get(status, "Error"), body, status=status)


_STATUS_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    413: "Too large",
    415: "Not a form",
    503: "Not available yet",
}
