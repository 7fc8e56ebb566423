"""The search box's language: what each part means, errors that name the bad part, and that
nothing a reader types reaches FTS5 as syntax."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.errors import QueryError
from aggregator.read.search_query import MAX_TERMS, parse_query
from aggregator.store.search import SearchQuery, fts_any, fts_match, phrase

NOW = datetime(2026, 1, 31, 12, 0, tzinfo=UTC)

# (typed, expected query): golden readings of the operators
GOLDEN = [
    ("floods valencia", SearchQuery(include=("floods", "valencia"))),
    ('"central bank" rates', SearchQuery(include=("central bank", "rates"))),
    ("“central  bank”", SearchQuery(include=("central bank",))),
    ("storm -football -\"world cup\"", SearchQuery(include=("storm",), exclude=("football", "world cup"))),
    ("source:reuters", SearchQuery(sources=("reuters",))),
    ('Source:"New York Times" quake', SearchQuery(include=("quake",), sources=("New York Times",))),
    ("source:a source:b", SearchQuery(sources=("a", "b"))),
    ("-source:tabloid tag:europe -tag:sport x", SearchQuery(include=("x",), exclude_sources=("tabloid",), tags=("europe",), exclude_tags=("sport",))),
    ("since:2026-01-02 x", SearchQuery(include=("x",), since=datetime(2026, 1, 2, tzinfo=UTC))),
    ("x since:7d", SearchQuery(include=("x",), since=NOW - timedelta(days=7))),
    ("x since:24h", SearchQuery(include=("x",), since=NOW - timedelta(hours=24))),
    ("x x X", SearchQuery(include=("x", "X"))),
    ("10:30 re:x", SearchQuery(include=("10:30", "re:x"))),  # unknown fields are words
    ("NEAR( * AND OR x", SearchQuery(include=("NEAR(", "AND", "OR", "x"))),  # * has no word
    ("- x", SearchQuery(include=("x",))),  # a lone dash is not an exclusion
    ('"unclosed phrase', SearchQuery(include=("unclosed phrase",))),
    ("-x", SearchQuery(exclude=("x",))),  # everything but: the store lists newest first
    ("Zürich 東京 Ελλάδα", SearchQuery(include=("Zürich", "東京", "Ελλάδα"))),
]  # fmt: skip


@pytest.mark.parametrize(("typed", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden_readings(typed, expected):
    assert parse_query(typed, NOW) == expected


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("since:yesterdayish", r"^since:yesterdayish: expected a date like 2026-01-31"),
        ("x since:2026-02-30", r"^since:2026-02-30: no such day"),
        ("x since:0d", r"^since:0d: expected"),
        ("x since:", r"^since:: expected"),
        ("x since:7d since:1d", r"since:1d: since: is given twice"),
        ("x -since:7d", r"-since:7d: since: cannot be negated"),
        ("source:", r"^source: needs a name after the colon, like source:reuters"),
        ('x tag:""', r'^tag:"" needs a name'),
        ('"', r"^nothing to search for in '\"'"),
        ("", r"^nothing to search for: give a word"),
        ("* - ()", r"^nothing to search for in"),
        (" ".join(f"w{i}" for i in range(MAX_TERMS + 1)), r"too many words and phrases"),
        ("x" * 1001, r"longer than 1000 characters"),
    ],
)
def test_errors_name_the_bad_part(typed, message):
    with pytest.raises(QueryError, match=message):
        parse_query(typed, NOW)


def test_a_period_too_long_for_the_calendar_means_from_the_start():
    query = parse_query("x since:99999999d", NOW)
    assert query.since is not None and query.since.year == 1


def test_every_term_is_one_quoted_phrase():
    assert phrase('say "hi"') == '"say ""hi"""'
    assert fts_match(("a", "b c"), ("d",)) == '("a" AND "b c") NOT "d"'
    assert fts_any(("x", "NEAR(")) == '"x" OR "NEAR("'


# ---------------------------------------------------------------------- hostile input
@pytest.fixture(scope="module")
def fts() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize='porter unicode61 "
        "remove_diacritics 2')"
    )
    db.execute("INSERT INTO t VALUES ('Floods AND NEAR storms', 'the \"central\" bank * rates')")
    return db


def _run(db: sqlite3.Connection, query: SearchQuery) -> None:
    """The query's MATCH expressions run without an FTS5 syntax error."""
    if query.include:
        db.execute(
            "SELECT rowid FROM t WHERE t MATCH ?", (fts_match(query.include, query.exclude),)
        ).fetchall()
    if query.exclude:
        db.execute("SELECT rowid FROM t WHERE t MATCH ?", (fts_any(query.exclude),)).fetchall()


HOSTILE = [
    '"', '""', '"""', "NEAR(", "NEAR(a b, 2)", "*", "a*", "^a", "AND OR", "NOT x", "a OR b",
    "(a", "a)", "{title}: x", "title:x", "-", "--x", "-\"", "a:b:c", "'; DROP TABLE t; --",
    "\x00x", "x\ue000y\ue001", "😀 floods", "ﬂoods", "\u202eevil", "a\u0301", "+x", "col:x",
]  # fmt: skip


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_queries_are_words_or_clear_errors(fts, typed):
    try:
        query = parse_query(typed, NOW)
    except QueryError:
        return
    _run(fts, query)


def test_fts_operators_typed_are_matched_as_words(fts):
    # "AND" and "NEAR" are in the title as words: quoted, they find it
    query = parse_query("AND NEAR", NOW)
    found = fts.execute("SELECT rowid FROM t WHERE t MATCH ?", (fts_match(query.include),))
    assert found.fetchall() == [(1,)]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_parses_or_fails_with_query_error(typed):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(title, body)")
    try:
        query = parse_query(typed, NOW)
    except QueryError as exc:
        assert str(exc)
        return
    assert query != SearchQuery()
    _run(db, query)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                '"',
                "-",
                ":",
                "source:",
                "tag:",
                "since:",
                "NEAR(",
                "*",
                " ",
                "x",
                "é",
                "7d",
                "“",
                "»",
            ]
        ),
        max_size=20,
    )
)
def test_operator_soup_never_crashes(pieces):
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(title, body)")
    try:
        query = parse_query("".join(pieces), NOW)
    except QueryError:
        return
    _run(db, query)
