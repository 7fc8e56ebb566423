"""Stored articles -> JSON Lines (the export contract in DESIGN.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from aggregator.types import StoredArticle, iso_utc


def export_record(article: StoredArticle) -> dict[str, Any]:
    """One article as the public export object. Keys are a contract: add, never rename."""
    return {
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "feed": article.feed_url,
        "source": article.source,
        "published": iso_utc(article.published),
        "text": article.text,
        "story": article.story_id,
        "duplicate_of": article.duplicate_of,
        # additions beyond the contract's minimum
        "guid": article.guid,
        "key": article.key,
        "fetched": iso_utc(article.fetched),
        "text_source": article.text_source,
        "summary": article.summary,
        "author": article.author,
        "image": article.image,
        "language": article.language,
        "feeds": list(article.feeds),
        "tags": list(article.tags),
        "score": article.score,
    }


def export_lines(articles: Iterable[StoredArticle]) -> Iterator[str]:
    for article in articles:
        yield json.dumps(export_record(article), ensure_ascii=False) + "\n"
