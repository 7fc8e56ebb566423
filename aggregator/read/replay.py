"""Recorded articles (JSON Lines) -> the time-ordered stream that replay and evaluation feed in.

The record format is the one of ``../shared/corpus/clusters``: one object per line with at
least ``id`` and ``title``; ``text``, ``source``, ``published`` (ISO 8601 date or date-time),
``url``, ``lang`` and ``cluster_id`` are optional. The same order is used by
``aggregator replay`` and by ``bench/cluster_eval.py`` so that what is measured is what runs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aggregator.errors import AggregatorError
from aggregator.identity.keys import content_hash
from aggregator.identity.urls import canonical_url
from aggregator.types import ClusterDoc, NewArticle


class ReplayError(AggregatorError):
    """A recorded-articles file could not be read (carries file and line)."""

    def __init__(self, path: str, line: int | None, message: str):
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")


def read_records(path: Path) -> list[dict[str, Any]]:
    """Read JSON Lines records; blank lines are skipped, anything else malformed is an error."""
    records: list[dict[str, Any]] = []
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise ReplayError(str(path), None, f"cannot open: {exc.strerror or exc}") from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ReplayError(str(path), number, f"invalid JSON: {exc.msg}") from exc
            if not isinstance(record, dict):
                raise ReplayError(str(path), number, "expected a JSON object")
            if record.get("id") in (None, ""):
                raise ReplayError(str(path), number, 'record has no "id"')
            records.append(record)
    return records


def parse_time(value: object) -> datetime | None:
    """ISO 8601 date or date-time -> aware UTC datetime; None when absent or unreadable.

    A bare date means midnight UTC; a naive date-time is taken as UTC.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def arrivals(records: list[dict[str, Any]]) -> list[tuple[dict[str, Any], datetime | None]]:
    """Records in the order they would have arrived, each with its arrival time.

    By time, ties kept in file order. A record without a usable date arrives at the last
    known time before it in file order (recordings are usually appended as they arrive, so
    that is when it was seen); records before the first dated one arrive at the first known
    time. With no dates at all the file order is kept and every time is None.
    """
    times = [parse_time(r.get("published")) for r in records]
    first_known = next((t for t in times if t is not None), None)
    if first_known is None:
        return [(r, None) for r in records]
    imputed: list[datetime] = []
    last = first_known
    for t in times:
        if t is not None:
            last = t
        imputed.append(last)
    order = sorted(range(len(records)), key=lambda i: (imputed[i], i))
    return [(records[i], imputed[i]) for i in order]


def replay_order(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records in the order they would have arrived (see arrivals)."""
    return [record for record, _ in arrivals(records)]


def to_article(record: dict[str, Any], *, arrived: datetime) -> NewArticle:
    """One record -> the article the pipeline stores, as if a feed had listed it at `arrived`."""
    url = record.get("url") or None
    title = str(record.get("title") or "")
    text = str(record.get("text") or "")
    return NewArticle(
        key=str(record["id"]),
        guid=str(record["id"]),
        url=url,
        canonical_url=canonical_url(url) if url else None,
        title=title,
        feed_url=record.get("feed") or None,
        source=record.get("source") or None,
        published=parse_time(record.get("published")),
        fetched=arrived,
        text=text,
        text_source="feed" if text else "none",
        language=record.get("lang") or None,
        content_hash=content_hash(title, text),
    )


def to_doc(record: dict[str, Any]) -> ClusterDoc:
    """One record -> what dedupe and clustering see; missing text means headline only."""
    source = record.get("source")
    return ClusterDoc(
        id=str(record["id"]),
        title=str(record.get("title") or ""),
        text=str(record.get("text") or ""),
        published=parse_time(record.get("published")),
        source=str(source) if source else None,
    )
