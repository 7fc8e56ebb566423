"""feeds.yaml's text -> a validated `Config`: ruamel reads it, pydantic checks it (see
model.py's docstring for the steps). Imported only when a file must be read afresh: a start
whose feeds.yaml the config cache (cache.py) already holds never loads ruamel or pydantic.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, ReusedAnchorWarning
from ruamel.yaml.main import CParser

from aggregator.config.model import Config, FeedConfig, HttpSettings, Settings
from aggregator.config.validate import (
    Problem,
    RawConfig,
    RawSettings,
    config_error,
    cross_checks,
    describe,
    duplicate_urls,
    line_of,
    node_line,
    plain,
)
from aggregator.errors import ConfigError
from aggregator.identity.urls import host_of


def read_config(text: str, *, path: Path | None = None) -> Config:
    """Validate feeds.yaml `text`; `path` names the file in errors and anchors `storage`."""
    where = str(path) if path is not None else ""
    root = _load_yaml(text, where)
    if root is None:
        raise ConfigError("the file is empty; expected a `feeds:` list", path=where)
    if not isinstance(root, CommentedMap):
        raise ConfigError(
            "expected a mapping with a `feeds:` list at the top level",
            path=where,
            line=node_line(root),
        )
    data = plain(root, {})
    problems: list[Problem] = list(duplicate_urls(root))
    raw: RawConfig | None = None
    try:
        raw = RawConfig.model_validate(data)
    except ValidationError as exc:
        problems += [describe(error, root) for error in exc.errors()]
    if raw is not None and not problems:
        problems += cross_checks(raw, root)
    if problems:
        raise config_error(problems, where)
    assert raw is not None
    return _build(raw, root, path)


class _LinesConstructor(RoundTripConstructor):  # type: ignore[misc]
    """The round-trip constructor (mappings that know their lines) on nodes from ruamel's C
    parser, which keeps no comments (validating needs none); it asks its loader this."""

    comment_handling = None


_NOT_READ = object()


def _fast_load(text: str) -> Any:
    """The document read by ruamel's C parser, or _NOT_READ when that is not installed or
    the text trips it (the pure-Python loader then reads it and words the error). Same
    YAML 1.2 reading, same line numbers, ~6x faster: 1.5 s instead of 9 s for 10,000 feeds,
    at every start and reload."""
    if CParser is None:  # ruamel.yaml.clib not installed: YAML() would be pure Python
        return _NOT_READ
    yaml = YAML(typ="safe", pure=False)
    yaml.Constructor = _LinesConstructor
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReusedAnchorWarning)
            return yaml.load(text)
    except Exception:  # the pure loader gives the error its words and its line
        return _NOT_READ


def _load_yaml(text: str, where: str) -> Any:
    root = _fast_load(text)
    if root is not _NOT_READ:
        return root
    yaml = YAML(typ="rt")
    try:
        # Reusing an anchor name is legal YAML (the later one wins); no need to warn.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReusedAnchorWarning)
            return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        message = " ".join(str(p) for p in (exc.context, exc.problem) if p) or "invalid YAML"
        if "\\t" in message or "\t" in message:
            message += " (indent with spaces: YAML does not allow tabs there)"
        raise ConfigError(f"invalid YAML: {message}", path=where, line=line) from exc
    # The parser is third-party code reading untrusted text: whatever it trips over, the
    # text is not YAML we can read, which is the user's problem to fix, not a crash.
    except Exception as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=where) from exc


# --- plain records -------------------------------------------------------------------------


def _build(raw: RawConfig, root: CommentedMap, path: Path | None) -> Config:
    settings = _build_settings(raw.settings, path)
    feeds = tuple(
        FeedConfig(
            url=feed.url,
            name=feed.name or host_of(feed.url),
            tags=tuple(dict.fromkeys(feed.tags)),  # drop repeats, keep order
            interval=feed.interval or settings.interval,
            extract=feed.extract,
            line=line_of(root, ("feeds", index)),
        )
        for index, feed in enumerate(raw.feeds)
    )
    return Config(path=path, feeds=feeds, settings=settings)


def _build_settings(raw: RawSettings, path: Path | None) -> Settings:
    return Settings(
        storage=_storage_path(raw.storage, path),
        database=raw.database,
        interval=raw.interval,
        min_interval=raw.min_interval,
        max_interval=raw.max_interval,
        jitter=raw.jitter,
        concurrency=raw.concurrency,
        per_host=raw.per_host,
        host_delay=raw.host_delay,
        timeout=raw.timeout,
        max_feed_bytes=raw.max_feed_bytes,
        max_page_bytes=raw.max_page_bytes,
        user_agent=raw.user_agent,
        allow_private=tuple(raw.allow_private),
        window=raw.window,
        retention=raw.retention,
        http=HttpSettings(
            host=raw.http.host,
            port=raw.http.port,
            enabled=raw.http.enabled,
            public=raw.http.public,
            trusted_proxies=tuple(raw.http.trusted_proxies),
        ),
        log_format=raw.log_format,
        log_level=raw.log_level,
    )


def _storage_path(value: str | None, config_path: Path | None) -> Path | None:
    """`storage` as written, made absolute against the config file's directory."""
    if value is None or not value.strip():
        return None
    storage = Path(value.strip())
    # "~user" for a user that does not exist: keep it literal
    with contextlib.suppress(RuntimeError):
        storage = storage.expanduser()
    if storage.is_absolute() or config_path is None:
        return storage
    return Path(config_path).absolute().parent / storage
