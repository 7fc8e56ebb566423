"""JSON Feed 1.0 / 1.1 (https://jsonfeed.org/version/1.1) -> ParsedFeed.

Real JSON Feeds put numbers where strings belong and lists where objects belong; a field of the
wrong type is treated as absent rather than failing the feed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urljoin

from aggregator.parse.dates import parse_date
from aggregator.parse.text import one_line, to_text
from aggregator.types import ParsedEntry, ParsedFeed

_VERSIONS = {
    "https://jsonfeed.org/version/1": "json10",
    "https://jsonfeed.org/version/1.1": "json11",
}
_VERSION_PREFIX = "https://jsonfeed.org/version/"


class NotJsonFeed(ValueError):
    """The text is not JSON, or JSON that is not a JSON Feed."""


def looks_like_json(text: str, content_type: str) -> bool:
    start = text.lstrip("\ufeff \t\r\n")[:1]
    if start in ("{", "["):
        return True
    return start != "<" and "json" in content_type.lower()


def parse_json_feed(text: str, url: str) -> ParsedFeed:
    try:
        document = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as error:
        raise NotJsonFeed(f"invalid JSON: {error}") from error
    if not isinstance(document, dict):
        raise NotJsonFeed("JSON document is not an object")
    version = _string(document.get("version")) or ""
    items = document.get("items")
    if not version.startswith(_VERSION_PREFIX) and not isinstance(items, list):
        raise NotJsonFeed("JSON document is not a JSON Feed (no version, no items)")
    base = _base(document, url)
    feed_author = _author(document)  # an item without authors has the feed's
    entries = tuple(
        _entry(item, base, feed_author)
        for item in (items if isinstance(items, list) else ())
        if isinstance(item, dict)
    )
    warnings: tuple[str, ...] = ()
    if version not in _VERSIONS:
        warnings = (f"unknown JSON Feed version {version!r}",)
    title = _string(document.get("title"))
    return ParsedFeed(
        title=one_line(to_text(title, "text/plain")) or None if title else None,
        link=_absolute(document.get("home_page_url"), base),
        entries=entries,
        format=_VERSIONS.get(version, "json"),
        warnings=warnings,
    )


def _base(document: Mapping[str, Any], url: str) -> str:
    """Relative item URLs resolve against feed_url, else home_page_url, else the fetch URL."""
    for key in ("feed_url", "home_page_url"):
        value = _string(document.get(key))
        if value:
            return _absolute(value, url) or url
    return url


def _entry(item: Mapping[str, Any], base: str, feed_author: str | None) -> ParsedEntry:
    published = parse_date(item.get("date_published"))
    updated = parse_date(item.get("date_modified"))
    title = _string(item.get("title"), numbers=True)
    html = _string(item.get("content_html"))
    if html:
        content = to_text(html, "text/html")
    else:
        content = to_text(_string(item.get("content_text")), "text/plain")
    return ParsedEntry(
        guid=_string(item.get("id"), numbers=True) or None,
        url=_absolute(item.get("url"), base) or _absolute(item.get("external_url"), base),
        title=one_line(to_text(title, "text/plain")),
        published=published or updated,
        updated=updated,
        summary=to_text(_string(item.get("summary")), "text/plain"),
        content=content,
        author=_author(item) or feed_author,
        image=_image(item, base),
    )


def _string(value: object, *, numbers: bool = False) -> str:
    if isinstance(value, str):
        return value
    if numbers and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _absolute(value: object, base: str) -> str | None:
    text = _string(value).strip()
    if not text:
        return None
    try:
        return urljoin(base, text)
    except ValueError:
        return text


def _author(item: Mapping[str, Any]) -> str | None:
    """First author name of an item or feed: 1.1 "authors", else 1.0 "author"."""
    authors = item.get("authors")
    candidates = list(authors) if isinstance(authors, list) else []
    candidates.append(item.get("author"))  # JSON Feed 1.0
    for author in candidates:
        if isinstance(author, dict):
            name = one_line(to_text(_string(author.get("name")), "text/plain"))
            if name:
                return name
    return None


def _image(item: Mapping[str, Any], base: str) -> str | None:
    for key in ("image", "banner_image"):
        image = _absolute(item.get(key), base)
        if image:
            return image
    attachments = item.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else ():
        if isinstance(attachment, dict) and _string(attachment.get("mime_type")).startswith(
            "image/"
        ):
            image = _absolute(attachment.get("url"), base)
            if image:
                return image
    return None
