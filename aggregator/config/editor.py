"""`aggregator feeds ...`: list, add, remove and check feeds; OPML in and out.

Edits change feeds.yaml in place and touch nothing but the lines of the feeds they add or
remove:

    text   = read(path)                            # raw bytes kept: BOM, line endings
    layout = where each item of `feeds:` sits      # ruamel round trip knows every line
    new    = text with those lines inserted/cut    # every other byte stays as it was
    parse_config(new)                              # never write an invalid file
    new config == old config +/- those feeds       # the splice did what it meant to
    write(new)                                     # temp file, fsync, os.replace, same mode

Why splice lines instead of letting ruamel dump the document: ruamel re-emits everything,
and a comment between two list items belongs, to ruamel, to the previous item's last key, so
removing that item would take a section heading like `# --- South Asia ---` with it. Lines
are what the operator sees; an item is its dash line, the lines indented under it, and the
comments indented into it right after. When `feeds:` is not a block list (flow style,
empty, missing) the edit falls back to ruamel's round-trip dump.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import re
import stat
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, cast

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from aggregator.config.model import (
    Config,
    FeedConfig,
    format_duration,
    load_config,
    parse_config,
    parse_duration,
)
from aggregator.config.opml import OpmlFeed, parse_opml, write_opml
from aggregator.errors import ConfigError, FeedError
from aggregator.identity.urls import canonical_url, host_of, is_http_url
from aggregator.types import FetchResult

__all__ = [
    "NEW_FILE_HEADER",
    "CheckResult",
    "FeedFetcher",
    "add_feed",
    "check_feed",
    "check_feeds",
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

_PLAIN_TAG = re.compile(r"\w[\w.+-]*(?: [\w.+-]+)*")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


# --- reading -----------------------------------------------------------------------------


def list_feeds(path: Path) -> list[FeedConfig]:
    """The feeds of the config file at `path`, in file order."""
    return list(load_config(path).feeds)


@dataclass(frozen=True)
class _NewFeed:
    """A feed about to be written, as the operator (or an OPML file) gave it."""

    url: str
    name: str | None = None
    tags: tuple[str, ...] = ()
    interval: str | None = None
    extract: bool | None = None


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
        return _LINE.findall(self.text)


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
    entry = _NewFeed(url.strip(), _blank_to_none(name), tuple(tags), interval, extract)
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
    entries: list[_NewFeed] = []
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
    layout = _layout(doc)
    if layout is not None:
        lines = doc.lines
        start, end = layout.spans[index]
        new_text = "".join(lines[:start] + lines[end:])
    else:
        new_text = _dump_edit(doc.text, doc.newline, lambda root: root["feeds"].pop(index))
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


def _add(doc: _Document, entries: list[_NewFeed]) -> list[FeedConfig]:
    """Write `entries` after the last feed; return them as the new file loads them."""
    old = doc.config.feeds if doc.config is not None else ()
    new_text = _text_with(doc, entries)
    new_config = _commit(doc, new_text, lambda new: _appended(new, old, entries))
    return list(new_config.feeds[len(old) :])


def _text_with(doc: _Document, entries: list[_NewFeed]) -> str:
    if doc.raw is None:
        return NEW_FILE_HEADER + _joined(entries, _Style(), "\n")
    layout = _layout(doc)
    if layout is not None:
        if doc.error is not None:
            raise doc.error  # the list is there and fine; the problem is elsewhere
        return _insert(doc, layout, entries)
    started = _start_list(doc, entries)
    if started is not None:
        return started
    if isinstance(doc.root, CommentedMap):  # e.g. `feeds: [...]`
        return _dump_edit(doc.text, doc.newline, lambda root: _append_items(root, entries))
    assert doc.error is not None  # a top level that is not a mapping is invalid
    raise doc.error


def _start_list(doc: _Document, entries: list[_NewFeed]) -> str | None:
    """The text with a first list of feeds where there is none: below an empty `feeds:`,
    or at the end of a file without one. None when neither fits."""
    lines = doc.lines
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += doc.newline
    if doc.root is None:  # empty, or only comments
        return "".join(lines) + "feeds:" + doc.newline + _joined(entries, _Style(), doc.newline)
    if not isinstance(doc.root, CommentedMap) or doc.root.fa.flow_style():
        return None
    if "feeds" not in doc.root:
        if doc.root.lc.col != 0:
            return None
        return "".join(lines) + "feeds:" + doc.newline + _joined(entries, _Style(), doc.newline)
    if doc.root["feeds"] is not None:
        return None
    line, col = doc.root.lc.key("feeds")
    if not re.fullmatch(r"feeds:\s*(#.*)?", lines[line].strip()):
        return None  # e.g. `feeds: ~` or `feeds: !!null`; let ruamel rewrite it
    new = _joined(entries, _Style(dash_col=col + 2), doc.newline)
    return "".join(lines[: line + 1]) + new + "".join(lines[line + 1 :])


def _joined(entries: list[_NewFeed], style: _Style, newline: str) -> str:
    return "".join(_items_text(entries, style, newline))


def _insert(doc: _Document, layout: _Layout, entries: list[_NewFeed]) -> str:
    lines = doc.lines
    at = layout.spans[-1][1]
    if not lines[at - 1].endswith(("\n", "\r")):  # the last item ends the file unterminated
        lines[at - 1] += doc.newline
    new = _joined(entries, layout.style, doc.newline)
    return "".join(lines[:at]) + new + "".join(lines[at:])


def _append_items(root: CommentedMap, entries: list[_NewFeed]) -> None:
    feeds = root.get("feeds")
    if not isinstance(feeds, CommentedSeq):
        feeds = CommentedSeq()
        root["feeds"] = feeds
    for entry in entries:
        feeds.append(_item_map(entry, flow_tags=True))


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


def _check_entry(entry: _NewFeed) -> None:
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


def _from_opml(feed: OpmlFeed) -> _NewFeed:
    url = feed.url.strip()
    name = _blank_to_none(feed.name)
    # the default name needs no line in feeds.yaml (and an OPML `text` is often the URL)
    if name in (host_of(url), url):
        name = None
    tags = tuple(dict.fromkeys(tag.strip() for tag in feed.tags if tag.strip()))
    return _NewFeed(url, name, tags, feed.interval, feed.extract)


def _blank_to_none(value: str | None) -> str | None:
    return (value.strip() or None) if value is not None else None


# --- where the items are -----------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    """How the file writes a list item, so that added items look like their neighbours."""

    dash_col: int = 2  # column of the item's "-"
    key_offset: int = 2  # columns from the "-" to the item's keys
    flow_tags: bool = True  # tags: [a, b]
    tags_offset: int = 2  # block tags: columns from `tags:` to the "-" of each tag


@dataclass(frozen=True)
class _Layout:
    spans: list[tuple[int, int]]  # [start, end) line indexes of each item
    style: _Style


def _layout(doc: _Document) -> _Layout | None:
    """Each feed's lines, when `feeds:` is a non-empty block list we can splice; else None."""
    feeds = doc.root.get("feeds") if isinstance(doc.root, CommentedMap) else None
    if not isinstance(feeds, CommentedSeq) or not feeds or feeds.fa.flow_style():
        return None
    lines = doc.lines
    starts: list[int] = []
    dash_cols: set[int] = set()
    key_offsets: list[int] = []
    for index, item in enumerate(feeds):
        line, col = feeds.lc.item(index)
        dash = _dash_col(lines[line] if line < len(lines) else "", col)
        if dash is None:  # "-" on a line of its own, or something stranger
            return None
        starts.append(line)
        dash_cols.add(dash)
        if isinstance(item, CommentedMap):
            key_offsets.append(col - dash)
    if len(dash_cols) != 1 or starts != sorted(set(starts)):
        return None
    dash_col = dash_cols.pop()
    ends = [*starts[1:], len(lines)]
    spans = [
        (start, _item_end(lines, start, dash_col, stop))
        for start, stop in zip(starts, ends, strict=True)
    ]
    flow, offset = _tags_style(feeds)
    return _Layout(spans, _Style(dash_col, key_offsets[0] if key_offsets else 2, flow, offset))


def _dash_col(line: str, col: int) -> int | None:
    before = line[:col].rstrip()
    if not before.endswith("-") or before[:-1].strip():
        return None
    return len(before) - 1


def _item_end(lines: list[str], start: int, dash_col: int, stop: int) -> int:
    """End (exclusive) of the item starting at `start`: its last line indented under the
    dash, then the comments indented into it right after. Blank lines and comments at the
    dash's column or left of it belong to what follows (a section heading, a note)."""
    end = start + 1
    for index in range(start + 1, stop):
        line = lines[index]
        if _is_blank_or_comment(line):
            continue
        if _indent(line) <= dash_col:
            break
        end = index + 1
    while end < stop and lines[end].strip().startswith("#") and _indent(lines[end]) > dash_col:
        end += 1
    return end


def _is_blank_or_comment(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _tags_style(feeds: CommentedSeq) -> tuple[bool, int]:
    """(flow?, block offset) of the first item's tags; flow when no item has tags."""
    for item in feeds:
        tags = item.get("tags") if isinstance(item, CommentedMap) else None
        if not isinstance(tags, CommentedSeq) or not tags:
            continue
        if tags.fa.flow_style():
            return True, 2
        try:
            key_col = item.lc.key("tags")[1]
            dash_col = tags.lc.item(0)[1] - 2  # "- " before the tag
        except KeyError:  # tags merged in from an anchor (`<<: *defaults`): no place here
            continue
        return False, max(0, dash_col - key_col)
    return True, 2


# --- writing YAML for new items ----------------------------------------------------------


def _item_map(entry: _NewFeed, *, flow_tags: bool) -> CommentedMap:
    item = CommentedMap()
    item["url"] = entry.url
    if entry.name:
        item["name"] = _quoted_if_odd(entry.name)
    if entry.tags:
        tags = CommentedSeq(_tag_scalar(tag.strip(), flow_tags) for tag in entry.tags)
        if flow_tags:
            tags.fa.set_flow_style()
        item["tags"] = tags
    if entry.interval is not None:
        item["interval"] = entry.interval.strip()
    if entry.extract is not None:
        item["extract"] = entry.extract
    return item


def _tag_scalar(tag: str, flow: bool) -> str:
    # ruamel writes some strings plainly in flow style that it then cannot read back as
    # strings (`[?0]`); anything beyond words goes double-quoted there.
    if flow and not _PLAIN_TAG.fullmatch(tag):
        return _double_quoted(tag)
    return _quoted_if_odd(tag)


def _quoted_if_odd(text: str) -> str:
    # Control and line-separator characters survive only as escapes in double quotes;
    # left to ruamel, some (NEL, U+2028) come back as spaces or line breaks.
    return text if text.isprintable() else _double_quoted(text)


def _double_quoted(text: str) -> str:
    return cast(str, DoubleQuotedScalarString(text))  # a str that ruamel writes in "..."


def _items_text(entries: Iterable[_NewFeed], style: _Style, newline: str) -> list[str]:
    """Lines of the new list items, indented like the file's own items."""
    yaml = _yaml()
    yaml.indent(mapping=2, sequence=style.tags_offset + 2, offset=style.tags_offset)
    lines: list[str] = []
    for entry in entries:
        buffer = io.StringIO()
        yaml.dump(_item_map(entry, flow_tags=style.flow_tags), buffer)
        dash = " " * style.dash_col + "-" + " " * (style.key_offset - 1)
        under = " " * (style.dash_col + style.key_offset)
        for number, line in enumerate(buffer.getvalue().splitlines()):
            lines.append((dash if number == 0 else under) + line + newline)
    return lines


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 1 << 16  # never fold a long URL or name over two lines
    yaml.preserve_quotes = True
    return yaml


def _dump_edit(text: str, newline: str, edit: Callable[[Any], object]) -> str:
    """Fallback: apply `edit` to the round-trip tree and dump the whole document."""
    from ruamel.yaml.util import load_yaml_guess_indent

    root, indent, block_seq_indent = load_yaml_guess_indent(text)
    edit(root)
    yaml = _yaml()
    yaml.indent(mapping=indent, sequence=indent, offset=block_seq_indent or 0)
    buffer = io.StringIO()
    yaml.dump(root, buffer)
    return buffer.getvalue().replace("\n", newline)


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
    _write_atomic(doc.path, data.encode("utf-8"), expect=doc.raw)
    return new


def _essence(feed: FeedConfig) -> tuple[object, ...]:
    return (feed.url, feed.name, feed.tags, feed.interval, feed.extract)


def _same_feeds(new: Sequence[FeedConfig], expected: Sequence[FeedConfig]) -> bool:
    return [_essence(f) for f in new] == [_essence(f) for f in expected]


def _appended(new: Config, old: Sequence[FeedConfig], added: list[_NewFeed]) -> bool:
    wanted = [_essence(_as_loaded(entry, new)) for entry in added]
    return (
        _same_feeds(new.feeds[: len(old)], old)
        and [_essence(f) for f in new.feeds[len(old) :]] == wanted
    )


def _as_loaded(entry: _NewFeed, config: Config) -> FeedConfig:
    """The feed `entry` must load as (`_check_entry` has vetted it)."""
    interval = parse_duration(entry.interval) if entry.interval else config.settings.interval
    return FeedConfig(
        url=entry.url,
        name=(entry.name or "").strip(),
        tags=tuple(dict.fromkeys(tag.strip() for tag in entry.tags)),
        interval=interval,
        extract=entry.extract is not False,
    )


def _write_atomic(path: Path, data: bytes, *, expect: bytes | None) -> None:
    """Replace the file at `path` (through symlinks) with `data` in one step, keeping its
    permission bits (and owner, when allowed); refuse if it changed since we read `expect`
    (None: it did not exist)."""
    target = Path(os.path.realpath(path))
    try:
        before: os.stat_result | None = target.stat()
    except FileNotFoundError:
        before = None
    mode = stat.S_IMODE(before.st_mode) if before else 0o666 & ~_umask()
    try:
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise ConfigError(f"cannot write: {exc.strerror or exc}", path=str(path)) from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, mode)
        if before is not None:
            # root editing a file the service owns: keep the service's ownership
            with contextlib.suppress(PermissionError):
                os.chown(temp, before.st_uid, before.st_gid)
        _refuse_if_changed(target, expect)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_dir(target.parent)


def _refuse_if_changed(target: Path, expect: bytes | None) -> None:
    try:
        now: bytes | None = target.read_bytes()
    except FileNotFoundError:
        now = None
    if now != expect:
        raise ConfigError("changed by someone else while being edited; try again", path=str(target))


def _umask() -> int:
    # The only way to read the umask is to set it; a CLI command is single-threaded here.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# --- checking a feed ---------------------------------------------------------------------


class FeedFetcher(Protocol):
    """What check_feed needs of aggregator.fetch.fetcher.Fetcher."""

    async def fetch_feed(self, url: str) -> FetchResult: ...


@dataclass(frozen=True)
class CheckResult:
    """What one fetch and parse of a feed found (`aggregator feeds check`)."""

    url: str
    status: int | None = None  # HTTP status, when a response came
    final_url: str | None = None  # after redirects
    moved_to: str | None = None  # where a permanent redirect points: update feeds.yaml
    format: str | None = None  # e.g. "rss20", "atom10", "json11"
    title: str | None = None
    entries: int = 0
    newest: datetime | None = None  # newest entry date (published, else updated)
    error: str | None = None
    error_kind: str | None = None  # "fetch", "parse", "toolarge", ...
    discovered: str | None = None  # the feed an HTML page links to, when given a page
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    def describe(self) -> str:
        """One line for a terminal."""
        if not self.ok:
            text = f"FAIL {self.url}: {self.error}"
            return text + (f" (try {self.discovered})" if self.discovered else "")
        newest = self.newest.strftime("%Y-%m-%d %H:%M UTC") if self.newest else "undated"
        text = (
            f"ok   {self.url}: HTTP {self.status}, {self.format}, {self.entries} entries, "
            f"newest {newest}"
        )
        if self.title:
            text += f", {self.title!r}"
        if self.moved_to:
            text += f"; moved permanently to {self.moved_to}"
        return text


async def check_feed(url: str, fetcher: FeedFetcher) -> CheckResult:
    """Fetch and parse one feed; every failure is reported in the result, none raised."""
    from aggregator.parse.feed import parse_feed

    try:
        fetched = await fetcher.fetch_feed(url)
    except FeedError as exc:
        return CheckResult(url, status=exc.status, error=exc.message, error_kind=exc.kind)
    try:
        parsed = parse_feed(
            fetched.content, url=fetched.final_url, content_type=fetched.content_type
        )
    except FeedError as exc:
        return CheckResult(
            url,
            status=fetched.status,
            final_url=fetched.final_url,
            moved_to=fetched.permanent_redirect,
            error=exc.message,
            error_kind=exc.kind,
            discovered=getattr(exc, "discovered", None),
        )
    dates = [d for entry in parsed.entries if (d := entry.published or entry.updated)]
    return CheckResult(
        url,
        status=fetched.status,
        final_url=fetched.final_url,
        moved_to=fetched.permanent_redirect,
        format=parsed.format,
        title=parsed.title,
        entries=len(parsed.entries),
        newest=max(dates) if dates else None,
        warnings=parsed.warnings,
    )


async def check_feeds(urls: Iterable[str], fetcher: FeedFetcher) -> list[CheckResult]:
    """check_feed for each URL at once (the fetcher limits concurrency), in the given order."""
    return list(await asyncio.gather(*(check_feed(url, fetcher) for url in urls)))


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
