"""The demo site's sample news: its outlets and articles, loaded from ``site_data/outlets``.

The news was written for this project: fictional outlets, fictional-but-plausible reports of
~15 events over two days. One outlet republishes wire copy verbatim under its own URL, two
pairs of events are deliberately alike (two earthquakes, two central bank rate cuts), and
every article is labelled with the event it reports (the label is never served).

Publication times are stored on a fixed reference timeline and shifted so that the newest
article is a few minutes older than ``now``: the demo always looks fresh, while the spread and
order of the coverage are preserved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

__all__ = ["DemoArticle", "Outlet", "data_dir", "load_articles"]

# The newest sample article appears this long before `now`.
_NEWEST_AGE = timedelta(minutes=7)


@dataclass(frozen=True)
class Outlet:
    slug: str
    name: str
    city: str
    region: str
    language: str
    tagline: str
    layout: str  # a file name in site_data/layouts/, without ".html"
    feed_format: str  # rss20 | rss10 | atom10 | json11 (see render.FEEDS)
    full_content: bool  # whether the feed carries whole article bodies
    tracking: str  # query string appended to the links in the feed ("" for none)

    @property
    def feed_path(self) -> str:
        ext = "json" if self.feed_format == "json11" else "xml"
        return f"/{self.slug}/feed.{ext}"


@dataclass(frozen=True)
class DemoArticle:
    outlet: Outlet
    slug: str
    event: str  # label of the event the article reports; never served
    published: datetime  # UTC, already shifted relative to `now`
    title: str
    summary: str
    author: str
    section: str
    paragraphs: tuple[str, ...]
    credit: str = ""  # e.g. "Source: Meridian Wire" on republished copy
    copy_of: str | None = None  # "outlet/slug" of the article this one republishes

    @property
    def key(self) -> str:
        return f"{self.outlet.slug}/{self.slug}"

    @property
    def path(self) -> str:
        return f"/{self.outlet.slug}/{self.slug}.html"


def data_dir() -> Any:
    """The bundled ``site_data`` folder (outlets and page layouts)."""
    return resources.files("aggregator.demo") / "site_data"


def load_articles(
    now: datetime | None = None,
) -> tuple[tuple[Outlet, ...], tuple[DemoArticle, ...]]:
    """Return ``(outlets, articles)``: the bundled sample news with times shifted to ``now``.

    Articles are sorted oldest first. Republished copies get the original's body verbatim.
    """
    files = _read_outlet_files()
    raws = {f"{f['outlet']['slug']}/{a['slug']}": a for f in files for a in f["articles"]}
    newest = max(_parse_time(a["published"]) for a in raws.values())
    shift = _anchor(now) - _NEWEST_AGE - newest
    outlets: list[Outlet] = []
    articles: list[DemoArticle] = []
    for file in files:
        outlet = _outlet(file["outlet"])
        outlets.append(outlet)
        for raw in file["articles"]:
            articles.append(_article(outlet, raw, raws, shift))
    articles.sort(key=lambda a: (a.published, a.key))
    return tuple(outlets), tuple(articles)


def _read_outlet_files() -> list[dict[str, Any]]:
    folder = data_dir() / "outlets"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".json"))
    return [json.loads((folder / name).read_text(encoding="utf-8")) for name in names]


# The keys of an outlet's JSON that are Outlet's fields under the same name; its feed's
# settings stand apart, under "feed".
_OUTLET_KEYS = ("slug", "name", "city", "region", "language", "tagline", "layout")


def _outlet(raw: dict[str, Any]) -> Outlet:
    feed = raw["feed"]
    return Outlet(
        **{key: raw[key] for key in _OUTLET_KEYS},
        feed_format=feed["format"],
        full_content=feed["full_content"],
        tracking=feed["tracking"],
    )


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _anchor(now: datetime | None) -> datetime:
    now = now or datetime.now(UTC)
    if now.tzinfo is None:  # a naive time is taken as UTC, like everywhere in the project
        now = now.replace(tzinfo=UTC)
    # whole seconds, so that Last-Modified (second precision) round-trips exactly
    return now.astimezone(UTC).replace(microsecond=0)


def _article(
    outlet: Outlet, raw: dict[str, Any], raws: dict[str, dict[str, Any]], shift: timedelta
) -> DemoArticle:
    copy_of = raw.get("copy_of")
    # a republished copy takes its body (and byline) from the original, word for word
    source = raws[copy_of] if copy_of else raw
    paragraphs = tuple(source["body"])
    return DemoArticle(
        outlet=outlet,
        slug=raw["slug"],
        event=raw["event"],
        published=_parse_time(raw["published"]) + shift,
        title=raw["title"],
        summary=raw.get("summary") or source.get("summary") or paragraphs[0],
        author=raw.get("author") or source.get("author") or outlet.name,
        section=raw.get("section") or source.get("section") or "News",
        paragraphs=paragraphs,
        credit=raw.get("credit", ""),
        copy_of=copy_of,
    )
