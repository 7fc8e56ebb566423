"""Full-text search over the stored articles: ranked, highlighted, grouped by story.

What a reader typed arrives parsed (:mod:`aggregator.read.search_query`) as a
:class:`SearchQuery`. Each engine matches with its own index (schema version 9), in the few
fragments below: SQLite with FTS5 (:func:`fts_match`, every term quoted: no user text is
ever FTS5 syntax; ``bm25()``, ``snippet()``, ``highlight()``), PostgreSQL with its weighted
``articles.fts`` tsvector (every term a parameter of ``phraseto_tsquery``; ``ts_rank_cd``,
``ts_headline``). The rest is plain SQL over ``articles``, the same on both.

Wire copies are folded: an article whose original also matches is left out, and its
original counts it in ``copies``. Results are stories, best match first, each with its best
few matching articles.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aggregator.store.engine import SQLITE, Dialect
from aggregator.store.indexer import document
from aggregator.store.reads import STORY_SELECT, article_select
from aggregator.store.rows import Row, article_from_row, story_from_row, to_db
from aggregator.types import StoredArticle, StoryRecord

# around each matched term in titles and snippets; private-use characters that feed text
# does not carry, turned into <mark> (web) or bold (terminal) by whoever shows them
MARK_START = "\ue000"
MARK_END = "\ue001"

HITS_PER_STORY = 3
SNIPPET_TOKENS = 24

# bm25 weights of the indexed columns (title, summary, text, source): a word in the title
# counts for ten in the body
_WEIGHTS = (10.0, 4.0, 1.0, 2.0)


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search: every ``include`` and no ``exclude`` (words or phrases), within the
    filters. ``sources``: any of these outlet names; ``tags``: all of these feed tags."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    exclude_sources: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    exclude_tags: tuple[str, ...] = ()
    since: datetime | None = None
    feed: str | None = None  # a feed URL (the web page's source menu)
    min_sources: int = 1  # stories covered by at least this many outlets

    @property
    def ranked(self) -> bool:
        """Whether there are words to rank by; otherwise newest first."""
        return bool(self.include)


@dataclass(frozen=True)
class SearchHit:
    article: StoredArticle
    title: str  # the article's title, matched terms between MARK_START and MARK_END
    snippet: str  # the passage of its body (or summary) with the most matches, marked
    rank: float  # lower is better (bm25); 0 for an unranked search
    copies: int  # wire copies of this article folded into it


@dataclass(frozen=True)
class StoryHits:
    story: StoryRecord
    hits: tuple[SearchHit, ...]  # its best matching articles, best first
    matches: int  # its matching articles, copies folded


@dataclass(frozen=True)
class SearchResults:
    stories: tuple[StoryHits, ...]
    total: int  # matching stories on every page
    limit: int
    offset: int

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total


# ---------------------------------------------------------------------- the FTS5 part
def phrase(text: str) -> str:
    """``text`` as one FTS5 phrase: a string in double quotes, inner quotes doubled. Inside
    one, ``NEAR(``, ``*``, ``AND``, ``-`` and ``:`` are plain characters the tokenizer
    splits on or keeps as words; a NUL, which would end the string early, is a space."""
    return '"' + text.replace("\x00", " ").replace('"', '""') + '"'


def fts_match(include: tuple[str, ...], exclude: tuple[str, ...] = ()) -> str:
    """The MATCH expression: every included phrase, none of the excluded ones."""
    expression = " AND ".join(phrase(t) for t in include)
    if exclude and expression:
        expression = f"({expression})" + "".join(f" NOT {phrase(t)}" for t in exclude)
    return expression


def fts_any(terms: tuple[str, ...]) -> str:
    """A MATCH expression for articles with any of ``terms``."""
    return " OR ".join(phrase(t) for t in terms)


# the articles matching :match, with their score (lower is better)
_FTS_RANKED = (
    "SELECT a.id, a.story_id, a.duplicate_of, bm25(articles_fts, {weights}) AS rank "
    "FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid "
    "WHERE articles_fts MATCH :q_match"
).format(weights=", ".join(str(w) for w in _WEIGHTS))
# articles that have any of the words in :unwanted (for a search with no words to rank by)
_FTS_EXCLUDED = "a.id NOT IN (SELECT rowid FROM articles_fts WHERE articles_fts MATCH :q_unwanted)"
# what the page shows of each hit: its title and best passages, marked
_FTS_SHOWN = (
    "SELECT rowid AS id, highlight(articles_fts, 0, :start, :end) AS marked_title, "
    f"snippet(articles_fts, 2, :start, :end, '…', {SNIPPET_TOKENS}) AS text_snippet, "
    f"snippet(articles_fts, 1, :start, :end, '…', {SNIPPET_TOKENS}) AS summary_snippet "
    "FROM articles_fts WHERE articles_fts MATCH :q_match"
)


# ---------------------------------------------------------------------- the PostgreSQL part
def _tsquery(terms: tuple[str, ...], prefix: str, params: dict[str, Any], join: str) -> str:
    """``terms`` as phrase queries joined by ``join`` (``&&`` or ``||``), each a parameter."""
    parts = []
    for i, term in enumerate(terms):
        params[f"{prefix}{i}"] = term.replace("\x00", " ")
        parts.append(f"phraseto_tsquery('english', :{prefix}{i})")
    return "(" + f" {join} ".join(parts) + ")"


def pg_match(query: SearchQuery, params: dict[str, Any]) -> str:
    """The tsquery of a ranked search: every included phrase, none of the excluded ones."""
    wanted = _tsquery(query.include, "q_inc", params, "&&")
    if query.exclude:
        wanted = f"({wanted} && !!{_tsquery(query.exclude, 'q_exc', params, '||')})"
    return wanted


# ts_headline's options: marks as this module's, passages about as long as FTS5's snippets
_PG_TITLE = f"HighlightAll=true, StartSel={MARK_START}, StopSel={MARK_END}"
_PG_SNIPPET = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords={SNIPPET_TOKENS}, "
    f"MinWords={SNIPPET_TOKENS // 2}, MaxFragments=1, ShortWord=2"
)


# ---------------------------------------------------------------------- portable SQL
def _filters(query: SearchQuery) -> tuple[list[str], dict[str, Any]]:
    """The WHERE clauses (over ``articles a``) of every filter but the words, with their
    named parameters."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if query.since is not None:
        clauses.append("a.sort_time >= :q_since")
        params["q_since"] = to_db(query.since)
    if query.feed:
        clauses.append(
            "EXISTS (SELECT 1 FROM article_feeds f WHERE f.article_id = a.id "
            "AND f.feed_url = :q_feed)"
        )
        params["q_feed"] = query.feed
    if query.sources:
        tests = []
        for i, name in enumerate(query.sources):
            tests.append(_source_test(f"q_src{i}", name, params))
        clauses.append("(" + " OR ".join(tests) + ")")
    for i, name in enumerate(query.exclude_sources):
        clauses.append(f"NOT coalesce({_source_test(f'q_xsrc{i}', name, params)}, 0 = 1)")
    for i, tag in enumerate(query.tags):
        clauses.append(_tag_test(f"q_tag{i}", tag, params))
    for i, tag in enumerate(query.exclude_tags):
        clauses.append("NOT " + _tag_test(f"q_xtag{i}", tag, params))
    return clauses, params


def _source_test(name: str, source: str, params: dict[str, Any]) -> str:
    """The outlet's name is ``source`` or starts with its words (``source:bbc`` finds "BBC
    News"), ignoring case."""
    # "starts with the words" as a range (from "name " up to "name!", the character after
    # the space), so that both tests use the index on lower(source)
    name_lower = source.lower()
    params.update(
        {name: name_lower, f"{name}_from": name_lower + " ", f"{name}_to": name_lower + "!"}
    )
    return (
        f"(lower(a.source) = :{name} OR "
        f"(lower(a.source) >= :{name}_from AND lower(a.source) < :{name}_to))"
    )


def _tag_test(name: str, tag: str, params: dict[str, Any]) -> str:
    """The article's tags (a JSON list, as text) hold ``tag``: its JSON string is in them."""
    params[name] = "%" + _like_escape(json.dumps(tag)) + "%"
    return f"a.tags LIKE :{name} ESCAPE '\\'"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# PostgreSQL: an article's search document, computed on the fly for a row the indexer has
# not reached yet (store/indexer.py; a partial index finds those rows)
_PG_DOCUMENT = f"({document('a')})"
_PG_FTS = f"coalesce(a.fts, {_PG_DOCUMENT})"


def matches_sql(
    query: SearchQuery, *, fold: bool = True, dialect: Dialect = SQLITE
) -> tuple[str, dict[str, Any]]:
    """A SELECT of the matching articles (``id, story_id, rank``: lower ranks first) and
    its parameters (named ``q_*``); ``fold``: leave out wire copies whose original matches
    too."""
    clauses, params = _filters(query)
    pg = dialect.name == "postgresql"
    if query.ranked and pg:
        wanted = pg_match(query, params)
        hits = (
            f"SELECT a.id, a.story_id, a.duplicate_of, -ts_rank_cd({_PG_FTS}, {wanted}) AS rank "
            f"FROM articles a WHERE (a.fts @@ {wanted} OR (a.fts IS NULL AND {_PG_DOCUMENT} "
            f"@@ {wanted}))"
        ) + "".join(f" AND {c}" for c in clauses)
    elif query.ranked:
        params["q_match"] = fts_match(query.include, query.exclude)
        hits = _FTS_RANKED + "".join(f" AND {c}" for c in clauses)
    else:
        if query.exclude and pg:
            clauses.append(f"NOT {_PG_FTS} @@ {_tsquery(query.exclude, 'q_exc', params, '||')}")
        elif query.exclude:
            clauses.append(_FTS_EXCLUDED)
            params["q_unwanted"] = fts_any(query.exclude)
        where = " AND ".join(clauses) or "1 = 1"
        hits = f"SELECT a.id, a.story_id, a.duplicate_of, 0.0 AS rank FROM articles a WHERE {where}"
    if not fold:
        return hits, params
    sql = (
        f"WITH hits AS ({hits}) SELECT h.id, h.story_id, h.rank FROM hits h "
        "WHERE h.story_id IS NOT NULL AND (h.duplicate_of IS NULL "
        # an uncorrelated IN: the hits' ids are looked up in one temporary index, where a
        # correlated NOT EXISTS would scan the hits once per hit
        "OR h.duplicate_of NOT IN (SELECT o.id FROM hits o))"
    )
    return sql, params


def page_sql(query: SearchQuery, dialect: Dialect = SQLITE) -> tuple[str, str, dict[str, Any]]:
    """One statement for a page of stories (``:limit``, ``:offset``): a row per hit shown,
    ``id, story_id, rank, n`` (its place in its story), ``matches`` (the story's hits),
    ``total`` (matching stories), stories best first; the count of matching stories (``n``),
    for a page past the last; and their parameters.

    Ranked, a story's best hit is its lowest rank; without words, its latest article. The
    matches are read once: window functions number each story's hits and count them.
    """
    sql, params = matches_sql(query, dialect=dialect)
    key, direction, join = "m.rank", "", ""
    if not query.ranked:
        key, direction, join = "x.sort_time", " DESC", " JOIN articles x ON x.id = m.id"
    sized = ""
    if query.min_sources > 1:
        sized = (
            " AND (SELECT count(DISTINCT coalesce(y.source, y.feed_url)) FROM articles y "
            "WHERE y.story_id = r.story_id) >= :q_min_sources"
        )
        params["q_min_sources"] = query.min_sources
    page = (
        f"WITH r AS (SELECT m.id, m.story_id, m.rank, {key} AS k, "
        f"row_number() OVER (PARTITION BY m.story_id ORDER BY {key}{direction}, m.id) AS n, "
        f"count(*) OVER (PARTITION BY m.story_id) AS matches FROM ({sql}) m{join}), "
        "p AS (SELECT r.story_id, r.k, r.matches, count(*) OVER () AS total FROM r "
        f"WHERE r.n = 1{sized} ORDER BY r.k{direction}, r.story_id LIMIT :limit OFFSET :offset) "
        "SELECT r.id, r.story_id, r.rank, r.n, p.matches, p.total FROM p "
        f"JOIN r ON r.story_id = p.story_id AND r.n <= {HITS_PER_STORY} "
        f"ORDER BY p.k{direction}, p.story_id, r.n"
    )
    count = (
        f"SELECT count(DISTINCT r.story_id) AS n FROM ({sql}) r"
        if not sized
        else f"SELECT count(*) AS n FROM (SELECT DISTINCT m.story_id FROM ({sql}) m) r "
        f"WHERE 1 = 1{sized}"
    )
    return page, count, params


def shown_sql(
    query: SearchQuery, ids: list[int], dialect: Dialect = SQLITE
) -> tuple[str, dict[str, Any]]:
    """The marked title and snippets of the articles ``ids`` (hits of a ranked search)."""
    marks, params = _in("id", ids)
    if dialect.name == "postgresql":
        wanted = pg_match(query, params)
        params.update(q_title=_PG_TITLE, q_snippet=_PG_SNIPPET)
        return (
            f"SELECT a.id, ts_headline('english', a.title, {wanted}, :q_title) AS marked_title, "
            f"ts_headline('english', a.text, {wanted}, :q_snippet) AS text_snippet, "
            f"ts_headline('english', a.summary, {wanted}, :q_snippet) AS summary_snippet "
            f"FROM articles a WHERE a.id IN {marks}"
        ), params
    params.update(q_match=fts_match(query.include, query.exclude), start=MARK_START, end=MARK_END)
    # "+": a filter on the matches; as a constraint FTS5 would run the MATCH once per id
    return _FTS_SHOWN + f" AND +rowid IN {marks}", params


def hit_from_rows(article: Row, shown: Row | None, rank: float, copies: int) -> SearchHit:
    """A hit from its article row (as ARTICLE_SELECT gives it) and, for a ranked search,
    its marked title and snippets."""
    stored = article_from_row(article)
    if shown is None:
        return SearchHit(stored, stored.title, _lead(stored.text or stored.summary), rank, copies)
    snippet = shown["text_snippet"] or ""
    if MARK_START not in snippet and MARK_START in (shown["summary_snippet"] or ""):
        snippet = shown["summary_snippet"]
    if not snippet.strip():
        snippet = shown["summary_snippet"] or ""
    return SearchHit(stored, shown["marked_title"] or stored.title, snippet, rank, copies)


def _lead(text: str, words: int = SNIPPET_TOKENS) -> str:
    """The first words of a body, for hits of a search with no words to mark."""
    split = text.split()
    return " ".join(split[:words]) + ("…" if len(split) > words else "")


def strip_marks(text: str) -> str:
    return text.replace(MARK_START, "").replace(MARK_END, "")


# ---------------------------------------------------------------------- the search
Run = Callable[[str, dict[str, Any]], Sequence[Row]]


def run_search(
    run: Run, query: SearchQuery, *, limit: int, offset: int = 0, dialect: Dialect = SQLITE
) -> SearchResults:
    """One page of the stories matching ``query``, each with its best hits; ``run`` runs one
    SELECT with named parameters on the store's connection."""
    page, count, params = page_sql(query, dialect)
    rows = run(page, {**params, "limit": limit, "offset": offset})
    if not rows:  # past the last page: no row carries the count
        total = int(run(count, params)[0]["n"])
        return SearchResults((), total, limit, offset)
    best: dict[str, list[tuple[int, float]]] = {}
    matches: dict[str, int] = {}
    for r in rows:
        best.setdefault(r["story_id"], []).append((int(r["id"]), float(r["rank"])))
        matches[r["story_id"]] = int(r["matches"])
    records = _stories(run, list(best))
    hits = _hits(run, query, [h for found in best.values() for h in found], dialect)
    stories = tuple(
        StoryHits(records[sid], tuple(hits[i] for i, _ in found if i in hits), matches[sid])
        for sid, found in best.items()
        if sid in records
    )
    return SearchResults(stories, int(rows[0]["total"]), limit, offset)


def _in(name: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``(:name0, :name1, ...)`` and its parameters."""
    params = {f"{name}{i}": v for i, v in enumerate(values)}
    return "(" + ", ".join(f":{k}" for k in params) + ")", params


def _stories(run: Run, story_ids: list[str]) -> dict[str, StoryRecord]:
    marks, params = _in("story", story_ids)
    rows = run(STORY_SELECT + f" WHERE s.id IN {marks} GROUP BY s.id", params)
    return {r["id"]: story_from_row(r) for r in rows}


def _hits(
    run: Run, query: SearchQuery, chosen: list[tuple[int, float]], dialect: Dialect
) -> dict[int, SearchHit]:
    """The chosen articles as hits: their rows, marks and folded copies."""
    ids = [i for i, _ in chosen]
    marks, params = _in("id", ids)
    articles = {
        r["id"]: r for r in run(article_select(dialect) + f" WHERE a.id IN {marks}", params)
    }
    copies = {
        r["duplicate_of"]: int(r["n"])
        for r in run(
            "SELECT duplicate_of, count(*) AS n FROM articles "
            f"WHERE duplicate_of IN {marks} GROUP BY duplicate_of",
            params,
        )
    }
    shown: dict[int, Row] = {}
    if query.ranked:
        sql, shown_params = shown_sql(query, ids, dialect)
        shown = {r["id"]: r for r in run(sql, shown_params)}
    return {
        i: hit_from_rows(articles[i], shown.get(i), rank, copies.get(i, 0))
        for i, rank in chosen
        if i in articles
    }
