"""Where the store lives, and one thin query layer over SQLite and PostgreSQL.

The queries are written once, in the SQL both engines speak, with ``?`` or ``:name``
parameters (sqlite3's own styles); :class:`Connection` runs them on ``sqlite3`` as they are
and translates the parameter marks for psycopg. The few spots where the engines differ in
spelling (string aggregation, two-argument min/max, JSON lists, case-blind LIKE) are the
:class:`Dialect`'s, named once. The DBAPI is used directly rather than through SQLAlchemy's
engine: the SQLite path stays as fast as it was (a first ingest runs ~15 statements per
article); SQLAlchemy supplies the schema's DDL and the URL parsing.
"""

from __future__ import annotations

import itertools
import os
import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from aggregator.errors import StorageError

DB_NAME = "aggregator.sqlite3"
ENV_DATABASE = "AGGREGATOR_DATABASE"

Params = Sequence[Any] | Mapping[str, Any]


@dataclass(frozen=True)
class Location:
    """Where the store is: ``url`` (PostgreSQL) or else the SQLite file in ``directory``."""

    directory: Path
    url: str | None = None

    @property
    def engine(self) -> str:
        return "postgresql" if self.url else "sqlite"

    @property
    def path(self) -> Path:
        return self.directory / DB_NAME

    def describe(self) -> str:
        """How errors name the store: the file, or host and database (never the password)."""
        if not self.url:
            return str(self.path)
        return describe_url(self.url)


def describe_url(url: str) -> str:
    """``postgresql://HOST:PORT/DB`` of a URL, without user or password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except ArgumentError:
        return "(unreadable database URL)"
    host = parsed.host or parsed.query.get("host") or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    return f"postgresql://{host}{port}/{parsed.database or ''}"


def check_url(url: str) -> str:
    """The URL if it names a PostgreSQL database, else StorageError (exit 2)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StorageError(
            f"{url!r}: not a database URL (postgresql://USER@HOST:PORT/DB)"
        ) from None
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        raise StorageError(
            f"{describe_url(url)}: only postgresql://USER@HOST:PORT/DB URLs are supported"
        )
    return url


def location(directory: Path, url: str | None = None) -> Location:
    """The store's location: ``url`` if given, else env AGGREGATOR_DATABASE, else SQLite."""
    chosen = url or os.environ.get(ENV_DATABASE) or None
    return Location(Path(directory), check_url(chosen) if chosen else None)


# ---------------------------------------------------------------------- dialects
@dataclass(frozen=True)
class Dialect:
    """The spellings the two engines do not share."""

    name: str
    least: str  # two-argument minimum
    greatest: str
    like: str  # case-blind LIKE (SQLite's LIKE is, for ASCII)

    def listagg(self, column: str) -> str:
        """The column's values joined by newlines."""
        if self.name == "sqlite":
            return f"group_concat({column}, char(10))"
        return f"string_agg({column}, chr(10))"

    def has_tag(self, tags: str, param: str) -> str:
        """Whether the JSON list in column ``tags`` holds the value of parameter ``param``."""
        if self.name == "sqlite":
            return f"EXISTS (SELECT 1 FROM json_each({tags}) j WHERE j.value = :{param})"
        return f"jsonb_exists(CAST({tags} AS jsonb), :{param})"


SQLITE = Dialect("sqlite", "min", "max", "LIKE")
POSTGRESQL = Dialect("postgresql", "least", "greatest", "ILIKE")


@lru_cache(maxsize=1024)
def to_pyformat(sql: str) -> str:
    """``?`` and ``:name`` marks as psycopg's ``%s`` and ``%(name)s`` (literals untouched)."""
    out = []
    for part in re.split(r"('(?:[^']|'')*')", sql):
        if part.startswith("'"):
            out.append(part.replace("%", "%%"))
            continue
        part = part.replace("%", "%%").replace("?", "%s")
        out.append(re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"%(\1)s", part))
    return "".join(out)


class Row(tuple[Any, ...]):
    """A PostgreSQL row read by position or by column name, as sqlite3.Row is."""

    _names: dict[str, int]

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)


@lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]) -> type[Row]:
    return type("PgRow", (Row,), {"_names": {name: i for i, name in enumerate(names)}})


def _row_factory(cursor: Any) -> Any:
    return _row_class(tuple(d.name for d in cursor.description or ()))


class Connection:
    """One database connection: ``execute`` as sqlite3 has it, on either engine."""

    def __init__(self, raw: Any, dialect: Dialect):
        self.raw = raw
        self.dialect = dialect
        self.pg = dialect.name == "postgresql"
        # PostgreSQL: SAVEPOINT and RELEASE commands not sent yet (see ``savepoint``)
        self._waiting: list[str] = []

    def execute(self, sql: str, params: Params = ()) -> Any:
        if not self.pg:
            return self.raw.execute(sql, params)
        cursor = self.raw.cursor(row_factory=_row_factory)
        if not self._waiting:
            # without parameters psycopg sends the text as it is: no marks to translate, and
            # a literal % must stay single
            cursor.execute(to_pyformat(sql) if params else sql, params or None)
            return cursor
        # the commands waiting go in one round trip with this statement, in pipeline mode: a
        # statement repeated is still prepared once (psycopg prepares on its fifth run), as
        # it would not be inside one simple query of several statements
        waiting, self._waiting = self._waiting, []
        with self.raw.pipeline():
            for command in waiting:
                self.raw.execute(command)
            cursor.execute(to_pyformat(sql) if params else sql, params or None)
        return cursor

    def _send_waiting(self) -> None:
        """Send the commands waiting (BEGIN, SAVEPOINT, RELEASE) now: for a statement that
        cannot carry them (executemany, a server-side cursor)."""
        if self._waiting:
            self._send(self.raw.cursor(), "SELECT 1")

    def _send(self, cursor: Any, *statements: str) -> Any:
        batch = "; ".join([*self._waiting, *statements])
        self._waiting.clear()
        cursor.execute(batch)
        return _last_result(cursor)

    def begin(self) -> None:
        """BEGIN, which on PostgreSQL waits for the next statement and goes with it."""
        if not self.pg:
            self.raw.execute("BEGIN")
            return
        self._waiting.append("BEGIN")

    def savepoint(self, name: str) -> None:
        """SAVEPOINT. On PostgreSQL it waits for the next statement and goes with it (a round
        trip less per nested transaction)."""
        if not self.pg:
            self.raw.execute(f"SAVEPOINT {name}")
            return
        self._waiting.append(f"SAVEPOINT {name}")

    def release(self, savepoint: str) -> None:
        """RELEASE a savepoint. On PostgreSQL it waits for the next statement and goes with
        it; until then the statements run inside the savepoint, which changes nothing, as
        nobody rolls back to a savepoint that was released."""
        if not self.pg:
            self.raw.execute(f"RELEASE {savepoint}")
            return
        self._waiting.append(f"RELEASE {savepoint}")

    def rollback(self, savepoint: str | None = None) -> None:
        """ROLLBACK, or ROLLBACK TO ``savepoint`` and RELEASE it. The commands waiting that it
        undoes are dropped (a RELEASE sent in an aborted transaction would fail, and the
        rollback with it); a savepoint never sent has nothing to roll back."""
        if savepoint is None:
            began = "BEGIN" in self._waiting  # not sent: nothing to roll back
            self._waiting.clear()
            if not began:
                self.execute("ROLLBACK")
            return
        mark = f"SAVEPOINT {savepoint}"
        if mark in self._waiting:
            del self._waiting[self._waiting.index(mark) :]
            return
        self._waiting.clear()
        self.execute(f"ROLLBACK TO {savepoint}")
        self.release(savepoint)

    def batch(self, *statements: str) -> Any:
        """Statements without parameters in one round trip (PostgreSQL); the last's cursor."""
        if not self.pg:
            cursor = None
            for sql in statements:
                cursor = self.raw.execute(sql)
            return cursor
        return self._send(self.raw.cursor(row_factory=_row_factory), *map(to_pyformat, statements))

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if not self.pg:
            self.raw.executemany(sql, rows)
            return
        self._send_waiting()
        if rows:
            with self.raw.cursor() as cursor:
                cursor.executemany(to_pyformat(sql), rows)

    def stream(self, sql: str, params: Params = (), *, rows: int = 500) -> Iterator[Any]:
        """The rows of a long SELECT as they are read. On PostgreSQL a server-side cursor
        read ``rows`` at a time: a plain cursor would hold the whole result in this process
        (an export of every article). Outside a transaction the cursor is WITH HOLD (the
        server keeps the result for it after its statement commits)."""
        if not self.pg:
            yield from self.raw.execute(sql, params)
            return
        self._send_waiting()
        from psycopg.pq import TransactionStatus

        idle = self.raw.info.transaction_status == TransactionStatus.IDLE
        name = f"aggregator_stream_{next(_streams)}"
        with self.raw.cursor(name, row_factory=_row_factory, withhold=idle) as cursor:
            cursor.itersize = rows
            cursor.execute(to_pyformat(sql) if params else sql, params or None)
            yield from cursor

    def insert_id(self, sql: str, params: Params, *, returning: bool = True) -> int | None:
        """Run an INSERT and return the new row's ``id`` (None: ON CONFLICT skipped it);
        ``returning=False``: the statement returns the id itself."""
        row = self.execute(sql + " RETURNING id" if returning else sql, params).fetchone()
        return int(row[0]) if row is not None else None

    def close(self) -> None:
        self._waiting.clear()
        self.raw.close()


_streams = itertools.count(1)  # server-side cursors' names


def _last_result(cursor: Any) -> Any:
    """The cursor on the last result of several statements sent at once."""
    while cursor.nextset():
        pass
    return cursor


# ---------------------------------------------------------------------- opening
def connect(where: Location, *, readonly: bool = False) -> Connection:
    """A connection in autocommit mode (the store says BEGIN and COMMIT itself)."""
    if where.url:
        return Connection(_connect_pg(where.url), POSTGRESQL)
    if readonly:
        raw = sqlite3.connect(
            f"file:{where.path}?mode=ro", uri=True, timeout=30, isolation_level=None
        )
    else:
        where.directory.mkdir(parents=True, exist_ok=True)
        raw = sqlite3.connect(where.path, timeout=30, isolation_level=None)
    raw.row_factory = sqlite3.Row
    raw.execute("PRAGMA foreign_keys = ON")
    raw.execute("PRAGMA busy_timeout = 30000")
    if not readonly:
        raw.execute("PRAGMA journal_mode = WAL")
        raw.execute("PRAGMA synchronous = NORMAL")
    return Connection(raw, SQLITE)


def _connect_pg(url: str) -> Any:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(drivername="postgresql")
    dsn = parsed.render_as_string(hide_password=False)
    try:
        return psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise StorageError(f"{describe_url(url)}: cannot connect: {first}") from None


def driver_errors() -> tuple[type[BaseException], ...]:
    """The exceptions both drivers raise, wrapped into StorageError at the store's boundary."""
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency
        return errors
    return (*errors, psycopg.Error)


def is_disconnect(exc: BaseException) -> bool:
    """Whether ``exc`` means the server went away (the connection must be made anew)."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover
        return False
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
        return True
    return isinstance(exc, psycopg.errors.AdminShutdown | psycopg.errors.CannotConnectNow)


@contextmanager
def wrapped(where: Location) -> Iterator[None]:
    """Driver errors become StorageError naming the store."""
    try:
        yield
    except driver_errors() as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise StorageError(f"{where.describe()}: {message}") from exc
