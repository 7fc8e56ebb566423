"""The JSON API (described in :mod:`aggregator.web.openapi`).

    GET /api/stories          stories, paged and filtered (the front page as data)
    GET /api/stories/{id}     one story with every article, its score and evidence
    GET /api/articles         articles, newest first
    GET /api/search           stories matching a search, best first, with marked snippets
    GET /api/feeds            the feeds and their health
    GET /api/openapi.json     this API, described
    GET /healthz              liveness and store counts

Links inside responses are paths on this server; times are ISO 8601 UTC ("...Z").
"""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from aggregator import __version__
from aggregator.read.digest import DigestStory, lead_text
from aggregator.read.render import story_json
from aggregator.read.search_results import stories_json
from aggregator.store import FeedState
from aggregator.types import StoredArticle, iso_utc
from aggregator.web.html import story_href
from aggregator.web.openapi import openapi
from aggregator.web.pages import feed_health
from aggregator.web.queries import BadRequest, open_store, paging, story_filter, story_page
from aggregator.web.responses import JSON, Endpoint, cached, context, requested_story
from aggregator.web.search import PAGE_SIZE, run_search

DEFAULT_LIMIT = 30
EXCERPT_CHARS = 500


def json_response(request: Request, doc: Any, status: int = 200) -> Response:
    body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), default=str)
    return cached(request, body, JSON, status=status)


def error_response(status: int, message: str) -> Response:
    body = json.dumps({"error": {"status": status, "message": message}}, ensure_ascii=False)
    return Response(body, status_code=status, media_type=JSON)


def _next_link(request: Request, total: int, limit: int, offset: int) -> str | None:
    if offset + limit >= total:
        return None
    params = dict(request.query_params)
    params["offset"] = str(offset + limit)
    params["limit"] = str(limit)
    return f"{request.url.path}?{urlencode(params)}"


# ---------------------------------------------------------------------- records
def api_story_href(story_id: str) -> str:
    return "/api/stories/" + quote(story_id, safe="")


def story_summary_json(view: DigestStory) -> dict[str, Any]:
    """A story as listed: the digest's story record, without the article list."""
    doc = story_json(view)
    doc.pop("articles", None)
    doc["outlets"] = [{"name": name, "first_seen": iso_utc(when)} for name, when in view.outlets]
    doc["links"] = {"self": api_story_href(view.id), "html": story_href(view.id)}
    return doc


def article_json(a: StoredArticle, *, include_text: bool = False) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": a.id,
        "key": a.key,
        "story": a.story_id,
        "title": a.title,
        "url": a.url,
        "canonical_url": a.canonical_url,
        "source": a.source,
        "feed": a.feed_url,
        "feeds": list(a.feeds),
        "published": iso_utc(a.published),
        "fetched": iso_utc(a.fetched),
        "tags": list(a.tags),
        "language": a.language,
        "author": a.author,
        "summary": a.summary,
        "excerpt": lead_text(a.text or a.summary, EXCERPT_CHARS),
        "text_source": a.text_source,
        "duplicate_of": a.duplicate_of,
        "score": a.score,
        "evidence": a.evidence,
    }
    if include_text:
        doc["text"] = a.text
    return doc


def feed_json(state: FeedState) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for f in fields(state):
        value = getattr(state, f.name)
        doc[f.name] = iso_utc(value) if isinstance(value, datetime) else value
    doc["health"] = feed_health(state)
    return doc


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


# ---------------------------------------------------------------------- endpoints
def list_stories(request: Request) -> Response:
    ctx = context(request)
    flt = story_filter(request.query_params)
    limit, offset = paging(request.query_params, default_limit=DEFAULT_LIMIT)
    order = request.query_params.get("order", "size")
    if order not in ("size", "recent"):
        raise BadRequest("order: expected 'size' or 'recent'")
    with open_store(ctx.storage) as store:
        page = story_page(
            store, flt, now=ctx.now(), limit=limit, offset=offset, order=order, cache=ctx.stories
        )
    doc = {
        "total": page.total,
        "limit": limit,
        "offset": offset,
        "next": _next_link(request, page.total, limit, offset),
        "stories": [story_summary_json(s) for s in page.stories],
    }
    return json_response(request, doc)


def get_story(request: Request) -> Response:
    story_id = request.path_params["story_id"]
    detail = requested_story(request, f"no story {story_id!r}")
    if detail.record.id != story_id:
        return RedirectResponse(api_story_href(detail.record.id), status_code=301)
    doc = story_summary_json(detail.view)
    include_text = _flag(request, "include_text")
    doc["articles"] = [article_json(a, include_text=include_text) for a in detail.articles]
    doc["corrections"] = [
        {
            "kind": c.kind,
            "article": c.article,
            "story": c.story,
            "other": c.other,
            "at": iso_utc(c.at),
        }
        for c in detail.corrections
    ]
    return json_response(request, doc)


def list_articles(request: Request) -> Response:
    ctx = context(request)
    flt = story_filter(request.query_params, default_since="all")
    limit, offset = paging(request.query_params, default_limit=50)
    with open_store(ctx.storage) as store:
        articles, total = store.find_articles(
            since=flt.since_time(ctx.now()),
            feed=flt.feed or None,
            match=flt.search(ctx.now()),
            limit=limit,
            offset=offset,
        )
    include_text = _flag(request, "include_text")
    doc = {
        "total": total,
        "limit": limit,
        "offset": offset,
        "next": _next_link(request, total, limit, offset),
        "articles": [article_json(a, include_text=include_text) for a in articles],
    }
    return json_response(request, doc)


def search(request: Request) -> Response:
    ctx = context(request)
    flt = story_filter(request.query_params, default_since="all")
    if not flt.q:
        raise BadRequest("q: give a word to look for (or source:, tag:, since:)")
    limit, offset = paging(request.query_params, default_limit=PAGE_SIZE)
    with open_store(ctx.storage) as store:
        results = run_search(store, flt, ctx.now(), limit, offset)
    doc = {
        "total": results.total,
        "limit": limit,
        "offset": offset,
        "next": _next_link(request, results.total, limit, offset),
        "stories": [
            {
                **found,
                "links": {"self": api_story_href(found["id"]), "html": story_href(found["id"])},
            }
            for found in stories_json(results)
        ],
    }
    return json_response(request, doc)


def list_feeds(request: Request) -> Response:
    ctx = context(request)
    with open_store(ctx.storage) as store:
        states = store.feed_states()
        counts = store.counts()
    return json_response(request, {"counts": counts, "feeds": [feed_json(s) for s in states]})


def health(request: Request) -> Response:
    ctx = context(request)
    with open_store(ctx.storage) as store:
        counts = store.counts()
        latest = store.latest_time()
    doc = {"status": "ok", "version": __version__, "counts": counts, "latest": iso_utc(latest)}
    return json_response(request, doc)


def openapi_json(request: Request) -> Response:
    return json_response(request, openapi(context(request).title))


ENDPOINTS: dict[str, Endpoint] = {
    "/api/stories": list_stories,
    "/api/stories/{story_id:path}": get_story,
    "/api/articles": list_articles,
    "/api/search": search,
    "/api/feeds": list_feeds,
    "/api/openapi.json": openapi_json,
    "/healthz": health,
}
