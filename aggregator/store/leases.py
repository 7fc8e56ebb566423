"""Several daemons on one PostgreSQL store: feed leases, daemons' heartbeats, and placement
one daemon at a time.

A daemon polls a feed only while it holds the feed's lease: a ``feed_leases`` row naming it,
until ``expires`` (seconds on the database's clock, so that machines' clocks never matter).
Leases are taken with ``SELECT ... FOR UPDATE SKIP LOCKED`` (a row another daemon is taking
right now is skipped, never waited for), renewed by the holder's heartbeat, and free for the
taking once expired: the feeds of a daemon killed by SIGKILL go to the others within one TTL.

Every write for a feed checks, in its own transaction, that the writer still holds the
feed (:func:`check_lease`): a daemon paused (SIGSTOP) past its lease, whose feed another
daemon took meanwhile, gets :class:`LeaseLost` and writes nothing. Story placement takes a
transaction-scoped advisory lock (:data:`PLACEMENT_LOCK`), so two daemons never place at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aggregator.errors import StorageError
from aggregator.store.engine import Connection
from aggregator.store.rows import from_db, to_db, utc_now

# pg_advisory_xact_lock keys (any fixed numbers, distinct from the schema's)
PLACEMENT_LOCK = 0x61676702

_NOW = "extract(epoch from clock_timestamp())"


class LeaseLost(StorageError):
    """Another daemon holds this feed now: this daemon's writes for it are dropped."""


@dataclass(frozen=True)
class Holder:
    """A daemon and what it holds, for `aggregator status`."""

    id: str
    host: str
    pid: int
    started: datetime | None
    last_seen: datetime | None
    feeds: tuple[str, ...]


def heartbeat(db: Connection, daemon: str, host: str, pid: int, ttl: float) -> None:
    """Say the daemon is alive and renew its leases."""
    now = to_db(utc_now())
    db.execute(
        "INSERT INTO daemons (id, host, pid, started, last_seen) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen",
        (daemon, host, pid, now, now),
    )
    db.execute(f"UPDATE feed_leases SET expires = {_NOW} + ? WHERE holder = ?", (ttl, daemon))


def fair_share(db: Connection, feeds: int, ttl: float) -> int:
    """How many feeds one daemon should hold: the feeds spread over the daemons alive."""
    alive = to_db(utc_now() - timedelta(seconds=ttl))
    row = db.execute("SELECT count(*) FROM daemons WHERE last_seen >= ?", (alive,)).fetchone()
    return max(1, math.ceil(feeds / max(1, int(row[0]))))


def renew(db: Connection, daemon: str, url: str, ttl: float) -> bool:
    """Extend the lease of ``url`` if ``daemon`` holds it (True), in one statement: the check
    before each poll of a feed the daemon keeps (see :func:`acquire` for taking one)."""
    row = db.execute(
        f"UPDATE feed_leases SET expires = {_NOW} + ? WHERE feed_url = ? AND holder = ? "
        "RETURNING 1",
        (ttl, url, daemon),
    ).fetchone()
    return row is not None


def acquire(db: Connection, daemon: str, url: str, ttl: float, share: int | None = None) -> bool:
    """Take (or keep) the lease of ``url``: True if this daemon holds it now.

    A feed another daemon holds is left alone until its lease expires; a daemon holding its
    ``share`` already takes no more (so that a daemon started later gets feeds too).
    """
    db.execute(
        "INSERT INTO feed_leases (feed_url, holder, expires, taken) VALUES (?, '', 0, '') "
        "ON CONFLICT (feed_url) DO NOTHING",
        (url,),
    )
    row = db.execute(
        f"SELECT holder, expires < {_NOW} AS free FROM feed_leases WHERE feed_url = ? "
        "FOR UPDATE SKIP LOCKED",
        (url,),
    ).fetchone()
    if row is None:
        return False  # another daemon is taking it at this moment
    if row["holder"] != daemon:
        if not row["free"]:
            return False
        if share is not None:
            held = db.execute(
                f"SELECT count(*) FROM feed_leases WHERE holder = ? AND expires >= {_NOW}",
                (daemon,),
            ).fetchone()[0]
            if held >= share:
                return False
    db.execute(
        f"UPDATE feed_leases SET holder = ?, expires = {_NOW} + ?, "
        "taken = CASE WHEN holder = ? THEN taken ELSE ? END WHERE feed_url = ?",
        (daemon, ttl, daemon, to_db(utc_now()), url),
    )
    return True


def acquire_free(db: Connection, daemon: str, urls: Sequence[str], ttl: float) -> set[str]:
    """Take every feed of ``urls`` that no other daemon holds (expired leases included), in
    two statements whatever their number, with no share (a one-off pass polls all it can);
    the feeds taken."""
    db.execute(
        "INSERT INTO feed_leases (feed_url, holder, expires, taken) "
        "SELECT u, '', 0, '' FROM unnest(CAST(:urls AS text[])) AS u "
        "ON CONFLICT (feed_url) DO NOTHING",
        {"urls": list(urls)},
    )
    rows = db.execute(
        f"UPDATE feed_leases SET holder = :daemon, expires = {_NOW} + :ttl, "
        "taken = CASE WHEN holder = :daemon THEN taken ELSE :now END "
        "WHERE feed_url IN (SELECT feed_url FROM feed_leases "
        "WHERE feed_url = ANY(CAST(:urls AS text[])) "
        f"AND (holder = :daemon OR expires < {_NOW}) FOR UPDATE SKIP LOCKED) RETURNING feed_url",
        {"daemon": daemon, "ttl": ttl, "now": to_db(utc_now()), "urls": list(urls)},
    ).fetchall()
    return {r[0] for r in rows}


def release(db: Connection, daemon: str, urls: Sequence[str] | None = None) -> None:
    """Give feeds back (all of the daemon's when ``urls`` is None), e.g. on a clean stop."""
    if urls is None:
        db.execute("UPDATE feed_leases SET expires = 0 WHERE holder = ?", (daemon,))
        db.execute("DELETE FROM daemons WHERE id = ?", (daemon,))
        return
    for url in urls:
        db.execute(
            "UPDATE feed_leases SET expires = 0 WHERE holder = ? AND feed_url = ?", (daemon, url)
        )


def check_lease(db: Connection, daemon: str, url: str) -> None:
    """LeaseLost unless ``daemon`` still holds ``url``; the row stays locked until the
    caller's transaction ends, so the lease cannot change hands before its writes commit."""
    row = db.execute(
        "SELECT holder FROM feed_leases WHERE feed_url = ? FOR UPDATE", (url,)
    ).fetchone()
    if row is not None and row["holder"] != daemon:
        raise LeaseLost(f"{url}: now polled by daemon {row['holder']}; this poll is dropped")


def holders(db: Connection) -> list[Holder]:
    """Every daemon known, with the feeds whose leases it holds (expired ones left out)."""
    feeds: dict[str, list[str]] = {}
    for row in db.execute(
        f"SELECT holder, feed_url FROM feed_leases WHERE expires >= {_NOW} ORDER BY feed_url"
    ).fetchall():
        feeds.setdefault(row["holder"], []).append(row["feed_url"])
    return [
        Holder(
            row["id"],
            row["host"],
            int(row["pid"]),
            from_db(row["started"]),
            from_db(row["last_seen"]),
            tuple(feeds.get(row["id"], ())),
        )
        for row in db.execute("SELECT * FROM daemons ORDER BY id").fetchall()
    ]


def orphaned(db: Connection, daemon: str) -> list[str]:
    """Feeds whose holder stopped renewing (or gave them back): free for the taking."""
    rows = db.execute(
        f"SELECT feed_url FROM feed_leases WHERE expires < {_NOW} AND holder <> '' "
        "AND holder <> ? ORDER BY feed_url",
        (daemon,),
    ).fetchall()
    return [r[0] for r in rows]
