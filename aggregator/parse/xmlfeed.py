"""RSS 0.9x / 1.0 (RDF) / 2.0 and Atom 0.3 / 1.0 through feedparser -> ParsedFeed."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from aggregator.parse.dates import from_struct, parse_odd_date
from aggregator.parse.text import one_line, to_text
from aggregator.types import ParsedEntry, ParsedFeed

# Seconds per sy:updatePeriod (RSS syndication module).
_SY_PERIODS = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 7 * 86400,
    "monthly": 30 * 86400,
    "yearly": 365 * 86400,
}
_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif", ".svg")


def run_feedparser(data: bytes, url: str) -> Any:
    """One feedparser pass over UTF-8 XML; never lets feedparser touch the network or disk.

    A file object is passed on purpose: given bytes or str, feedparser first tries them as a
    URL to fetch and as a file name to open.
    """
    return feedparser.parse(
        io.BytesIO(data),
        response_headers={
            "content-type": "application/xml; charset=utf-8",
            "content-location": url,  # the base for relative links without xml:base
        },
        # we turn markup into plain text ourselves: sanitising and rewriting links inside
        # content would cost a third of the parse time for nothing
        sanitize_html=False,
        resolve_relative_uris=False,
    )


def convert(result: Any, url: str, *, netscape: bool, notes: list[str]) -> ParsedFeed:
    """feedparser's result -> ParsedFeed; consumes ``result.entries`` to bound peak memory."""
    feed = result["feed"]
    entries = result["entries"]
    version = result.get("version") or ""
    # Atom entries without an author have the feed's; RSS's channel "author" is an editor
    feed_author = _author(feed) if version.startswith("atom") else None
    entries.reverse()
    converted: list[ParsedEntry] = []
    while entries:  # pop as we go so a 50,000-entry feed is not held twice
        converted.append(_entry(entries.pop(), url, feed_author))
    if netscape and version == "rss091u":
        version = "rss091n"
    warnings = list(notes)
    if result.get("bozo"):
        warnings.append(f"not well-formed: {result.get('bozo_exception')}")
    return ParsedFeed(
        title=one_line(_detail_text(feed, "title")) or None,
        link=_absolute(_get(feed, "link"), url),
        entries=tuple(converted),
        format=version or "unknown",
        ttl_seconds=_ttl_seconds(feed),
        warnings=tuple(warnings),
    )


def _entry(entry: dict[str, Any], url: str, feed_author: str | None) -> ParsedEntry:
    published = _date(entry, "published") or _date(entry, "created")
    updated = _date(entry, "updated")
    return ParsedEntry(
        guid=_get(entry, "id") or None,
        url=_absolute(_get(entry, "link"), url),
        title=one_line(_detail_text(entry, "title")),
        # Atom requires only <updated> and RSS dc:date lands there too: it is the best
        # publication time such entries have
        published=published or updated,
        updated=updated,
        summary=_summary_text(entry),
        content=_content_text(entry),
        author=_author(entry) or feed_author,
        image=_image(entry, url),
    )


def _get(item: dict[str, Any], key: str) -> Any:
    """The value feedparser stored, bypassing FeedParserDict's aliases.

    Its ``updated_parsed`` silently falls back to ``published_parsed`` (with a warning): an
    entry that gives no update time must not get one.
    """
    return dict.get(item, key)


def _detail_text(item: dict[str, Any], key: str) -> str:
    value = _get(item, key)
    if not value or not isinstance(value, str):
        return ""
    detail = _get(item, f"{key}_detail") or {}
    return to_text(value, detail.get("type") or "text/html")


def _date(entry: dict[str, Any], key: str) -> datetime | None:
    parsed = from_struct(_get(entry, f"{key}_parsed"))
    if parsed is None and isinstance(_get(entry, key), str):
        return parse_odd_date(_get(entry, key).strip())  # a date feedparser could not read
    return parsed


def _summary_text(entry: dict[str, Any]) -> str:
    value = _get(entry, "summary")
    if _get(entry, "summary_detail") is None and isinstance(value, str):
        # feedparser copies an Atom entry's only <content> into "summary" without its type
        for content in _get(entry, "content") or ():
            if content.get("value") == value:
                return to_text(value, content.get("type") or "text/html")
    return _detail_text(entry, "summary")


def _content_text(entry: dict[str, Any]) -> str:
    contents = [c for c in _get(entry, "content") or () if c.get("value")]
    if not contents:
        return ""
    # Atom may carry several alternatives; the HTML one is usually the full article
    best = next((c for c in contents if "html" in (c.get("type") or "")), contents[0])
    return to_text(best["value"], best.get("type") or "text/html")


def _author(entry: dict[str, Any]) -> str | None:
    detail = _get(entry, "author_detail") or {}
    name = detail.get("name") or _get(entry, "author")
    if not name or not isinstance(name, str):
        return None
    return one_line(to_text(name, "text/plain")) or None


def _absolute(link: object, base: str) -> str | None:
    if not link or not isinstance(link, str):
        return None
    link = link.strip()
    try:
        return urljoin(base, link) if base else link
    except ValueError:  # e.g. an invalid IPv6 literal
        return link


def _image(entry: dict[str, Any], base: str) -> str | None:
    for thumbnail in _get(entry, "media_thumbnail") or ():
        if thumbnail.get("url"):
            return _absolute(thumbnail["url"], base)
    for media in _get(entry, "media_content") or ():
        if media.get("url") and _is_image(media.get("medium"), media.get("type"), media["url"]):
            return _absolute(media["url"], base)
    for link in _get(entry, "links") or ():  # enclosures are links with rel="enclosure"
        href = link.get("href")
        if link.get("rel") == "enclosure" and href and _is_image(None, link.get("type"), href):
            return _absolute(href, base)
    image = _get(entry, "image")  # itunes:image
    if isinstance(image, Mapping) and image.get("href"):
        return _absolute(image["href"], base)
    return None


def _is_image(medium: object, mime: object, url: str) -> bool:
    if medium == "image" or (isinstance(mime, str) and mime.lower().startswith("image/")):
        return True
    if medium or mime:
        return False
    return url.lower().split("?", 1)[0].endswith(_IMAGE_SUFFIXES)


def _ttl_seconds(feed: dict[str, Any]) -> int | None:
    minutes = _positive_number(_get(feed, "ttl"))
    if minutes is not None:
        return int(minutes * 60)
    period = _SY_PERIODS.get(str(_get(feed, "sy_updateperiod") or "").strip().lower())
    if period is None:
        return None
    frequency = _positive_number(_get(feed, "sy_updatefrequency")) or 1
    return max(1, int(period / frequency))


def _positive_number(value: object) -> float | None:
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if 0 < number < 1e9 else None
