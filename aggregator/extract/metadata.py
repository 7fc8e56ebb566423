"""What an article page states about itself: title, author, date (UTC), image and language."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urljoin

from aggregator.extract.decode import guarded

if TYPE_CHECKING:
    from lxml.html import HtmlElement


def page_metadata(tree: HtmlElement, url: str) -> dict[str, Any]:
    """Title, author, date (UTC), image (absolute) and language the page states about itself."""
    meta = guarded(lambda: _trafilatura_metadata(tree, url), default=None)
    if meta is None:
        return {"language": _language(tree)}
    return {
        "title": meta.title or None,
        "author": meta.author or None,
        "date": _utc(meta.date),
        "image": urljoin(url, meta.image) if meta.image else None,
        "language": _language(tree),
    }


def _trafilatura_metadata(tree: HtmlElement, url: str) -> Any:
    """trafilatura.extract_metadata's steps for the fields we keep (title, author, date,
    image), in its order and with its rules.

    extract_metadata also looks for categories, tags, a licence and the site name, which we
    do not use: they were half of its time (bench/bench.py, "Extraction cost per page").
    Should trafilatura rename the steps, the whole extract_metadata runs instead.
    """
    try:
        from htmldate import find_date
        from trafilatura.metadata import (
            examine_meta,
            extract_author,
            extract_meta_json,
            extract_title,
            extract_url,
        )
    except ImportError:  # pragma: no cover - a trafilatura release that moved them
        from trafilatura import extract_metadata

        return extract_metadata(tree, url or None, dict(_DATE_OPTIONS))
    metadata = examine_meta(tree)
    if metadata.author and " " not in metadata.author:
        metadata.author = None
    with contextlib.suppress(Exception):  # trafilatura guards its JSON-LD reader the same way
        metadata = extract_meta_json(tree, metadata)
    if not metadata.title:
        metadata.title = extract_title(tree)
    if not metadata.author:
        metadata.author = extract_author(tree)
    if not metadata.url:
        metadata.url = extract_url(tree, url or None)
    metadata.date = find_date(tree, url=metadata.url, **_DATE_OPTIONS)
    metadata.clean_and_trim()
    return metadata


_DATE_FORMAT = "%Y-%m-%dT%H:%M:%S%z"


class _DateOptions(TypedDict):
    original_date: bool
    extensive_search: bool
    outputformat: str


# htmldate's options, for find_date and for extract_metadata (the fallback) alike
_DATE_OPTIONS: _DateOptions = {
    "original_date": True,  # the publication date, not the last update
    "extensive_search": False,  # guessing from free text is slow and often wrong
    "outputformat": _DATE_FORMAT,
}


def _utc(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.strptime(value, _DATE_FORMAT)
    except ValueError:
        try:
            parsed = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return None
    # a date without a zone is taken as UTC: the best guess that stays comparable
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _language(tree: HtmlElement) -> str | None:
    """Primary language subtag the page declares (<html lang>, then meta), e.g. "en"."""
    candidates = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    for meta in tree.iter("meta"):
        key = (meta.get("http-equiv") or meta.get("property") or meta.get("name") or "").lower()
        if key in ("content-language", "og:locale", "language"):
            candidates.append(meta.get("content"))
    for value in candidates:
        match = re.match(r"\s*([A-Za-z]{2,3})(?:[-_]|\s*$|,)", value or "")
        if match:
            return match.group(1).lower()
    return None
