"""feeds.yaml -> a frozen `Config`, validated once, here at the edge.

    text --ruamel (round trip)--> nodes that know their line numbers
         --plain()--------------> dicts, lists and scalars
         --pydantic (Raw*)------> checked values, or errors with a location tuple
         --_build()-------------> frozen dataclasses the rest of the program uses

Every problem found is reported in one `ConfigError` whose text has one line per problem, in
the form ``feeds.yaml:14: feeds[3].interval: expected a duration like "15m"`` (list indexes
count from 0). The error's own ``path``/``line``/``key`` fields describe the first problem.

The pydantic models (in `validate`) describe the file; the dataclasses here describe what the
program needs (absolute storage path, timedeltas, byte counts, defaults filled in). The reading
itself is in `reading` (imported when needed); `load_config` takes a file that was validated
before, unchanged, from the config cache (`cache`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from aggregator.config import cache
from aggregator.config.durations import format_duration, parse_duration, parse_size
from aggregator.errors import ConfigError
from aggregator.identity.urls import host_of

__all__ = [
    "Config",
    "ConfigError",
    "FeedChanges",
    "FeedConfig",
    "HttpSettings",
    "Settings",
    "diff_feeds",
    "format_duration",
    "load_config",
    "parse_config",
    "parse_duration",
    "parse_size",
]


# --- the records the program uses ---------------------------------------------------------


@dataclass(frozen=True)
class FeedConfig:
    url: str  # as written in feeds.yaml (stripped); fetched as is
    name: str = ""  # "" -> the URL's host
    tags: tuple[str, ...] = ()
    interval: timedelta = timedelta(minutes=30)
    extract: bool = True  # fetch article pages and extract their bodies
    line: int | None = None  # where the feed is listed in feeds.yaml

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", host_of(self.url) or self.url)


@dataclass(frozen=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    enabled: bool = True
    public: bool = True  # False: every page, the API and the feeds need a reader's login
    # reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses, CIDRs)
    trusted_proxies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    storage: Path | None = None  # None: the CLI's default (./storage)
    database: str | None = None  # postgresql://...; None: SQLite in the storage directory
    interval: timedelta = timedelta(minutes=30)  # default poll interval of a feed
    min_interval: timedelta = timedelta(minutes=5)  # bounds for adaptive polling
    max_interval: timedelta = timedelta(days=1)
    jitter: float | timedelta = 0.1  # fraction of the interval, or a fixed duration
    concurrency: int = 16  # concurrent requests in total
    per_host: int = 2  # concurrent requests to one host
    host_delay: timedelta = timedelta(seconds=1)  # spacing between requests to one host
    timeout: timedelta = timedelta(seconds=20)  # total deadline of one request
    max_feed_bytes: int = 10_000_000
    max_page_bytes: int = 5_000_000
    user_agent: str | None = None  # None: the project's default (aggregator.USER_AGENT)
    allow_private: tuple[str, ...] = ()  # hosts / CIDRs exempt from the private-address guard
    window: timedelta = timedelta(days=7)  # clustering time window
    retention: timedelta | None = None  # None keeps everything
    http: HttpSettings = field(default_factory=HttpSettings)
    log_format: str = "text"  # "text" | "json"
    log_level: str = "info"  # "debug" | "info" | "warning" | "error" | "critical"


@dataclass(frozen=True)
class Config:
    path: Path | None
    feeds: tuple[FeedConfig, ...]
    settings: Settings = field(default_factory=Settings)


@dataclass(frozen=True)
class FeedChanges:
    """What a reload changed, keyed by feed URL (for rescheduling)."""

    added: tuple[FeedConfig, ...]
    removed: tuple[FeedConfig, ...]
    changed: tuple[FeedConfig, ...]  # the new version of each feed whose settings changed


def diff_feeds(old: Config, new: Config) -> FeedChanges:
    """Feeds added, removed and changed between two configs (`line` changes are ignored)."""
    before = {feed.url: feed for feed in old.feeds}
    after = {feed.url: feed for feed in new.feeds}

    def same(a: FeedConfig, b: FeedConfig) -> bool:
        return (a.name, a.tags, a.interval, a.extract) == (b.name, b.tags, b.interval, b.extract)

    return FeedChanges(
        added=tuple(f for url, f in after.items() if url not in before),
        removed=tuple(f for url, f in before.items() if url not in after),
        changed=tuple(f for url, f in after.items() if url in before and not same(before[url], f)),
    )


# --- loading -----------------------------------------------------------------------------


def load_config(path: Path) -> Config:
    """Read and validate the config file at `path`: from the config cache when this file, as
    it is now, was validated before (cache.py: a start then skips ruamel and pydantic)."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file: {exc.strerror or exc}", path=str(path)
        ) from exc
    key = cache.key(Path(path), data)
    cached = cache.get(key)
    if isinstance(cached, Config):
        return cached
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason}", path=str(path)) from exc
    config = parse_config(text, path=Path(path))
    cache.put(key, config)
    return config


def parse_config(text: str, *, path: Path | None = None) -> Config:
    """Validate feeds.yaml `text`; `path` names the file in errors and anchors `storage`."""
    from aggregator.config.reading import read_config

    return read_config(text, path=path)
