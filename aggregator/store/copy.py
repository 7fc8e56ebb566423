"""Copying a whole store to another (``aggregator migrate --to postgresql://...``).

Every table of the schema, row for row with the same ids (articles keep their numbers, so
export and the API's article numbers stay the same), in one transaction on the target: a
copy that fails half-way leaves the target as empty as it was. Self-references (a story
merged into another, an article copying another) are written in a second pass, so that the
order rows come in never trips a foreign key. The daemons' leases are not copied: they
belong to the daemons of the target.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from aggregator.errors import StorageError
from aggregator.store.sql import SqlStore

BATCH = 2000

# column -> the table's key, for columns that point into their own table (second pass)
_SELF_REFERENCES = {"stories": ("merged_into", "id"), "articles": ("duplicate_of", "id")}


def table_names() -> list[str]:
    """The tables a copy carries, parents before children."""
    from aggregator.store import tables

    return [t.name for t in tables.COPIED]


def counts(store: SqlStore) -> dict[str, int]:
    """Rows per copied table."""
    return {name: int(store._query(f"SELECT count(*) FROM {name}")[0][0]) for name in table_names()}


def copy_store(
    source: SqlStore, target: SqlStore, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every row of ``source`` into the empty store ``target``; rows copied per table."""
    from aggregator.store import tables

    already = {name: n for name, n in counts(target).items() if n}
    if already:
        held = ", ".join(f"{n} {name}" for name, n in already.items())
        raise StorageError(f"{target.where.describe()}: not empty ({held}); copy into a new one")
    copied: dict[str, int] = {}
    with target.atomic() as db:
        for table in tables.COPIED:
            columns = [c.name for c in table.columns]
            later = _SELF_REFERENCES.get(table.name)
            insert = (
                f"INSERT INTO {table.name} ({', '.join(columns)}) "
                f"VALUES ({', '.join(':' + c for c in columns)})"
            )
            links: list[dict[str, object]] = []
            n = 0
            for batch in _batches(source, table.name, columns):
                if later:
                    column, key = later
                    links.extend(
                        {"link": row[column], "key": row[key]} for row in batch if row[column]
                    )
                    batch = [{**row, column: None} for row in batch]
                db.executemany(insert, batch)
                n += len(batch)
                if progress is not None:
                    progress(table.name, n)
            if later and links:
                column, key = later
                db.executemany(
                    f"UPDATE {table.name} SET {column} = :link WHERE {key} = :key", links
                )
            copied[table.name] = n
        target.unindexed()
        if db.pg:
            # the next article, correction or user numbers follow the copied ones
            for name in ("articles", "corrections", "users"):
                db.execute(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"coalesce((SELECT max(id) FROM {name}), 0) + 1, false)"
                )
    return copied


def _batches(source: SqlStore, table: str, columns: list[str]) -> Iterator[list[dict[str, object]]]:
    order = "id" if "id" in columns else ", ".join(columns[:2])
    with source._errors():
        cursor = source._db.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY {order}")
        while rows := cursor.fetchmany(BATCH):
            yield [dict(zip(columns, row, strict=True)) for row in rows]
