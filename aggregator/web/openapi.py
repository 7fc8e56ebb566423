"""The OpenAPI 3.1 description of the JSON API (served at /api/openapi.json).

Written by hand next to the handlers' records (:mod:`aggregator.web.api`): the schemas say
what those records hold, and the tests check the two agree.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from aggregator import __version__
from aggregator.web.responses import JSON


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
    "q": _param(
        "q",
        {"type": "string", "examples": ["floods -football source:reuters since:7d"]},
        'A search: words (all of them, stemmed), "phrases", -word to leave out, '
        'source:NAME or source:"Two Words" (an outlet), tag:TAG, since:2026-01-31 or since:7d. '
        "On lists, items with an article matching it.",
    ),
    "search": {
        **_param("q", {"type": "string", "minLength": 1}, "The search (as for q elsewhere)."),
        "required": True,
    },
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

_STR = {"type": "string"}
_INT = {"type": "integer"}
_STRINGS = {"type": "array", "items": _STR}
_NULL_STR = {"type": ["string", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict[str, Any], *, required: Collection[str] = ()) -> dict[str, Any]:
    """``{"type": "object", "required": [...], "properties": {...}}``; no ``required`` key
    when none is."""
    schema: dict[str, Any] = {"type": "object"}
    if required:
        schema["required"] = list(required)
    schema["properties"] = properties
    return schema


def _schemas() -> dict[str, Any]:
    digest_article = _object(
        {
            "title": _STR,
            "url": _NULL_STR,
            "source": _NULL_STR,
            "published": _TIME,
            "tags": _STRINGS,
            "also_published_by": {
                "type": "array",
                "items": _object({"source": _NULL_STR, "url": _NULL_STR}),
            },
        },
        required=["title", "url", "source", "published", "tags", "also_published_by"],
    )
    summary_properties = {
        "id": _STR,
        "title": _STR,
        "first_published": _TIME,
        "last_updated": _TIME,
        "article_count": _INT,
        "source_count": {"type": "integer", "description": "distinct outlets"},
        "sources": _STRINGS,
        "outlets": {
            "type": "array",
            "description": "outlets in order of first report, with that time",
            "items": _object({"name": _STR, "first_seen": _TIME}, required=["name", "first_seen"]),
        },
        "first_report": {"oneOf": [_ref("DigestArticle"), {"type": "null"}]},
        "summary": {"type": "string", "description": "lead of the representative article"},
        "tags": {
            "type": "object",
            "description": "coverage by feed tag: tag -> number of outlets",
            "additionalProperties": _INT,
        },
        "links": _object({"self": _STR, "html": _STR}, required=["self", "html"]),
    }
    article_properties = {
        "id": _INT,
        "key": _STR,
        "story": _NULL_STR,
        "title": _STR,
        "url": _NULL_STR,
        "canonical_url": _NULL_STR,
        "source": _NULL_STR,
        "feed": _NULL_STR,
        "feeds": _STRINGS,
        "published": _TIME,
        "fetched": _TIME,
        "tags": _STRINGS,
        "language": _NULL_STR,
        "author": _NULL_STR,
        "summary": _STR,
        "excerpt": _STR,
        "text": {"type": "string", "description": "only with include_text"},
        "text_source": {"type": "string", "enum": ["page", "feed", "none"]},
        "duplicate_of": {
            "type": ["string", "null"],
            "description": "canonical URL of the article this one copies",
        },
        "score": {"type": ["number", "null"], "description": "similarity when it joined"},
        "evidence": {"type": "object", "description": "why the clusterer placed it here"},
    }
    story = {
        "allOf": [
            _ref("StorySummary"),
            _object(
                {
                    "articles": {"type": "array", "items": _ref("Article")},
                    "corrections": {
                        "type": "array",
                        "description": "operators' corrections of this story, oldest first",
                        "items": _object(
                            {
                                "kind": {"type": "string", "enum": ["split", "merge"]},
                                "article": _NULL_STR,
                                "story": _STR,
                                "other": _STR,
                                "at": _TIME,
                            },
                            required=["kind", "story", "other", "at"],
                        ),
                    },
                },
                required=["articles", "corrections"],
            ),
        ]
    }
    feed = _object(
        {
            "url": _STR,
            "name": _NULL_STR,
            "title": _NULL_STR,
            "last_polled": _TIME,
            "last_success": _TIME,
            "last_status": {"type": ["integer", "null"]},
            "last_error": _NULL_STR,
            "error_kind": _NULL_STR,
            "error_count": _INT,
            "redirected_to": _NULL_STR,
            "entries": _INT,
            "articles": _INT,
            "health": {"type": "string", "enum": ["ok", "failing", "gone", "not polled yet"]},
        },
        required=["url", "name", "last_polled", "last_success", "error_count", "health"],
    )

    def page_of(key: str, item: str) -> dict[str, Any]:
        return _object(
            {
                "total": _INT,
                "limit": _INT,
                "offset": _INT,
                "next": {"type": ["string", "null"], "description": "path of the next page"},
                key: {"type": "array", "items": _ref(item)},
            },
            required=["total", "limit", "offset", "next", key],
        )

    hit = _object(
        {
            "id": _INT,
            "key": _STR,
            "title": _STR,
            "url": _NULL_STR,
            "source": _NULL_STR,
            "published": _TIME,
            "tags": _STRINGS,
            "rank": {"type": "number", "description": "bm25: lower is better; 0 without words"},
            "copies": {"type": "integer", "description": "wire copies folded into this one"},
            "title_html": {"type": "string", "description": "escaped, matches in <mark>"},
            "snippet": {"type": "string", "description": "the passage with most matches"},
            "snippet_html": {"type": "string", "description": "escaped, matches in <mark>"},
        },
        required=["id", "key", "title", "url", "source", "rank", "copies", "snippet"],
    )
    found = _object(
        {
            "id": _STR,
            "title": _STR,
            "article_count": _INT,
            "source_count": _INT,
            "last_updated": _TIME,
            "matches": {"type": "integer", "description": "matching articles, copies folded"},
            "links": _object({"self": _STR, "html": _STR}, required=["self", "html"]),
            "hits": {"type": "array", "items": _ref("SearchHit"), "description": "best first"},
        },
        required=["id", "title", "matches", "links", "hits"],
    )
    counts = {"type": "object", "additionalProperties": _INT}
    error = _object({"status": _INT, "message": _STR}, required=["status", "message"])
    return {
        "DigestArticle": digest_article,
        "StorySummary": _object(summary_properties, required=summary_properties),
        "Story": story,
        "Article": _object(
            article_properties,
            required=[k for k in article_properties if k not in ("language", "author", "text")],
        ),
        "Feed": feed,
        "StoryList": page_of("stories", "StorySummary"),
        "ArticleList": page_of("articles", "Article"),
        "SearchHit": hit,
        "SearchStory": found,
        "SearchResults": page_of("stories", "SearchStory"),
        "FeedList": _object(
            {"counts": counts, "feeds": {"type": "array", "items": _ref("Feed")}},
            required=["counts", "feeds"],
        ),
        "Health": _object(
            {"status": _STR, "version": _STR, "counts": counts, "latest": _TIME},
            required=["status", "counts"],
        ),
        "Error": _object({"error": error}, required=["error"]),
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
            "/api/search": _get(
                "Stories matching a search, best match first, with marked passages",
                "SearchResults",
                ["search", "since", "tag", "feed", "min_sources", "limit", "offset"],
            ),
            "/api/feeds": _get("Feeds and their health", "FeedList", [], errors=(503,)),
            "/healthz": _get("Liveness and store counts", "Health", [], errors=(503,)),
        },
        "components": {"parameters": _PARAMETERS, "schemas": _schemas()},
    }
