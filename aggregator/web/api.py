"""The JSON API and its OpenAPI description.

    GET /api/stories          stories, paged and filtered (the front page as data)
    GET /api/stories/{id}     one story with every article, its score and evidence
    GET /api/articles         articles, newest first
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

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from aggregator import __version__
from aggregator.read.digest import DigestStory, lead_text
from aggregator.read.render import story_json
from aggregator.store import FeedState
from aggregator.types import StoredArticle, iso_utc
from aggregator.web.pages import feed_health, story_href
from aggregator.web.queries import (
    BadRequest,
    open_store,
    paging,
    story_detail,
    story_filter,
    story_page,
)
from aggregator.web.responses import cached, context

JSON = "application/json"
DEFAULT_LIMIT = 30
EXCERPT_CHARS = 500


def routes() -> list[Route]:
    return [
        Route("/api/stories", list_stories, methods=["GET"]),
        Route("/api/stories/{story_id:path}", get_story, methods=["GET"]),
        Route("/api/articles", list_articles, methods=["GET"]),
        Route("/api/feeds", list_feeds, methods=["GET"]),
        Route("/api/openapi.json", openapi_json, methods=["GET"]),
    ]


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
    ctx = context(request)
    story_id = request.path_params["story_id"]
    with open_store(ctx.storage) as store:
        detail = story_detail(store, story_id)
    if detail is None:
        raise HTTPException(404, f"no story {story_id!r}")
    if detail.record.id != story_id:
        return RedirectResponse(api_story_href(detail.record.id), status_code=301)
    doc = story_summary_json(detail.view)
    include_text = _flag(request, "include_text")
    doc["articles"] = [article_json(a, include_text=include_text) for a in detail.articles]
    return json_response(request, doc)


def list_articles(request: Request) -> Response:
    ctx = context(request)
    flt = story_filter(request.query_params, default_since="all")
    limit, offset = paging(request.query_params, default_limit=50)
    with open_store(ctx.storage) as store:
        articles, total = store.find_articles(
            since=flt.since_time(ctx.now()),
            feed=flt.feed or None,
            words=flt.words(),
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


# ---------------------------------------------------------------------- OpenAPI
def _param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_PARAMETERS = {
    "since": _param(
        "since",
        {"type": "string", "default": "3d", "examples": ["24h", "7d", "all"]},
        "Period: stories updated within it, e.g. 24h, 3d, 7d, or 'all'. "
        "Defaults to 3d, or 'all' when q is given.",
    ),
    "tag": _param("tag", {"type": "string"}, "Only stories an outlet with this feed tag covered."),
    "feed": _param("feed", {"type": "string"}, "Only stories (articles) from this feed URL."),
    "min_sources": _param(
        "min_sources",
        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1},
        "Only stories covered by at least this many outlets.",
    ),
    "q": _param("q", {"type": "string"}, "Words that must all appear in titles or bodies."),
    "limit": _param("limit", {"type": "integer", "minimum": 1, "maximum": 200}, "Page size."),
    "offset": _param("offset", {"type": "integer", "minimum": 0, "default": 0}, "Items to skip."),
    "include_text": _param(
        "include_text", {"type": "boolean", "default": False}, "Add each article's full text."
    ),
    "order": _param(
        "order",
        {"type": "string", "enum": ["size", "recent"], "default": "size"},
        "size: most outlets first (the front page); recent: last updated first.",
    ),
}

_NULL_STR = {"type": ["string", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _schemas() -> dict[str, Any]:
    digest_article = {
        "type": "object",
        "required": ["title", "url", "source", "published", "tags", "also_published_by"],
        "properties": {
            "title": {"type": "string"},
            "url": _NULL_STR,
            "source": _NULL_STR,
            "published": _TIME,
            "tags": {"type": "array", "items": {"type": "string"}},
            "also_published_by": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"source": _NULL_STR, "url": _NULL_STR},
                },
            },
        },
    }
    story_summary = {
        "type": "object",
        "required": [
            "id",
            "title",
            "first_published",
            "last_updated",
            "article_count",
            "source_count",
            "sources",
            "outlets",
            "first_report",
            "summary",
            "tags",
            "links",
        ],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "first_published": _TIME,
            "last_updated": _TIME,
            "article_count": {"type": "integer"},
            "source_count": {"type": "integer", "description": "distinct outlets"},
            "sources": {"type": "array", "items": {"type": "string"}},
            "outlets": {
                "type": "array",
                "description": "outlets in order of first report, with that time",
                "items": {
                    "type": "object",
                    "required": ["name", "first_seen"],
                    "properties": {"name": {"type": "string"}, "first_seen": _TIME},
                },
            },
            "first_report": {"oneOf": [_ref("DigestArticle"), {"type": "null"}]},
            "summary": {"type": "string", "description": "lead of the representative article"},
            "tags": {
                "type": "object",
                "description": "coverage by feed tag: tag -> number of outlets",
                "additionalProperties": {"type": "integer"},
            },
            "links": {
                "type": "object",
                "required": ["self", "html"],
                "properties": {"self": {"type": "string"}, "html": {"type": "string"}},
            },
        },
    }
    article = {
        "type": "object",
        "required": [
            "id",
            "key",
            "story",
            "title",
            "url",
            "canonical_url",
            "source",
            "feed",
            "feeds",
            "published",
            "fetched",
            "tags",
            "summary",
            "excerpt",
            "text_source",
            "duplicate_of",
            "score",
            "evidence",
        ],
        "properties": {
            "id": {"type": "integer"},
            "key": {"type": "string"},
            "story": _NULL_STR,
            "title": {"type": "string"},
            "url": _NULL_STR,
            "canonical_url": _NULL_STR,
            "source": _NULL_STR,
            "feed": _NULL_STR,
            "feeds": {"type": "array", "items": {"type": "string"}},
            "published": _TIME,
            "fetched": _TIME,
            "tags": {"type": "array", "items": {"type": "string"}},
            "language": _NULL_STR,
            "author": _NULL_STR,
            "summary": {"type": "string"},
            "excerpt": {"type": "string"},
            "text": {"type": "string", "description": "only with include_text"},
            "text_source": {"type": "string", "enum": ["page", "feed", "none"]},
            "duplicate_of": {
                "type": ["string", "null"],
                "description": "canonical URL of the article this one copies",
            },
            "score": {"type": ["number", "null"], "description": "similarity when it joined"},
            "evidence": {"type": "object", "description": "why the clusterer placed it here"},
        },
    }
    story = {
        "allOf": [
            _ref("StorySummary"),
            {
                "type": "object",
                "required": ["articles"],
                "properties": {"articles": {"type": "array", "items": _ref("Article")}},
            },
        ]
    }
    feed = {
        "type": "object",
        "required": ["url", "name", "last_polled", "last_success", "error_count", "health"],
        "properties": {
            "url": {"type": "string"},
            "name": _NULL_STR,
            "title": _NULL_STR,
            "last_polled": _TIME,
            "last_success": _TIME,
            "last_status": {"type": ["integer", "null"]},
            "last_error": _NULL_STR,
            "error_kind": _NULL_STR,
            "error_count": {"type": "integer"},
            "redirected_to": _NULL_STR,
            "entries": {"type": "integer"},
            "articles": {"type": "integer"},
            "health": {
                "type": "string",
                "enum": ["ok", "failing", "gone", "not polled yet"],
            },
        },
    }

    def page_of(key: str, item: str) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["total", "limit", "offset", "next", key],
            "properties": {
                "total": {"type": "integer"},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
                "next": {"type": ["string", "null"], "description": "path of the next page"},
                key: {"type": "array", "items": _ref(item)},
            },
        }

    counts = {"type": "object", "additionalProperties": {"type": "integer"}}
    return {
        "DigestArticle": digest_article,
        "StorySummary": story_summary,
        "Story": story,
        "Article": article,
        "Feed": feed,
        "StoryList": page_of("stories", "StorySummary"),
        "ArticleList": page_of("articles", "Article"),
        "FeedList": {
            "type": "object",
            "required": ["counts", "feeds"],
            "properties": {"counts": counts, "feeds": {"type": "array", "items": _ref("Feed")}},
        },
        "Health": {
            "type": "object",
            "required": ["status", "counts"],
            "properties": {
                "status": {"type": "string"},
                "version": {"type": "string"},
                "counts": counts,
                "latest": _TIME,
            },
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["status", "message"],
                    "properties": {
                        "status": {"type": "integer"},
                        "message": {"type": "string"},
                    },
                }
            },
        },
    }


def _get(
    summary: str, schema: str, params: list[str], *, errors: tuple[int, ...] = (400, 503)
) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {JSON: {"schema": _ref(schema)}}}
    }
    messages = {400: "Bad parameter", 404: "Not found", 503: "No data stored yet"}
    for status in errors:
        responses[str(status)] = {
            "description": messages[status],
            "content": {JSON: {"schema": _ref("Error")}},
        }
    return {
        "get": {
            "summary": summary,
            "parameters": [{"$ref": f"#/components/parameters/{p}"} for p in params],
            "responses": responses,
        }
    }


def openapi(title: str) -> dict[str, Any]:
    """The OpenAPI 3.1 description of the JSON API."""
    story = _get("One story with every article", "Story", ["include_text"], errors=(404, 503))
    story["get"]["parameters"].insert(
        0,
        {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
    )
    story["get"]["responses"]["301"] = {"description": "Merged into another story: its URL"}
    filters = ["since", "tag", "feed", "min_sources", "q"]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{title}: stories across outlets",
            "version": __version__,
            "description": "Read-only API of a news aggregator: stories (articles about the "
            "same event, grouped across outlets), their articles, and the feeds.",
        },
        "servers": [{"url": "/"}],
        "paths": {
            "/api/stories": _get(
                "Stories, biggest and newest first",
                "StoryList",
                [*filters, "order", "limit", "offset"],
            ),
            "/api/stories/{id}": story,
            "/api/articles": _get(
                "Articles, newest first",
                "ArticleList",
                ["since", "feed", "q", "limit", "offset", "include_text"],
            ),
            "/api/feeds": _get("Feeds and their health", "FeedList", [], errors=(503,)),
            "/healthz": _get("Liveness and store counts", "Health", [], errors=(503,)),
        },
        "components": {"parameters": _PARAMETERS, "schemas": _schemas()},
    }
