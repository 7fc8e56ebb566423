"""Search results: the front page's search box (``/?q=...``); ``GET /api/search`` gives the
same results as JSON (:mod:`aggregator.web.api`).

A search (words, "phrases", -word, source:, tag:, since:; see
:mod:`aggregator.read.search_query`) finds articles through the store's full-text index;
results are stories, best match first, each with its best matching articles: the title and a
passage of the body with the matched words marked, wire copies folded into their original.
The page's other filters (period, tag, source, minimum outlets) narrow the search further.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from aggregator.read.search_results import marked_html
from aggregator.store.search import (
    SearchHit,
    SearchQuery,
    SearchResults,
    StoryHits,
)
from aggregator.store.sqlite import SqliteStore
from aggregator.web.html import plural, story_href, time_tag
from aggregator.web.queries import BadRequest, StoryFilter
from aggregator.web.safety import safe_url, text

PAGE_SIZE = 20


def search_query(flt: StoryFilter, now: datetime) -> SearchQuery:
    """The search in ``q`` narrowed by the page's other filters."""
    query = flt.search(now)
    if query is None:
        raise BadRequest("q: give a word to look for (or source:, tag:, since:)")
    since = flt.since_time(now)
    if since is not None and (query.since is None or since > query.since):
        query = replace(query, since=since)
    if flt.tag and flt.tag not in query.tags:
        query = replace(query, tags=(*query.tags, flt.tag))
    return replace(query, feed=flt.feed or None, min_sources=flt.min_sources)


def run_search(
    store: SqliteStore, flt: StoryFilter, now: datetime, limit: int, offset: int
) -> SearchResults:
    # to the minute, as the story lists: a repeated search reads the same rows
    return store.search(
        search_query(flt, now.replace(second=0, microsecond=0)), limit=limit, offset=offset
    )


# ---------------------------------------------------------------------- HTML
def results_html(results: SearchResults, flt: StoryFilter, now: datetime) -> str:
    """The status line and one card per matching story."""
    status = f'<p class="status">{plural(results.total, "story")} match {text(flt.describe())}</p>'
    if not results.stories:
        return status + (
            '<p class="empty">Nothing matches. Try fewer words, a longer period or fewer '
            "filters.</p>"
        )
    return (
        status
        + '<div class="stories">'
        + "".join(_story_card(found, now) for found in results.stories)
        + "</div>"
    )


def _story_card(found: StoryHits, now: datetime) -> str:
    story = found.story
    href = story_href(story.id)
    hits = "".join(_hit_item(hit, now) for hit in found.hits)
    more = found.matches - len(found.hits)
    if more > 0:
        hits += f'<li class="more">+{plural(more, "more article")} matching</li>'
    return (
        f'<article class="card hit" id="story-{text(story.id)}">'
        f'<h2><a href="{text(href)}">{text(story.title)}</a></h2>'
        f'<p class="meta"><strong>{plural(story.source_count, "outlet")}</strong> · '
        f"{plural(story.article_count, 'article')} · updated "
        f"{time_tag(story.last_updated, now)}</p>"
        f'<ul class="hits" aria-label="Matching articles">{hits}</ul>'
        f'<a class="full" href="{text(href)}">Full coverage →</a></article>'
    )


def _hit_item(hit: SearchHit, now: datetime) -> str:
    article = hit.article
    url = safe_url(article.url)
    title = marked_html(hit.title)
    if url is not None:
        title = f'<a href="{text(url)}" rel="noopener noreferrer nofollow">{title}</a>'
    copies = f" · {plural(hit.copies, 'wire copy')} folded" if hit.copies else ""
    snippet = f'<p class="snippet">{marked_html(hit.snippet)}</p>' if hit.snippet.strip() else ""
    return (
        f'<li><span class="hit-title">{title}</span>'
        f'<span class="meta"> · {text(article.source or "unknown")} · '
        f"{time_tag(article.published or article.fetched, now)}{copies}</span>{snippet}</li>"
    )
