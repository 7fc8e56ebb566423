"""The name the store had when it was SQLite only, kept for scripts and benches that use it:
``SqliteStore(directory)`` is :class:`~aggregator.store.sql.SqlStore` on the SQLite file."""

from __future__ import annotations

from aggregator.store.engine import DB_NAME
from aggregator.store.sql import SqlStore as SqliteStore

__all__ = ["DB_NAME", "SqliteStore"]
