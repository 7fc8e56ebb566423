"""`aggregator migrate --to postgresql://...`: copy the SQLite store of a storage directory into
a PostgreSQL database, so that several daemons (and readers on other machines) can share it.

The copy is checked before the command says it worked: the same number of rows in every
table, and the same stories (ids, titles, times, sizes, merges) with the same articles.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from aggregator.cli import options
from aggregator.cli.common import load_optional_config, storage_dir
from aggregator.errors import StorageError
from aggregator.store.engine import Location, location

if TYPE_CHECKING:
    from aggregator.cli.options import Commands, Subparsers
    from aggregator.store.sql import SqlStore


def cmd_migrate(args: argparse.Namespace) -> int:
    from aggregator.store.copy import copy_store, counts
    from aggregator.store.sql import SqlStore

    config = load_optional_config(Path(args.config), args.config_given)
    source_at = Location(storage_dir(args, config))
    if not args.to:
        raise StorageError("say where to: --to postgresql://USER@HOST:PORT/DB")
    target_at = location(source_at.directory, args.to)
    if not target_at.url:
        raise StorageError("--to needs a postgresql://USER@HOST:PORT/DB URL")
    with SqlStore(source_at, readonly=True) as source, SqlStore(target_at) as target:
        tty = sys.stderr.isatty()

        def progress(table: str, n: int) -> None:
            if tty:
                sys.stderr.write(f"\r{table}: {n:,} rows")
                sys.stderr.flush()

        copied = copy_store(source, target, progress)
        if tty:
            sys.stderr.write("\r\033[K")
        before, after = counts(source), counts(target)
        if before != after:
            raise StorageError(f"{target_at.describe()}: copy incomplete: {before} != {after}")
        if _stories(source) != _stories(target):
            raise StorageError(f"{target_at.describe()}: the copied stories differ")
    rows = ", ".join(f"{n} {table}" for table, n in copied.items())
    print(f"copied {source_at.path} to {target_at.describe()}: {rows}; counts and stories match")
    print(
        f"use it with `settings.database: {target_at.describe()}` in feeds.yaml, "
        "--database, or AGGREGATOR_DATABASE"
    )
    return 0


def _stories(store: SqlStore) -> list[tuple[object, ...]]:
    """Every story (live or merged) with its articles, for comparing two stores."""
    rows = store._query(
        "SELECT s.id, s.title, s.created, s.first_published, s.last_updated, s.merged_into, "
        "a.key FROM stories s LEFT JOIN articles a ON a.story_id = s.id ORDER BY s.id, a.key"
    )
    return [tuple(r) for r in rows]


def add_parsers(sub: Subparsers) -> None:
    parsers = options.add_commands(sub, COMMANDS)
    parsers["migrate"].add_argument(
        "--to",
        default=None,
        metavar="URL",
        help="the PostgreSQL database to copy into: postgresql://USER@HOST:PORT/DB (empty)",
    )


COMMANDS: Commands = {
    "migrate": (
        cmd_migrate,
        "copy the SQLite store into PostgreSQL",
        "Copy the storage directory's SQLite store (feeds and their HTTP state, articles, "
        "stories, merges, corrections, pages waiting) into an empty PostgreSQL database, "
        "and check that counts and stories match.",
    ),
}
