"""`aggregator feeds ...`: list, add and remove feeds; OPML in and out.

Edits change feeds.yaml in place and touch nothing but the lines of the feeds they add or
remove:

    text   = read(path)                            # raw bytes kept: BOM, line endings
    layout = where each item of `feeds:` sits      # ruamel round trip knows every line
    new    = text with those lines inserted/cut    # every other byte stays as it was
    parse_config(new)                              # never write an invalid file
    new config == old config +/- those feeds       # the splice did what it meant to
    write(new)                                     # temp file, fsync, os.replace, same mode

The line work (and why lines, not a ruamel dump) is in `yamltext`; the safe write in `files`;
`feeds check` in `check`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from aggregator.config.files import write_atomic
from aggregator.config.model import (
    Config,
    FeedConfig,
    format_duration,
    load_config,
    parse_config,
    parse_duration,
)
from aggregator.config.opml import OpmlFeed, parse_opml, write_opml
from aggregator.config.yamltext import (
    NewFeed,
    Style,
    append_items,
    dump_edit,
    feed_layout,
    insert_items,
    items_text,
    split_lines,
    start_list,
)
from aggregator.errors import ConfigError
from aggregator.identity.urls import canonical_url, host_of, is_http_url

__all__ = [
    "NEW_FILE_HEADER",
    "add_feed",
    "export_opml",
    "import_opml",
    "list_feeds",
    "remove_feed",
]

log = logging.getLogger(__name__)

NEW_FILE_HEADER = """\
# feeds.yaml — the feeds the aggregator polls (`aggregator run`).
# Created by `aggregator feeds`; edit freely. Each feed: url (required), name, tags (list),
# interval (e.g. 15m), extract (true/false). An optional top-level `settings:` mapping holds
# global defaults; the README lists every key.

feeds:
"""

OPML_TITLE = "newsroom-aggregator feeds"


# --- reading -----------------------------------------------------------------------------


def list_feeds(path: Path) -> list[FeedConfig]:
    """The feeds of the config file at `path`, in file order."""
    return list(load_config(path).feeds)


@dataclass
class _Document:
    path: Path
    raw: bytes | None  # None: the file does not exist yet
    text: str  # decoded, without the BOM
    bom: bool
    newline: str
    root: Any  # ruamel round-trip root; None for a missing, empty or comment-only file
    config: Config | None  # None when the file is missing or invalid
    error: ConfigError | None  # why `config` is None, if the file exists

    @property
    def lines(self) -> list[str]:
        return split_lines(self.text)


def _read(path: Path) -> _Document:
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return _Document(path, None, "", False, "\n", None, None, None)
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", path=str(path)) from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text: {exc.reason}", path=str(path)) from exc
    bom = text.startswith("\ufeff")
    text = text.removeprefix("\ufeff")
    config: Config | None = None
    error: ConfigError | None = None
    try:
        config = parse_config(text, path=path)
    except ConfigError as exc:
        error = exc
    try:
        root = YAML(typ="rt").load(text)
    except Exception:  # not YAML at all: parse_config already said why, with the line
        assert error is not None
        raise error from None
    newline = "\r\n" if "\r\n" in text else "\n"
    return _Document(path, raw, text, bom, newline, root, config, error)


# --- add / remove / import ---------------------------------------------------------------


def add_feed(
    path: Path,
    url: str,
    *,
    name: str | None = None,
    tags: Sequence[str] = (),
    interval: str | None = None,
    extract: bool | None = None,
) -> FeedConfig:
    """Append a feed to the config file (creating the file if needed); return it as loaded.

    ConfigError, with the file left as it was, when the feed is invalid, already listed (by
    canonical URL) or the file itself is invalid.
    """
    entry = NewFeed(url.strip(), _blank_to_none(name), tuple(tags), interval, extract)
    _check_entry(entry)
    doc = _read(path)
    listed = _listed(doc)
    key = canonical_url(entry.url)
    if key in listed:
        line, shown = listed[key]
        raise ConfigError(f"{entry.url} is already listed{shown}", path=str(path), line=line)
    return _add(doc, [entry])[0]


def import_opml(path: Path, opml_bytes: bytes, *, source: str = "OPML") -> list[FeedConfig]:
    """Add every feed of an OPML document that the config file does not list yet.

    Folder titles and `category` paths become tags; our own `agg:` attributes carry interval
    and extract. Outlines whose xmlUrl is not an http(s) URL are skipped with a warning.
    Returns the feeds added (none when all were listed already).
    """
    doc = _read(path)
    listed = _listed(doc)
    entries: list[NewFeed] = []
    for feed in parse_opml(opml_bytes, source=source):
        if not is_http_url(feed.url):
            log.warning("%s:%s: skipped %r: not an http(s) URL", source, feed.line, feed.url)
            continue
        key = canonical_url(feed.url)
        if key in listed:
            continue
        entry = _from_opml(feed)
        try:
            _check_entry(entry)
        except ConfigError as exc:
            raise ConfigError(exc.message, path=source, line=feed.line, key=exc.key) from None
        entries.append(entry)
        listed[key] = (feed.line, "")  # the document may list a feed twice
    return _add(doc, entries) if entries else []


def remove_feed(path: Path, url_or_name: str) -> FeedConfig:
    """Remove the feed with this URL (compared canonically) or exactly this name; return it.

    ConfigError when no feed matches, when several have that name, or when it is the last
    feed (a config file must list at least one).
    """
    doc = _read(path)
    if doc.raw is None:
        raise ConfigError("no such file", path=str(path))
    if doc.config is None:
        assert doc.error is not None
        raise doc.error
    index = _find(doc.config.feeds, url_or_name, str(path))
    removed = doc.config.feeds[index]
    if len(doc.config.feeds) == 1:
        raise ConfigError(
            f"refused: {removed.url} is the only feed, and the file must list at least one",
            path=str(path),
            line=removed.line,
        )
    layout = feed_layout(doc.root, doc.lines)
    if layout is not None:
        lines = doc.lines
        start, end = layout.spans[index]
        new_text = "".join(lines[:start] + lines[end:])
    else:
        new_text = dump_edit(doc.text, doc.newline, lambda root: root["feeds"].pop(index))
    expected = doc.config.feeds[:index] + doc.config.feeds[index + 1 :]
    _commit(doc, new_text, lambda new: _same_feeds(new.feeds, expected))
    return removed


def _find(feeds: Sequence[FeedConfig], url_or_name: str, where: str) -> int:
    wanted = url_or_name.strip()
    if is_http_url(wanted):
        key = canonical_url(wanted)
        for index, feed in enumerate(feeds):
            if canonical_url(feed.url) == key:
                return index
    named = [index for index, feed in enumerate(feeds) if feed.name == wanted]
    if len(named) == 1:
        return named[0]
    if not named:
        raise ConfigError(f"no feed has the URL or name {wanted!r}", path=where)
    urls = ", ".join(feeds[index].url for index in named)
    raise ConfigError(
        f"{len(named)} feeds are named {wanted!r}; remove one by its URL: {urls}", path=where
    )


def _add(doc: _Document, entries: list[NewFeed]) -> list[FeedConfig]:
    """Write `entries` after the last feed; return them as the new file loads them."""
    old = doc.config.feeds if doc.config is not None else ()
    new_text = _text_with(doc, entries)
    new_config = _commit(doc, new_text, lambda new: _appended(new, old, entries))
    return list(new_config.feeds[len(old) :])


def _text_with(doc: _Document, entries: list[NewFeed]) -> str:
    if doc.raw is None:
        return NEW_FILE_HEADER + items_text(entries, Style(), "\n")
    layout = feed_layout(doc.root, doc.lines)
    if layout is not None:
        if doc.error is not None:
            raise doc.error  # the list is there and fine; the problem is elsewhere
        return insert_items(doc.lines, layout, entries, doc.newline)
    started = start_list(doc.root, doc.lines, entries, doc.newline)
    if started is not None:
        return started
    if isinstance(doc.root, CommentedMap):  # e.g. `feeds: [...]`
        return dump_edit(doc.text, doc.newline, lambda root: append_items(root, entries))
    assert doc.error is not None  # a top level that is not a mapping is invalid
    raise doc.error


def _listed(doc: _Document) -> dict[str, tuple[int | None, str]]:
    """Canonical URL -> (line, how to name it) of every feed the file lists."""
    if doc.config is not None:
        return {canonical_url(f.url): (f.line, f" as {f.name!r}") for f in doc.config.feeds}
    # An invalid file still tells which URLs it lists; _add refuses it later if need be.
    feeds = doc.root.get("feeds") if isinstance(doc.root, CommentedMap) else None
    listed: dict[str, tuple[int | None, str]] = {}
    for item in feeds if isinstance(feeds, CommentedSeq) else ():
        url = item.get("url") if isinstance(item, CommentedMap) else item
        if isinstance(url, str) and is_http_url(url):
            listed[canonical_url(url)] = (None, "")
    return listed


def _check_entry(entry: NewFeed) -> None:
    """Refuse a bad feed with a message about the feed itself, before touching the file."""
    if not is_http_url(entry.url):
        raise ConfigError(f"expected an absolute http(s) URL, got {entry.url!r}", key="url")
    if entry.interval is not None:
        try:
            parse_duration(entry.interval)
        except ValueError as exc:
            raise ConfigError(str(exc), key="interval") from None
    for tag in entry.tags:
        if not tag.strip():
            raise ConfigError("a tag must not be empty", key="tags")


def _from_opml(feed: OpmlFeed) -> NewFeed:
    url = feed.url.strip()
    name = _blank_to_none(feed.name)
    # the default name needs no line in feeds.yaml (and an OPML `text` is often the URL)
    if name in (host_of(url), url):
        name = None
    tags = tuple(dict.fromkeys(tag.strip() for tag in feed.tags if tag.strip()))
    return NewFeed(url, name, tags, feed.interval, feed.extract)


def _blank_to_none(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


# --- checking and writing the result -----------------------------------------------------


def _commit(doc: _Document, new_text: str, as_meant: Callable[[Config], bool]) -> Config:
    """Validate `new_text`, check the edit did what it meant, write it; the new config."""
    where = str(doc.path)
    try:
        new = parse_config(new_text, path=doc.path)
    except ConfigError as exc:
        raise ConfigError(
            f"refused: the change would leave the file invalid: {exc.message}",
            path=where,
            key=exc.key,
        ) from exc
    same_settings = doc.config is None or new.settings == doc.config.settings
    if not (same_settings and as_meant(new)):  # a splice gone wrong: a bug, but never write it
        raise ConfigError("refused: could not edit the file safely; edit it by hand", path=where)
    data = ("\ufeff" if doc.bom else "") + new_text
    write_atomic(doc.path, data.encode("utf-8"), expect=doc.raw)
    return new


def _essence(feed: FeedConfig) -> tuple[object, ...]:
    return (feed.url, feed.name, feed.tags, feed.interval, feed.extract)


def _same_feeds(new: Sequence[FeedConfig], expected: Sequence[FeedConfig]) -> bool:
    return [_essence(f) for f in new] == [_essence(f) for f in expected]


def _appended(new: Config, old: Sequence[FeedConfig], added: list[NewFeed]) -> bool:
    wanted = [_essence(_as_loaded(entry, new)) for entry in added]
    return (
        _same_feeds(new.feeds[: len(old)], old)
        and [_essence(f) for f in new.feeds[len(old) :]] == wanted
    )


def _as_loaded(entry: NewFeed, config: Config) -> FeedConfig:
    """The feed `entry` must load as (`_check_entry` has vetted it)."""
    interval = parse_duration(entry.interval) if entry.interval else config.settings.interval
    return FeedConfig(
        url=entry.url,
        name=(entry.name or "").strip(),
        tags=tuple(dict.fromkeys(tag.strip() for tag in entry.tags)),
        interval=interval,
        extract=entry.extract is not False,
    )


# --- OPML --------------------------------------------------------------------------------


def export_opml(config: Config) -> str:
    """The config's feeds as OPML 2.0; import_opml reads it back to the same feeds.

    `agg:interval` is written only for feeds polled at another interval than the config's
    default, `agg:extract` only when false, as feeds.yaml itself would say it.
    """
    default = config.settings.interval
    return write_opml(
        (
            OpmlFeed(
                url=feed.url,
                name=feed.name,
                tags=feed.tags,
                interval=format_duration(feed.interval) if feed.interval != default else None,
                extract=False if not feed.extract else None,
            )
            for feed in config.feeds
        ),
        title=OPML_TITLE,
    )
