"""What the command groups share at run time: logging, where the config and store are, the
pipeline's parts, and writing output (the parser pieces they share are in options.py).

Heavy packages (fetching, extraction, the web server) are imported inside the functions that
need them, so that read-side commands start fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from aggregator.config.model import Config, Settings, load_config
from aggregator.errors import StorageError
from aggregator.store.engine import Location, location
from aggregator.store.sql import SqlStore

if TYPE_CHECKING:
    from aggregator.fetch.fetcher import FetchLimits
    from aggregator.pipeline import Pipeline

log = logging.getLogger("aggregator")

DEFAULT_CONFIG = Path("feeds.yaml")
DEFAULT_STORAGE = Path("storage")


# ---------------------------------------------------------------------- logging
def setup_logging(level: str = "info", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":

        class JsonFormatter(logging.Formatter):
            def format(self, record: logging.LogRecord) -> str:
                return json.dumps(
                    {
                        "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
                        "level": record.levelname.lower(),
                        "logger": record.name,
                        "message": record.getMessage(),
                    },
                    ensure_ascii=False,
                )

        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "trafilatura", "hpack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


# ---------------------------------------------------------------------- config and store
def load_optional_config(path: Path, explicit: bool) -> Config | None:
    """The config, or None when the default path does not exist (read-side commands)."""
    if not explicit and not path.exists():
        return None
    return load_config(path)


def reader_store(args: argparse.Namespace) -> SqlStore:
    """The store, read-only, for the read-side commands (the config only says where it is)."""
    config = load_optional_config(Path(args.config), args.config_given)
    return SqlStore(store_location(args, config), readonly=True)


def writer_store(args: argparse.Namespace) -> SqlStore:
    """The store, for a command that corrects what it holds: it must exist already."""
    config = load_optional_config(Path(args.config), args.config_given)
    where = store_location(args, config)
    if not where.url and not where.path.exists():
        raise StorageError(f"{where.path}: no database here yet (run the aggregator first)")
    if where.url:
        SqlStore(where, readonly=True).close()  # an empty database is not a store yet
    return SqlStore(where)


def store_location(args: argparse.Namespace, config: Config | None) -> Location:
    """Where the store is: --database, settings.database, env AGGREGATOR_DATABASE, else the
    SQLite file in the storage directory."""
    url = getattr(args, "database", None)
    if url is None and config is not None:
        url = config.settings.database
    return location(storage_dir(args, config), url)


def storage_dir(args: argparse.Namespace, config: Config | None) -> Path:
    if args.storage is not None:
        return Path(args.storage)
    if config is not None and config.settings.storage is not None:
        return Path(config.settings.storage)
    return DEFAULT_STORAGE


# ---------------------------------------------------------------------- pipeline
def build_pipeline(
    settings: Settings, store: SqlStore, *, fetching: bool = True, extracting: bool = True
) -> Pipeline:
    """The pipeline's parts; ``extracting=False`` when no feed has its pages extracted (the
    workers then skip trafilatura's import: they only parse feeds)."""
    from aggregator.cluster.clusterer import Clusterer, ClusterSettings
    from aggregator.identity.near import WINDOW as NEAR_WINDOW
    from aggregator.identity.near import NearDuplicates
    from aggregator.pipeline import Pipeline
    from aggregator.pipeline.heap import tune_collector
    from aggregator.pipeline.snapshot import FILE_NAME as SNAPSHOT_FILE

    tune_collector()

    fetcher = extractor = None
    if fetching:
        from aggregator.extract.body import Extractor
        from aggregator.fetch.fetcher import Fetcher, make_client

        limits = fetch_limits(settings)
        fetcher = Fetcher(make_client(limits), limits)
        extractor = Extractor(warm=extracting)
    window = settings.window
    return Pipeline(
        store,
        fetcher,
        extractor,
        Clusterer(ClusterSettings(window=window)),
        NearDuplicates(window=min(window, NEAR_WINDOW)),
        window=window,
        min_interval=settings.min_interval,
        max_interval=settings.max_interval,
        snapshot=store.directory / SNAPSHOT_FILE,
    )


def fetch_limits(settings: Settings) -> FetchLimits:
    from aggregator import USER_AGENT
    from aggregator.fetch.fetcher import FetchLimits

    # connect_timeout and max_redirects keep FetchLimits' defaults
    return FetchLimits(
        timeout=settings.timeout.total_seconds(),
        max_feed_bytes=settings.max_feed_bytes,
        max_page_bytes=settings.max_page_bytes,
        concurrency=settings.concurrency,
        per_host=settings.per_host,
        host_delay=settings.host_delay.total_seconds(),
        user_agent=settings.user_agent or USER_AGENT,
        allow_private=tuple(settings.allow_private),
    )


async def close_pipeline(pipeline: Pipeline) -> None:
    if pipeline.fetcher is not None:
        await pipeline.fetcher.aclose()
    if pipeline.extractor is not None:
        pipeline.extractor.close()


def write_output(text: str, output: str | None, stdout: TextIO) -> None:
    if output and output != "-":
        Path(output).write_text(text, encoding="utf-8")
    else:
        stdout.write(text)
