"""What every handler shares: the app's context, the story a path names, responses with
ETags."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from aggregator.store.engine import Location
from aggregator.web.auth import LoginLimiter
from aggregator.web.queries import StoryCache, StoryDetail, open_store, story_detail

Clock = Callable[[], datetime]
Endpoint = Callable[[Request], Response]  # what each module lists in its ENDPOINTS, by path

HTML = "text/html; charset=utf-8"
JSON = "application/json"


@dataclass(frozen=True)
class WebContext:
    """What every handler needs; kept on ``app.state.web``."""

    storage: Path | Location  # the store's directory, or where a database is
    title: str
    clock: Clock
    stories: StoryCache = field(default_factory=StoryCache)
    logins: LoginLimiter = field(default_factory=LoginLimiter)  # failed logins, all clients

    def now(self) -> datetime:
        return self.clock()


def context(request: Request) -> WebContext:
    web: WebContext = request.app.state.web
    return web


def requested_story(request: Request, not_found: str) -> StoryDetail:
    """The story the path names (``{story_id}``), merges followed; 404 with ``not_found``.

    A ``record.id`` other than the path's means the story was merged into a bigger one.
    """
    with open_store(context(request).storage) as store:
        detail = story_detail(store, request.path_params["story_id"])
    if detail is None:
        raise HTTPException(404, not_found)
    return detail


def cached(
    request: Request,
    body: str | bytes,
    media_type: str,
    *,
    status: int = 200,
    max_age: int = 0,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A response with an ETag; 304 when the client already has this body.

    Feed readers poll often: a 304 saves them the body and us the bandwidth.
    """
    data = body.encode("utf-8") if isinstance(body, str) else body
    etag = '"' + hashlib.sha1(data).hexdigest()[:20] + '"'
    extra = {"etag": etag, "cache-control": f"public, max-age={max_age}" if max_age else "no-cache"}
    extra.update(headers or {})
    if status == 200 and etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=304, headers=extra)
    return Response(data, status_code=status, media_type=media_type, headers=extra)


def _etags(header: str) -> set[str]:
    return {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}


def wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path == "/healthz" or path.endswith(".json")
