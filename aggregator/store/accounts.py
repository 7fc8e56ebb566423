"""Readers' accounts and their marks, in SQL: users, apps' tokens, read and starred articles.

Every function runs on a connection inside the caller's transaction. The SQL is kept portable
(``ON CONFLICT``, no ``INSERT OR ...``, no rowid) so that both engines run it through
:class:`~aggregator.store.engine.Connection`.

Marks are rows per (user, article), which gives the rules readers expect for free:

* reading one copy of a syndicated article marks the whole family read: its original
  (``articles.duplicate_of``) and every wire copy of that original;
* reading a story marks every article it holds now (merges followed), and an article that
  joins the story later has no mark, so it arrives unread;
* a pruned article takes its marks with it (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from aggregator.errors import AccountError
from aggregator.store import Account
from aggregator.store.engine import Connection
from aggregator.store.reads import follow_merges
from aggregator.store.rows import Row, from_db, to_db

MARK_TABLES = {"read": "read_marks", "starred": "star_marks"}
_CHUNK = 500
KEEP_TOKENS = (
    20  # per user and kind of client  # ids per statement, far below SQLite's 32,766 parameters
)


def account_from_row(r: Row) -> Account:
    created = from_db(r["created"])
    assert created is not None
    return Account(int(r["id"]), r["name"], created, r["fever_key"] is not None)


_USER_COLUMNS = "id, name, created, fever_key"


# ---------------------------------------------------------------------- accounts
def add_user(
    db: Connection, name: str, password_hash: str, fever_key: str | None, now: datetime
) -> Account:
    if find_user(db, name) is not None:
        raise AccountError(f"user {name!r} exists already (change the password with passwd)")
    db.execute(
        "INSERT INTO users (name, password_hash, fever_key, created) VALUES (?, ?, ?, ?)",
        (name, password_hash, fever_key, to_db(now)),
    )
    found = find_user(db, name)
    assert found is not None
    return found


def find_user(db: Connection, name: str) -> Account | None:
    row = db.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", (name,)).fetchone()
    return account_from_row(row) if row else None


def all_users(db: Connection) -> list[Account]:
    rows = db.execute(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name").fetchall()
    return [account_from_row(r) for r in rows]


def password_hash(db: Connection, name: str) -> tuple[Account, str] | None:
    row = db.execute(
        f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE name = ?", (name,)
    ).fetchone()
    return (account_from_row(row), row["password_hash"]) if row else None


def set_password(db: Connection, name: str, password_hash: str, fever_key: str | None) -> Account:
    """A new password (and Fever key, or none): every token of the account stops working."""
    user = require_user(db, name)
    db.execute(
        "UPDATE users SET password_hash = ?, fever_key = ? WHERE id = ?",
        (password_hash, fever_key, user.id),
    )
    db.execute("DELETE FROM user_tokens WHERE user_id = ?", (user.id,))
    found = find_user(db, name)
    assert found is not None
    return found


def rehash(db: Connection, user_id: int, password_hash: str) -> None:
    """The same password under today's hashing parameters (tokens stay valid)."""
    db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))


def remove_user(db: Connection, name: str) -> None:
    user = require_user(db, name)
    for table in ("user_tokens", *MARK_TABLES.values()):
        db.execute(f"DELETE FROM {table} WHERE user_id = ?", (user.id,))
    db.execute("DELETE FROM users WHERE id = ?", (user.id,))


def require_user(db: Connection, name: str) -> Account:
    user = find_user(db, name)
    if user is None:
        raise AccountError(f"no user {name!r} (see `aggregator users list`)")
    return user


# ---------------------------------------------------------------------- tokens
def add_token(db: Connection, user_id: int, digest: str, kind: str, now: datetime) -> None:
    """A new token; the oldest of the user's tokens of that kind go past ``KEEP_TOKENS``
    (apps such as newsboat log in on every start)."""
    db.execute(
        "INSERT INTO user_tokens (token_hash, user_id, kind, created) VALUES (?, ?, ?, ?)",
        (digest, user_id, kind, to_db(now)),
    )
    db.execute(
        "DELETE FROM user_tokens WHERE user_id = ? AND kind = ? AND token_hash NOT IN "
        "(SELECT token_hash FROM user_tokens WHERE user_id = ? AND kind = ? "
        "ORDER BY created DESC LIMIT ?)",
        (user_id, kind, user_id, kind, KEEP_TOKENS),
    )


def token_user(db: Connection, digest: str, kind: str) -> Account | None:
    row = db.execute(
        f"SELECT {', '.join('u.' + c for c in _USER_COLUMNS.split(', '))} "
        "FROM user_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_hash = ? AND t.kind = ?",
        (digest, kind),
    ).fetchone()
    return account_from_row(row) if row else None


def token_session(
    db: Connection, digest: str, kind: str, since: datetime
) -> tuple[Account, datetime] | None:
    """The account of a token issued (or refreshed) at or after ``since``, and when that was.

    Web sessions expire: their row's ``created`` is moved forward when they are refreshed.
    """
    row = db.execute(
        f"SELECT {', '.join('u.' + c for c in _USER_COLUMNS.split(', '))}, t.created AS issued "
        "FROM user_tokens t JOIN users u ON u.id = t.user_id "
        "WHERE t.token_hash = ? AND t.kind = ? AND t.created >= ?",
        (digest, kind, to_db(since)),
    ).fetchone()
    if row is None:
        return None
    issued = from_db(row["issued"])
    assert issued is not None
    return account_from_row(row), issued


def refresh_token(db: Connection, digest: str, now: datetime) -> None:
    db.execute("UPDATE user_tokens SET created = ? WHERE token_hash = ?", (to_db(now), digest))


def revoke_token(db: Connection, digest: str) -> int:
    return db.execute("DELETE FROM user_tokens WHERE token_hash = ?", (digest,)).rowcount


def expire_tokens(db: Connection, user_id: int, kind: str, before: datetime) -> int:
    """Forget the user's tokens of ``kind`` issued (or refreshed) before ``before``."""
    return db.execute(
        "DELETE FROM user_tokens WHERE user_id = ? AND kind = ? AND created < ?",
        (user_id, kind, to_db(before)),
    ).rowcount


def fever_user(db: Connection, digest: str) -> Account | None:
    row = db.execute(f"SELECT {_USER_COLUMNS} FROM users WHERE fever_key = ?", (digest,)).fetchone()
    return account_from_row(row) if row else None


def revoke_tokens(db: Connection, user_id: int, kind: str | None = None) -> int:
    if kind is None:
        return db.execute("DELETE FROM user_tokens WHERE user_id = ?", (user_id,)).rowcount
    return db.execute(
        "DELETE FROM user_tokens WHERE user_id = ? AND kind = ?", (user_id, kind)
    ).rowcount


# ---------------------------------------------------------------------- marks
def _family(marks: str) -> str:
    """The articles of the families of the ids in ``marks``: originals and wire copies."""
    roots = f"SELECT coalesce(duplicate_of, id) FROM articles WHERE id IN ({marks})"
    return f"SELECT x.id FROM articles x WHERE x.id IN ({roots}) OR x.duplicate_of IN ({roots})"


def set_marks(
    db: Connection,
    kind: str,
    user_id: int,
    article_ids: Sequence[int],
    on: bool,
    now: datetime,
) -> int:
    """Mark (``on``) or unmark the articles' families as ``kind`` (read, starred); how many
    rows changed."""
    table = MARK_TABLES[kind]
    changed = 0
    ids = sorted({int(i) for i in article_ids})
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" for _ in chunk)
        if on:
            changed += db.execute(
                f"INSERT INTO {table} (user_id, article_id, at) "
                f"SELECT ?, f.id, ? FROM ({_family(marks)}) f WHERE f.id IS NOT NULL "
                "ON CONFLICT (user_id, article_id) DO NOTHING",
                (user_id, to_db(now), *chunk, *chunk),
            ).rowcount
        else:
            changed += db.execute(
                f"DELETE FROM {table} WHERE user_id = ? AND article_id IN ({_family(marks)})",
                (user_id, *chunk, *chunk),
            ).rowcount
    return changed


def story_article_ids(db: Connection, story_id: str) -> list[int]:
    """The articles a story holds now (merges followed); AccountError for an unknown id."""
    live = follow_merges(db, story_id.strip())
    if live is None:
        raise AccountError(f"no story {story_id!r}")
    rows = db.execute("SELECT id FROM articles WHERE story_id = ?", (live,)).fetchall()
    return [int(r[0]) for r in rows]


def marked_ids(db: Connection, kind: str, user_id: int, article_ids: Sequence[int]) -> set[int]:
    """Which of the articles carry the user's mark."""
    table = MARK_TABLES[kind]
    found: set[int] = set()
    ids = sorted({int(i) for i in article_ids})
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" for _ in chunk)
        rows = db.execute(
            f"SELECT article_id FROM {table} WHERE user_id = ? AND article_id IN ({marks})",
            (user_id, *chunk),
        ).fetchall()
        found.update(int(r[0]) for r in rows)
    return found


def story_unread_counts(db: Connection, user_id: int, story_ids: Sequence[str]) -> dict[str, int]:
    """Per live story: its articles the user has not read (wire copies folded into their
    original, as the apps list them)."""
    counts = {sid: 0 for sid in story_ids}
    ids = list(dict.fromkeys(story_ids))
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        marks = ", ".join("?" for _ in chunk)
        rows = db.execute(
            "SELECT a.story_id, count(*) AS n FROM articles a "
            f"WHERE a.story_id IN ({marks}) AND a.duplicate_of IS NULL AND NOT EXISTS "
            "(SELECT 1 FROM read_marks r WHERE r.user_id = ? AND r.article_id = a.id) "
            "GROUP BY a.story_id",
            (*chunk, user_id),
        ).fetchall()
        for r in rows:
            counts[r["story_id"]] = int(r["n"])
    return counts


def _folded(table: str) -> str:
    """Marked articles, a wire copy only when its original is not marked too (the family is
    marked together, and readers see it once)."""
    return (
        f"m.user_id = ? AND (a.duplicate_of IS NULL OR NOT EXISTS (SELECT 1 FROM {table} o "
        "WHERE o.user_id = m.user_id AND o.article_id = a.duplicate_of))"
    )


def marked_articles_sql(kind: str) -> str:
    """What follows an article SELECT (``articles a``) to list the user's marked articles,
    most recently marked first, wire copies folded; parameters: user id, limit, offset."""
    table = MARK_TABLES[kind]
    return (
        f" JOIN {table} m ON m.article_id = a.id WHERE {_folded(table)} "
        "ORDER BY m.at DESC, a.id DESC LIMIT ? OFFSET ?"
    )


def count_marked(db: Connection, kind: str, user_id: int) -> int:
    """How many articles :func:`marked_articles_sql` lists in all."""
    table = MARK_TABLES[kind]
    row = db.execute(
        f"SELECT count(*) FROM {table} m JOIN articles a ON a.id = m.article_id "
        f"WHERE {_folded(table)}",
        (user_id,),
    ).fetchone()
    return int(row[0])
