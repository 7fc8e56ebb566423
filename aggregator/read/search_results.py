"""Search results as records (the JSON API and ``aggregator search --json`` share them) and as
text for a terminal.

The store marks matched words with two private-use characters; here they become ``<mark>``
(in ``*_html`` fields, the text around them escaped), bold on a terminal, or nothing.
"""

from __future__ import annotations

from html import escape
from typing import Any

from aggregator.store.search import MARK_END, MARK_START, SearchHit, SearchResults, strip_marks
from aggregator.types import iso_utc

BOLD, PLAIN = "\x1b[1m", "\x1b[0m"


def marked_html(value: str) -> str:
    """Text with the store's match marks, escaped, the marks as ``<mark>``."""
    escaped = escape(value, quote=True)
    return escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def hit_json(hit: SearchHit) -> dict[str, Any]:
    """An article that matched: ``*_html`` with the matched words in ``<mark>``."""
    a = hit.article
    return {
        "id": a.id,
        "key": a.key,
        "title": a.title,
        "url": a.url,
        "source": a.source,
        "published": iso_utc(a.published),
        "tags": list(a.tags),
        "rank": hit.rank,
        "copies": hit.copies,
        "title_html": marked_html(hit.title),
        "snippet": strip_marks(hit.snippet),
        "snippet_html": marked_html(hit.snippet),
    }


def stories_json(results: SearchResults) -> list[dict[str, Any]]:
    """The matching stories, best first, each with its best hits."""
    return [
        {
            "id": found.story.id,
            "title": found.story.title,
            "article_count": found.story.article_count,
            "source_count": found.story.source_count,
            "last_updated": iso_utc(found.story.last_updated),
            "matches": found.matches,
            "hits": [hit_json(h) for h in found.hits],
        }
        for found in results.stories
    ]


def results_text(results: SearchResults, *, bold: bool = False) -> str:
    """Numbered stories, each hit with its outlet, time and passage; matches in bold on a
    terminal (``bold``)."""

    def show(value: str) -> str:
        if bold:
            return value.replace(MARK_START, BOLD).replace(MARK_END, PLAIN)
        return strip_marks(value)

    count = results.total
    lines = [f"{count} {'story matches' if count == 1 else 'stories match'}"]
    for n, found in enumerate(results.stories, start=results.offset + 1):
        story = found.story
        sizes = (
            f"{_count(story.source_count, 'outlet')}, {_count(story.article_count, 'article')}, "
            f"{found.matches} matching"
        )
        lines.append(f"{n}. {story.title} ({sizes}) story {story.id}")
        for hit in found.hits:
            a = hit.article
            when = iso_utc(a.published or a.fetched) or "time unknown"
            copies = f", +{_count(hit.copies, 'wire copy', 'wire copies')}" if hit.copies else ""
            lines.append(f"   - [{a.source or 'unknown'}] {show(hit.title)} ({when}{copies})")
            if a.url:
                lines.append(f"     {a.url}")
            if hit.snippet.strip():
                lines.append(f"     {show(hit.snippet)}")
    if results.has_next:
        shown = results.offset + len(results.stories)
        lines.append(f"({shown} of {count} shown: --limit and --offset for more)")
    return "\n".join(lines) + "\n"


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"
