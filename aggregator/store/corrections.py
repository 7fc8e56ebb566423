"""Operators' corrections of the clustering, in SQL: take an article out of its story, merge two
stories, and read the corrections back (for the clusterer, the story page and the API).

Every function runs on a connection inside the caller's transaction, so a correction and its
record are written together or not at all. Corrections are kept through retention: a record
whose articles were pruned is harmless, and it keeps old story ids explainable.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aggregator.errors import CorrectionError
from aggregator.store.engine import Connection
from aggregator.store.reads import follow_merges
from aggregator.store.rows import Row, from_db, to_db
from aggregator.types import Correction

_COLUMNS = "id, kind, article_key, story_id, other_story_id, at"


def correction_from_row(r: Row) -> Correction:
    at = from_db(r["at"])
    assert at is not None
    return Correction(r["id"], r["kind"], r["story_id"], r["other_story_id"], at, r["article_key"])


def resolve_story(db: Connection, story_id: str) -> str:
    """The live story an id stands for now (merges followed); CorrectionError if unknown."""
    found = follow_merges(db, story_id.strip())
    if found is None:
        raise CorrectionError(f"no story {story_id!r} (see `aggregator digest --format json`)")
    return found


def find_article(db: Connection, ref: str, canonical: str | None = None) -> Row:
    """An article by key, number, link as listed, or canonical URL (``canonical``: the
    caller's canonical form of ``ref``); CorrectionError if none, or if the link names several
    articles."""
    ref = ref.strip()
    query = "SELECT id, key, title, story_id, sort_time FROM articles WHERE "
    for where, value in (
        ("key = ?", ref),
        ("id = ?", int(ref) if ref.isdigit() else None),
        ("url = ?", ref),
        ("canonical_url = ?", canonical),
    ):
        if value is None:
            continue
        rows = db.execute(query + where, (value,)).fetchall()
        if len(rows) == 1:
            return rows[0]
        if len(rows) > 1:
            keys = ", ".join(r["key"] for r in rows[:5])
            raise CorrectionError(f"{ref!r} names {len(rows)} articles ({keys}); give the key")
    raise CorrectionError(f"no article {ref!r} (give its key, number or link, as in export)")


def split_article(db: Connection, ref: str, canonical: str | None, now: datetime) -> Correction:
    """Move an article (and its wire copies) out of its story into a story of its own."""
    article = find_article(db, ref, canonical)
    old = article["story_id"]
    if old is None:
        raise CorrectionError(f"article {article['key']} is in no story")
    moving = [
        r[0]
        for r in db.execute(
            "SELECT id FROM articles WHERE story_id = ? AND (id = ? OR duplicate_of = ?)",
            (old, article["id"], article["id"]),
        )
    ]
    (left,) = db.execute("SELECT count(*) FROM articles WHERE story_id = ?", (old,)).fetchone()
    if left <= len(moving):
        raise CorrectionError(f"article {article['key']} is already alone in story {old}")
    new = _free_story_id(db, article["key"])
    marks = ",".join("?" * len(moving))
    first, last = db.execute(
        f"SELECT min(sort_time), max(sort_time) FROM articles WHERE id IN ({marks})", moving
    ).fetchone()
    db.execute(
        "INSERT INTO stories (id, title, created, first_published, last_updated) "
        "VALUES (?, ?, ?, ?, ?)",
        (new, article["title"], to_db(now), first, last),
    )
    db.execute(f"UPDATE articles SET story_id = ? WHERE id IN ({marks})", [new, *moving])
    _refresh_story(db, old, gone_title=article["title"])
    return _record(db, "split", old, new, now, article["key"])


def move_articles(db: Connection, moves: Sequence[tuple[str, str]], now: datetime) -> None:
    """The clusterer split a story that held two events (aggregator/cluster/split.py): each
    (article key, new story id) goes to its new story, created here; the stories they left
    keep the times and a title of the articles left in them. Not an operator's correction:
    nothing is recorded in ``corrections``; each pair of stories goes in ``stories_apart``,
    so that a window rebuilt from the store keeps them apart too."""
    by_story: dict[str, list[str]] = {}
    for key, story in moves:
        by_story.setdefault(story, []).append(key)
    for story, keys in by_story.items():
        marks = ",".join("?" * len(keys))
        rows = db.execute(
            f"SELECT story_id, title, sort_time FROM articles WHERE key IN ({marks}) "
            "ORDER BY sort_time, id",
            keys,
        ).fetchall()
        if not rows:
            continue
        times = [r[2] for r in rows if r[2] is not None]
        db.execute(
            "INSERT INTO stories (id, title, created, first_published, last_updated) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
            (story, rows[0][1], to_db(now), min(times, default=None), max(times, default=None)),
        )
        db.execute(f"UPDATE articles SET story_id = ? WHERE key IN ({marks})", [story, *keys])
        left = {r[0] for r in rows if r[0] is not None and r[0] != story}
        for old in sorted(left):
            db.execute(
                "INSERT INTO stories_apart (story_id, other_story_id, at) VALUES (?, ?, ?) "
                "ON CONFLICT (story_id, other_story_id) DO NOTHING",
                (old, story, to_db(now)),
            )
            for title in sorted({r[1] for r in rows}):
                _refresh_story(db, old, gone_title=title)
        _refresh_story(db, story, gone_title="")


def merge_stories(db: Connection, story: str, other: str, now: datetime) -> Correction:
    """Fold ``other`` into ``story`` (the first named keeps its id; the other id still
    resolves to it)."""
    surviving, absorbed = resolve_story(db, story), resolve_story(db, other)
    if surviving == absorbed:
        raise CorrectionError(f"{story!r} and {other!r} are the same story ({surviving})")
    merge_into(db, absorbed, surviving, now)
    return _record(db, "merge", absorbed, surviving, now)


def merge_into(db: Connection, absorbed: str, surviving: str, now: datetime) -> None:
    """Fold one story into another: its articles, its times, and the ids merged into it."""
    if absorbed == surviving:
        return
    db.execute("UPDATE articles SET story_id = ? WHERE story_id = ?", (surviving, absorbed))
    old = db.execute(
        "SELECT first_published, last_updated FROM stories WHERE id = ?", (absorbed,)
    ).fetchone()
    if old is not None:
        least, greatest = db.dialect.least, db.dialect.greatest
        db.execute(
            f"""UPDATE stories SET
                 first_published = {least}(coalesce(first_published, ?),
                                           coalesce(?, first_published)),
                 last_updated = {greatest}(coalesce(last_updated, ?), coalesce(?, last_updated))
               WHERE id = ?""",
            (old[0], old[0], old[1], old[1], surviving),
        )
    db.execute("UPDATE stories SET merged_into = ? WHERE id = ?", (surviving, absorbed))
    db.execute("UPDATE stories SET merged_into = ? WHERE merged_into = ?", (surviving, absorbed))
    db.execute(
        "INSERT INTO story_merges (absorbed, surviving, at) VALUES (?, ?, ?) "
        "ON CONFLICT (absorbed) DO UPDATE SET surviving = excluded.surviving, at = excluded.at",
        (absorbed, surviving, to_db(now)),
    )


def stories_apart(db: Connection, since: datetime | None = None) -> list[tuple[str, str]]:
    """The pairs of stories the clusterer's splits made (those recorded at or after
    ``since``), oldest first."""
    where, params = ("WHERE at >= ? ", (to_db(since),)) if since is not None else ("", ())
    rows = db.execute(
        f"SELECT story_id, other_story_id FROM stories_apart {where}ORDER BY at, story_id",
        params,
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def corrections_since(db: Connection, after: int) -> list[Correction]:
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM corrections WHERE id > ? ORDER BY id", (after,)
    ).fetchall()
    return [correction_from_row(r) for r in rows]


def story_corrections(db: Connection, story_id: str) -> list[Correction]:
    """Corrections that touched a story: articles split out of it or into it, stories merged
    into it (also under the ids merged into it)."""
    rows = db.execute(
        f"SELECT {_COLUMNS} FROM corrections WHERE story_id = :s OR other_story_id = :s "
        "OR story_id IN (SELECT id FROM stories WHERE merged_into = :s) "
        "OR other_story_id IN (SELECT id FROM stories WHERE merged_into = :s) ORDER BY id",
        {"s": story_id},
    ).fetchall()
    return [correction_from_row(r) for r in rows]


def _free_story_id(db: Connection, key: str) -> str:
    story_id, n = key, 1
    while db.execute("SELECT 1 FROM stories WHERE id = ?", (story_id,)).fetchone():
        n += 1
        story_id = f"{key}~{n}"
    return story_id


def _refresh_story(db: Connection, story_id: str, *, gone_title: str) -> None:
    """The story's times from the articles left in it, and a title that is still theirs."""
    db.execute(
        """UPDATE stories SET
             first_published = (SELECT min(sort_time) FROM articles WHERE story_id = :s),
             last_updated = (SELECT max(sort_time) FROM articles WHERE story_id = :s),
             title = CASE WHEN title = :gone THEN coalesce(
                 (SELECT title FROM articles WHERE story_id = :s ORDER BY sort_time, id LIMIT 1),
                 title) ELSE title END
           WHERE id = :s""",
        {"s": story_id, "gone": gone_title},
    )


def _record(
    db: Connection,
    kind: str,
    story: str,
    other: str,
    now: datetime,
    article: str | None = None,
) -> Correction:
    number = db.insert_id(
        "INSERT INTO corrections (kind, article_key, story_id, other_story_id, at) "
        "VALUES (?, ?, ?, ?, ?)",
        (kind, article, story, other, to_db(now)),
    )
    assert number is not None
    return Correction(number, kind, story, other, now, article)
