"""What a reader types in a search box, read into a :class:`SearchQuery`.

    floods valencia              both words (stemmed: "flood" finds "floods")
    "central bank"               the words in this order
    -football  -"world cup"      none of these
    source:reuters               from this outlet (its name, or its first words; any case)
    source:"New York Times"      a name with spaces, quoted; several source: mean any of them
    tag:europe                   from feeds tagged so; several tag: mean all of them
    -source:NAME  -tag:TAG       not from this outlet, not with this tag
    since:2026-01-31  since:7d   published on or after a day (UTC), or within a period

Words, phrases and names stay text: the store quotes each one into its own query language,
so nothing typed here is ever an operator there (``NEAR(``, ``*``, ``AND``, a lone ``"``).
A bad part raises :class:`QueryError` naming it (``since:yesterdayish: ...``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from aggregator.config.durations import parse_duration
from aggregator.errors import QueryError
from aggregator.store.search import MARK_END, MARK_START, SearchQuery

MAX_CHARS = 1000
MAX_TERMS = 16  # words and phrases, included or excluded: each one costs an index lookup

FIELDS = ("source", "tag", "since")
_QUOTES = {'"': '"', "“": "”", "„": "“", "«": "»"}
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_SPACES = {MARK_START, MARK_END}
SINCE_HINT = "expected a date like 2026-01-31 or a period like 24h or 7d"


@dataclass
class _Parts:
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    exclude_sources: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    exclude_tags: list[str] = field(default_factory=list)
    since: datetime | None = None


def parse_query(text: str, now: datetime) -> SearchQuery:
    """Read a search; ``now`` is when ``since:7d`` counts back from."""
    if len(text) > MAX_CHARS:
        raise QueryError(f"the search is longer than {MAX_CHARS} characters")
    # control characters (NUL ends an FTS5 string early) and the store's marks are spaces
    text = "".join(" " if c in _SPACES or unicodedata.category(c) == "Cc" else c for c in text)
    parts = _Parts()
    for negated, key, value, shown in _pieces(text):
        if key is None:
            if has_words(value):
                (parts.exclude if negated else parts.include).append(" ".join(value.split()))
        else:
            _add_field(parts, negated, key, value, shown, now)
    if len(parts.include) + len(parts.exclude) > MAX_TERMS:
        raise QueryError(f"too many words and phrases (at most {MAX_TERMS})")
    query = SearchQuery(
        include=tuple(_unique(parts.include)),
        exclude=tuple(_unique(parts.exclude)),
        sources=tuple(_unique(parts.sources)),
        exclude_sources=tuple(_unique(parts.exclude_sources)),
        tags=tuple(_unique(parts.tags)),
        exclude_tags=tuple(_unique(parts.exclude_tags)),
        since=parts.since,
    )
    if query == SearchQuery():
        typed = f" in {text.strip()!r}" if text.strip() else ""
        raise QueryError(f"nothing to search for{typed}: give a word to look for")
    return query


def has_words(text: str) -> bool:
    """Whether ``text`` holds a letter or digit: the index keeps nothing else."""
    return any(c.isalnum() for c in text)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _pieces(text: str) -> list[tuple[bool, str | None, str, str]]:
    """``text`` cut into (negated, field or None, value, as typed) pieces."""
    pieces = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        start = i
        negated = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
        if negated:
            i += 1
        key = None
        colon = _field_at(text, i)
        if colon is not None:
            key = text[i:colon].lower()
            i = colon + 1
        value, i = _value_at(text, i)
        pieces.append((negated, key, value, text[start:i]))
    return pieces


def _field_at(text: str, i: int) -> int | None:
    """Where the colon of ``source:``, ``tag:`` or ``since:`` starting at ``i`` is."""
    for name in FIELDS:
        end = i + len(name)
        if text[i:end].lower() == name and text[end : end + 1] == ":":
            return end
    return None


def _value_at(text: str, i: int) -> tuple[str, int]:
    """The quoted or bare value starting at ``i`` and where it ends; an unclosed quote runs
    to the end."""
    if i < len(text) and text[i] in _QUOTES:
        close = text.find(_QUOTES[text[i]], i + 1)
        if close < 0:
            return text[i + 1 :], len(text)
        return text[i + 1 : close], close + 1
    end = i
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[i:end], end


def _add_field(
    parts: _Parts, negated: bool, key: str, value: str, shown: str, now: datetime
) -> None:
    value = " ".join(value.split())
    if key == "since":
        if negated:
            raise QueryError(f"{shown}: since: cannot be negated (use a later date)")
        if parts.since is not None:
            raise QueryError(f"{shown}: since: is given twice")
        parts.since = parse_since(value, now, shown)
        return
    if not value:
        example = "source:reuters" if key == "source" else "tag:europe"
        raise QueryError(f"{shown} needs a name after the colon, like {example}")
    if key == "source":
        (parts.exclude_sources if negated else parts.sources).append(value)
    else:
        (parts.exclude_tags if negated else parts.tags).append(value)


def parse_since(value: str, now: datetime, shown: str | None = None) -> datetime:
    """``2026-01-31`` (that day, 00:00 UTC) or a period back from ``now`` (``7d``, ``24h``)."""
    shown = shown or f"since:{value}"
    if _DATE.fullmatch(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise QueryError(f"{shown}: no such day ({SINCE_HINT})") from None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    try:
        period = parse_duration(value)
    except ValueError:
        raise QueryError(f"{shown}: {SINCE_HINT}") from None
    try:
        return now - period
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
