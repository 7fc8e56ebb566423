"""The real feed captures of ../shared/corpus/feeds served as feeds of their own, and one
pass of the whole pipeline over them, as a user would run it.

Each capture is a feed on a local site (127.0.0.1) with ``extract: false``: the captured
entries link to the real web, which is never contacted, so each article is what its feed
carries. ``aggregator run --once`` then ``aggregator export``. Used by stored_entries_eval.py
(entries stored) and feed_stories_eval.py (stories of one feed's posts).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.parse_eval import CONTENT_TYPES  # noqa: E402
from tests.support.commands import aggregator  # noqa: E402
from tests.support.localsite import LocalSite  # noqa: E402


def content_type(file: str) -> str:
    """What a typical server sends for the file (no charset, like most of them)."""
    return CONTENT_TYPES.get(Path(file).suffix.lower(), "application/xml")


def capture_files(corpus: Path) -> list[dict[str, Any]]:
    """The manifest's rows of the captures that are there."""
    manifest = (corpus / "manifest.jsonl").read_text(encoding="utf-8")
    rows = [json.loads(line) for line in manifest.splitlines() if line.strip()]
    return [row for row in rows if (corpus / row["file"]).is_file()]


def ingest_captures(
    corpus: Path, names: dict[str, str | None], work: Path, settings: list[str]
) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """Serve each capture file (``names``: file -> the feed's name, or None) as a feed, run
    one pass with these extra ``settings:`` lines, and export: (file -> feed URL, articles)."""
    storage = work / "storage"
    urls: dict[str, str] = {}
    with LocalSite() as site:
        lines = ["feeds:"]
        for file, name in names.items():
            urls[file] = site.add(f"/{file}", (corpus / file).read_bytes(), content_type(file))
            lines.append(f"  - url: {urls[file]}")
            if name:
                lines.append(f"    name: {json.dumps(name)}")
            lines.append("    extract: false")
        lines += ["settings:", "  host_delay: 0s", "  log_level: error", *settings]
        config = work / "feeds.yaml"
        config.write_text("\n".join(lines) + "\n")
        once = ["run", "--once", "--config", str(config), "--storage", str(storage)]
        print(f"{len(names)} feeds: {aggregator(*once, timeout=1800).stdout.strip()}")
    out = aggregator("export", "--storage", str(storage)).stdout
    return urls, [json.loads(line) for line in out.splitlines() if line.strip()]
