"""feeds.yaml as lines: where each feed item sits, and new items that look like their neighbours.

Why splice lines instead of letting ruamel dump the document: ruamel re-emits everything,
and a comment between two list items belongs, to ruamel, to the previous item's last key, so
removing that item would take a section heading like `# --- South Asia ---` with it. Lines
are what the operator sees; an item is its dash line, the lines indented under it, and the
comments indented into it right after. When `feeds:` is not a block list (flow style,
empty, missing) the edit falls back to ruamel's round-trip dump (`dump_edit`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

_PLAIN_TAG = re.compile(r"\w[\w.+-]*(?: [\w.+-]+)*")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


@dataclass(frozen=True)
class NewFeed:
    """A feed about to be written, as the operator (or an OPML file) gave it."""

    url: str
    name: str | None = None
    tags: tuple[str, ...] = ()
    interval: str | None = None
    extract: bool | None = None


def split_lines(text: str) -> list[str]:
    """The lines of `text`, each keeping its own line ending (LF, CRLF or CR)."""
    return _LINE.findall(text)


# --- where the items are -----------------------------------------------------------------


@dataclass(frozen=True)
class Style:
    """How the file writes a list item, so that added items look like their neighbours."""

    dash_col: int = 2  # column of the item's "-"
    key_offset: int = 2  # columns from the "-" to the item's keys
    flow_tags: bool = True  # tags: [a, b]
    tags_offset: int = 2  # block tags: columns from `tags:` to the "-" of each tag


@dataclass(frozen=True)
class Layout:
    spans: list[tuple[int, int]]  # [start, end) line indexes of each item
    style: Style


def feed_layout(root: Any, lines: list[str]) -> Layout | None:
    """Each feed's lines, when `feeds:` is a non-empty block list we can splice; else None."""
    feeds = root.get("feeds") if isinstance(root, CommentedMap) else None
    if not isinstance(feeds, CommentedSeq) or not feeds or feeds.fa.flow_style():
        return None
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
    return Layout(spans, Style(dash_col, key_offsets[0] if key_offsets else 2, flow, offset))


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


# --- new items in the file's lines -------------------------------------------------------


def start_list(root: Any, lines: list[str], entries: list[NewFeed], newline: str) -> str | None:
    """The text with a first list of feeds where there is none: below an empty `feeds:`,
    or at the end of a file without one. None when neither fits."""
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += newline
    if root is None:  # empty, or only comments
        return "".join(lines) + "feeds:" + newline + items_text(entries, Style(), newline)
    if not isinstance(root, CommentedMap) or root.fa.flow_style():
        return None
    if "feeds" not in root:
        if root.lc.col != 0:
            return None
        return "".join(lines) + "feeds:" + newline + items_text(entries, Style(), newline)
    if root["feeds"] is not None:
        return None
    line, col = root.lc.key("feeds")
    if not re.fullmatch(r"feeds:\s*(#.*)?", lines[line].strip()):
        return None  # e.g. `feeds: ~` or `feeds: !!null`; let ruamel rewrite it
    new = items_text(entries, Style(dash_col=col + 2), newline)
    return "".join(lines[: line + 1]) + new + "".join(lines[line + 1 :])


def insert_items(lines: list[str], layout: Layout, entries: list[NewFeed], newline: str) -> str:
    """The text with `entries` after the last item of the list `layout` describes."""
    at = layout.spans[-1][1]
    if not lines[at - 1].endswith(("\n", "\r")):  # the last item ends the file unterminated
        lines[at - 1] += newline
    new = items_text(entries, layout.style, newline)
    return "".join(lines[:at]) + new + "".join(lines[at:])


def append_items(root: CommentedMap, entries: list[NewFeed]) -> None:
    """The entries added to the round-trip tree, for `dump_edit` (e.g. `feeds: [...]`)."""
    feeds = root.get("feeds")
    if not isinstance(feeds, CommentedSeq):
        feeds = CommentedSeq()
        root["feeds"] = feeds
    for entry in entries:
        feeds.append(_item_map(entry, flow_tags=True))


# --- writing YAML for new items ----------------------------------------------------------


def _item_map(entry: NewFeed, *, flow_tags: bool) -> CommentedMap:
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


def items_text(entries: Iterable[NewFeed], style: Style, newline: str) -> str:
    """The new list items' lines, indented like the file's own items."""
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
    return "".join(lines)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.width = 1 << 16  # never fold a long URL or name over two lines
    yaml.preserve_quotes = True
    return yaml


def dump_edit(text: str, newline: str, edit: Callable[[Any], object]) -> str:
    """Fallback: apply `edit` to the round-trip tree and dump the whole document."""
    from ruamel.yaml.util import load_yaml_guess_indent

    root, indent, block_seq_indent = load_yaml_guess_indent(text)
    edit(root)
    yaml = _yaml()
    yaml.indent(mapping=indent, sequence=indent, offset=block_seq_indent or 0)
    buffer = io.StringIO()
    yaml.dump(root, buffer)
    return buffer.getvalue().replace("\n", newline)
