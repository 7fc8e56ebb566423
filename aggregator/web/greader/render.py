"""Items as Google Reader clients read them: JSON (stream/contents, stream/items/contents) and
the Atom stream that newsboat's FeedHQ backend reads (reader/atom/<stream>).

Each item carries its states (reading-list, read, starred), its feed's tags as labels, and
its story as the label ``Story: <title>``, so an app can group an event's coverage. In Atom,
only the states use Google's category scheme: newsboat reads read/unread from that scheme's
labels, so a tag named "read" must not be one of them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape, quoteattr

from aggregator.store.app_reads import AppItem
from aggregator.types import iso_utc
from aggregator.web.greader.params import READING_LIST, STORY_LABEL, long_id
from aggregator.web.safety import safe_url, text

SCHEME = "http://www.google.com/reader/"
# characters XML 1.0 forbids: one in a title would make the whole Atom stream unreadable
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
STATE = "user/-/state/com.google/"
LABEL = "user/-/label/"


def site_url(feed_url: str | None) -> str:
    """The feed's site, as far as the URL tells (the store keeps no site link)."""
    if not feed_url:
        return ""
    parts = urlsplit(feed_url)
    return f"{parts.scheme}://{parts.netloc}/" if parts.scheme and parts.netloc else ""


def usec(when: datetime) -> str:
    return str(int(when.timestamp() * 1_000_000))


def content_html(item: AppItem) -> str:
    """The article's text as escaped paragraphs (stored text is plain)."""
    paragraphs = [p.strip() for p in item.text.split("\n") if p.strip()]
    return "".join(f"<p>{text(p)}</p>" for p in paragraphs)


def states(item: AppItem) -> list[str]:
    found = [STATE + "reading-list"]
    if item.read:
        found.append(STATE + "read")
    if item.starred:
        found.append(STATE + "starred")
    return found


def labels(item: AppItem) -> list[str]:
    found = [LABEL + tag for tag in item.tags]
    if item.story_title:
        found.append(LABEL + STORY_LABEL + item.story_title)
    return found


def item_json(item: AppItem) -> dict[str, Any]:
    seconds = int(item.sort_time.timestamp())
    url = safe_url(item.url)
    body = {"direction": "ltr", "content": content_html(item)}
    return {
        "id": long_id(item.id),
        "crawlTimeMsec": str(int(item.fetched.timestamp() * 1000)),
        "timestampUsec": usec(item.sort_time),
        "published": seconds,
        "updated": seconds,
        "title": item.title,
        "author": item.author or "",
        "canonical": [{"href": url}] if url else [],
        "alternate": [{"href": url, "type": "text/html"}] if url else [],
        "summary": body,
        "content": body,
        "categories": states(item) + labels(item),
        "origin": {
            "streamId": f"feed/{item.feed_url}" if item.feed_url else READING_LIST,
            "title": item.source or "",
            "htmlUrl": site_url(item.feed_url),
        },
        "enclosure": [],
    }


def stream_json(
    stream_id: str, title: str, items: list[AppItem], now: datetime, continuation: str | None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "direction": "ltr",
        "id": stream_id,
        "title": title,
        "updated": int(now.timestamp()),
        "items": [item_json(i) for i in items],
    }
    if continuation:
        doc["continuation"] = continuation
    return doc


def _category(term: str, label: str, *, scheme: bool) -> str:
    extra = f" scheme={quoteattr(SCHEME)}" if scheme else ""
    return f"<category term={quoteattr(term)}{extra} label={quoteattr(label)}/>"


def atom_entry(item: AppItem) -> str:
    url = safe_url(item.url)
    parts = [
        "<entry>",
        f"<id>{escape(long_id(item.id))}</id>",
        *(_category(s, s.rsplit("/", 1)[1], scheme=True) for s in states(item)),
        *(_category(lab, lab[len(LABEL) :], scheme=False) for lab in labels(item)),
        f'<title type="text">{escape(item.title)}</title>',
        f"<published>{iso_utc(item.sort_time)}</published>",
        f"<updated>{iso_utc(item.sort_time)}</updated>",
    ]
    if url:
        parts.append(f'<link rel="alternate" href={quoteattr(url)} type="text/html"/>')
    parts.append(f'<content type="html">{escape(content_html(item))}</content>')
    if item.author:
        parts.append(f"<author><name>{escape(item.author)}</name></author>")
    if item.feed_url:
        parts.append(
            f"<source><id>{escape('tag:google.com,2005:reader/feed/' + item.feed_url)}</id>"
            f"<title>{escape(item.source or item.feed_url)}</title></source>"
        )
    parts.append("</entry>")
    return "".join(parts)


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)


def atom_feed(
    stream_id: str, title: str, items: list[AppItem], now: datetime, continuation: str | None
) -> str:
    head = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:gr="http://www.google.com/schemas/reader/atom/">',
        f"<id>{escape('tag:google.com,2005:reader/' + stream_id)}</id>",
        f'<title type="text">{escape(title)}</title>',
        f"<updated>{iso_utc(now)}</updated>",
    ]
    if continuation:
        head.append(f"<gr:continuation>{escape(continuation)}</gr:continuation>")
    return _xml("".join([*head, *(atom_entry(i) for i in items), "</feed>"]))
