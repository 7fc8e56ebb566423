"""`aggregator feeds check`: fetch and parse each feed once and say what was found.

Every failure is reported in the feed's `CheckResult`, none raised, so one bad feed does not
hide what the others would say.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Protocol

from aggregator.errors import FeedError
from aggregator.types import FetchResult

__all__ = ["CheckResult", "FeedFetcher", "check_feed", "check_feeds"]


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
    reached = CheckResult(
        url,
        status=fetched.status,
        final_url=fetched.final_url,
        moved_to=fetched.permanent_redirect,
    )
    try:
        parsed = parse_feed(
            fetched.content, url=fetched.final_url, content_type=fetched.content_type
        )
    except FeedError as exc:
        return replace(
            reached,
            error=exc.message,
            error_kind=exc.kind,
            discovered=getattr(exc, "discovered", None),
        )
    dates = [d for entry in parsed.entries if (d := entry.published or entry.updated)]
    return replace(
        reached,
        format=parsed.format,
        title=parsed.title,
        entries=len(parsed.entries),
        newest=max(dates) if dates else None,
        warnings=parsed.warnings,
    )


async def check_feeds(urls: Iterable[str], fetcher: FeedFetcher) -> list[CheckResult]:
    """check_feed for each URL at once (the fetcher limits concurrency), in the given order."""
    return list(await asyncio.gather(*(check_feed(url, fetcher) for url in urls)))
