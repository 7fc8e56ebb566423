"""OPML 1.0 / 2.0 subscription lists: read them safely, write them losslessly.

    parse_opml(data)  -> [OpmlFeed]   every outline with an xmlUrl, in document order; the
                                      titles of the folders (outlines without xmlUrl) it sits
                                      in and its `category` paths become tags
    write_opml(feeds) -> str          a flat OPML 2.0 document

What feeds.yaml holds beyond what OPML says itself travels in attributes of our own
namespace (AGG_NS, prefix `agg`), which other readers ignore:

    <outline type="rss" text="Dawn" title="Dawn" xmlUrl="https://www.dawn.com/feeds/home"
             category="/south-asia,/en" agg:interval="15m" agg:extract="false"/>

Tags go in `category` as OPML 2.0 specifies ("/tag" paths, comma separated). A tag that a
category path cannot carry exactly (one holding "," or "/") makes the writer add
`agg:tags` (a JSON list), which the reader prefers to `category`.

Safety: OPML comes from other programs and other people. The parser never loads a DTD, never
touches the network, does not expand entities, and refuses documents that declare entities
at all (billion laughs, external entities) instead of trying to parse around them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from lxml import etree

from aggregator.errors import ConfigError

__all__ = ["AGG_NS", "OpmlError", "OpmlFeed", "parse_opml", "write_opml"]

# A name, not a document: it identifies our attributes and must never change.
AGG_NS = "https://github.com/newsroom-aggregator/aggregator/opml-ext"
_AGG = f"{{{AGG_NS}}}"

# XML 1.0 cannot carry these characters at all, not even as character references.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# A reference to anything but the five predefined entities or a character number.
_ENTITY_REF = re.compile(r"&(?!(?:lt|gt|amp|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);)[A-Za-z_:]")


class OpmlError(ConfigError):
    """The OPML document cannot be read (or is refused as unsafe)."""


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    name: str | None = None  # `text` (or `title`) of the outline
    tags: tuple[str, ...] = ()
    interval: str | None = None  # as written in agg:interval, e.g. "15m"
    extract: bool | None = None  # agg:extract; None when not given
    line: int | None = None  # where the outline is in the OPML document


# --- reading -----------------------------------------------------------------------------


def parse_opml(data: bytes, *, source: str = "") -> list[OpmlFeed]:
    """The feeds an OPML document lists; OpmlError if it is not OPML or not safe to read."""
    root = _parse_xml(data, source)
    if _local(root.tag).lower() != "opml":
        raise OpmlError(
            f"not OPML: the root element is <{_local(root.tag)}>", path=source, line=root.sourceline
        )
    body = next((child for child in root if _local(child.tag).lower() == "body"), None)
    if body is None:
        raise OpmlError("not OPML: no <body> element", path=source, line=root.sourceline)
    return [feed for feed in _walk(body, (), source)]


def _parse_xml(data: bytes, source: str) -> etree._Element:
    # First line of defence, before any parser sees the bytes; _refuse_entities is the second.
    text = _as_text(data)
    if "<!ENTITY" in text:
        raise OpmlError("refused: the document declares XML entities", path=source)
    if _ENTITY_REF.search(text):
        raise OpmlError("refused: the document references XML entities", path=source)
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        if "entity" in str(exc.msg).lower():
            raise OpmlError(
                "refused: the document uses XML entities", path=source, line=line
            ) from exc
        raise OpmlError(f"not well-formed XML: {exc.msg}", path=source, line=line) from exc
    if root is None:  # lxml returns None for a document with nothing in it
        raise OpmlError("empty document", path=source)
    _refuse_entities(root, source)
    return root


def _as_text(data: bytes) -> str:
    """Good enough to look for ASCII markup: UTF-16 by its BOM, anything else byte by byte
    (UTF-8 and the legacy 8-bit encodings agree with ASCII on `<!&;`)."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return data.decode("utf-16", errors="replace")
    return data.decode("latin-1")


def _refuse_entities(root: etree._Element, source: str) -> None:
    docinfo = root.getroottree().docinfo
    for dtd in (docinfo.internalDTD, docinfo.externalDTD):
        if dtd is not None and any(True for _ in dtd.iterentities()):
            raise OpmlError("refused: the document declares XML entities", path=source)
    # With resolve_entities=False an undeclared-but-referenced entity survives as a node; it
    # can only come from a declaration we refuse above or a DTD we never load.
    if any(True for _ in root.iter(etree.Entity)):
        raise OpmlError("refused: the document references XML entities", path=source)


def _walk(node: etree._Element, folders: tuple[str, ...], source: str) -> Iterator[OpmlFeed]:
    for outline in node:
        if not isinstance(outline.tag, str) or _local(outline.tag).lower() != "outline":
            continue
        attrs = _attributes(outline)
        url = attrs.get("xmlurl", "").strip()
        if url:
            yield _feed(outline, attrs, url, folders, source)
        # A folder's title is a tag of every feed inside it; a feed outline with children
        # (rare, but some readers nest) passes its folders on unchanged.
        title = _title(attrs)
        inner = folders if url or not title else (*folders, title)
        yield from _walk(outline, inner, source)


def _attributes(outline: etree._Element) -> dict[str, str]:
    """Plain attributes by lowercased name (generators disagree on `xmlUrl` vs `xmlurl`);
    ours by `agg:` + name."""
    result: dict[str, str] = {}
    for name, value in outline.attrib.items():
        key = str(name)
        if key.startswith(_AGG):
            result["agg:" + key[len(_AGG) :]] = str(value)
        elif not key.startswith("{"):
            result[key.lower()] = str(value)
    return result


def _title(attrs: dict[str, str]) -> str:
    return (attrs.get("text") or "").strip() or (attrs.get("title") or "").strip()


def _feed(
    outline: etree._Element,
    attrs: dict[str, str],
    url: str,
    folders: tuple[str, ...],
    source: str,
) -> OpmlFeed:
    line = outline.sourceline
    if "agg:tags" in attrs:
        own = _json_tags(attrs["agg:tags"], source, line)
    else:
        own = _category_tags(attrs.get("category", ""))
    interval = attrs.get("agg:interval", "").strip() or None
    return OpmlFeed(
        url=url,
        name=_title(attrs) or None,
        tags=tuple(dict.fromkeys(tag for tag in (*folders, *own) if tag)),
        interval=interval,
        extract=_extract(attrs.get("agg:extract"), source, line),
        line=line,
    )


def _category_tags(value: str) -> list[str]:
    """OPML 2.0 `category`: comma-separated; "/a/b" is a path, each step a tag; a value
    without a slash (common in the wild) is a tag as is."""
    tags: list[str] = []
    for item in value.split(","):
        tags.extend(step.strip() for step in item.split("/") if step.strip())
    return tags


def _json_tags(value: str, source: str, line: int | None) -> list[str]:
    try:
        tags = json.loads(value)
    except ValueError:
        tags = None
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise OpmlError("agg:tags: expected a JSON list of strings", path=source, line=line)
    return [tag.strip() for tag in tags]


def _extract(value: str | None, source: str, line: int | None) -> bool | None:
    if value is None:
        return None
    text = value.strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise OpmlError(
        f'agg:extract: expected "true" or "false", got {value!r}', path=source, line=line
    )


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


# --- writing -----------------------------------------------------------------------------


def write_opml(feeds: Iterable[OpmlFeed], *, title: str = "Feeds") -> str:
    """A flat OPML 2.0 document listing `feeds`, in order; deterministic (no dates), so the
    same feeds always give the same text."""
    root = etree.Element("opml", nsmap={"agg": AGG_NS})
    root.set("version", "2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = _xml_text(title)
    body = etree.SubElement(root, "body")
    for feed in feeds:
        _outline(body, feed)
    etree.indent(root, space="  ")
    text = etree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{text}\n'


def _outline(body: etree._Element, feed: OpmlFeed) -> None:
    outline = etree.SubElement(body, "outline")
    name = _xml_text(feed.name or feed.url)
    outline.set("type", "rss")
    outline.set("text", name)
    outline.set("title", name)
    outline.set("xmlUrl", _xml_text(feed.url))
    tags = [_xml_text(tag) for tag in feed.tags]
    paths = [f"/{tag}" for tag in tags if _fits_category(tag)]
    if paths:
        outline.set("category", ",".join(paths))
    if len(paths) < len(tags):
        outline.set(_AGG + "tags", json.dumps(tags, ensure_ascii=False))
    if feed.interval is not None:
        outline.set(_AGG + "interval", feed.interval)
    if feed.extract is not None:
        outline.set(_AGG + "extract", "true" if feed.extract else "false")


def _fits_category(tag: str) -> bool:
    return bool(tag) and tag == tag.strip() and "," not in tag and "/" not in tag


def _xml_text(value: str) -> str:
    # feeds.yaml may hold characters XML cannot; dropping them beats writing nothing
    return _NOT_XML.sub("", value)
