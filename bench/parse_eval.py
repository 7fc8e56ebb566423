"""Parse-stage evaluation over the real feed captures in ../shared/corpus/feeds.

Serves every feed file from a local HTTP server on 127.0.0.1, fetches it with httpx, parses it
with ``parse_feed`` and counts how many of the distinct expected entries come out.

expected.jsonl holds one line per entry: ``file``, ``link``, ``title``. It was made by reading
the files with feedparser (and a JSON reader for JSON Feeds) without any repair: links are raw
(relative ones unresolved; an Atom entry's id stands in for a missing link), titles are
lowercased and may keep markup, and titles of feeds feedparser mis-decoded are themselves
mojibake. An expected entry counts as found when one parsed entry of the same file has
- a matching link: equal to our URL or guid, or equal once resolved against the feed URL, or a
  suffix of our URL (relative link resolved against an xml:base); a missing expected link
  matches any entry; and
- a matching title: equal after lowercasing, markup removal and whitespace collapsing; where the
  expected title is the mis-decoded form of ours (same text once our title is encoded in the
  encoding we detected and read back as windows-1252 / latin-1 / iso-8859-2 / windows-1250, as feedparser
  does without chardet), that counts too.
Entries are distinct by (file, link, title). Titles with mojibake are counted over every
parsed entry (``aggregator.parse.text.has_mojibake``).

    .venv/bin/python bench/parse_eval.py [--corpus DIR] [--min-recall 0.99] [--verbose]
    .venv/bin/python bench/parse_eval.py --huge 50000   # time and memory on a synthetic feed
"""

from __future__ import annotations

import argparse
import functools
import http.server
import json
import resource
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urljoin

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from aggregator.errors import ParseError  # noqa: E402
from aggregator.parse.encoding import decode_document  # noqa: E402
from aggregator.parse.feed import parse_feed  # noqa: E402
from aggregator.parse.text import has_mojibake, html_to_text  # noqa: E402
from aggregator.types import ParsedEntry, ParsedFeed  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "feeds"
# What a typical server sends for each kind of file: no charset, like most of them.
CONTENT_TYPES = {
    ".json": "application/feed+json",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".xml": "application/xml",
}
# How feedparser (no chardet) reads bytes it cannot decode as declared.
MISREADINGS = ("cp1252", "latin-1", "iso-8859-2", "cp1250")


@dataclass
class FileResult:
    name: str
    feed: ParsedFeed | None = None
    error: str | None = None
    seconds: float = 0.0
    encoding: str = "utf-8"


@dataclass
class Totals:
    expected: int = 0
    found: int = 0
    files: int = 0
    errors: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)
    titles: int = 0
    mojibake: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def guess_type(self, path: str | Path) -> str:  # type: ignore[override]
        return CONTENT_TYPES.get(Path(str(path)).suffix.lower(), "application/octet-stream")


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def fetch_and_parse(client: httpx.Client, base: str, name: str) -> FileResult:
    response = client.get(base + quote(name))
    response.raise_for_status()
    content_type = response.headers.get("content-type", "")
    result = FileResult(name, encoding=decode_document(response.content, content_type).encoding)
    started = time.perf_counter()
    try:
        result.feed = parse_feed(
            response.content,
            url=str(response.url),
            content_type=content_type,
            headers=dict(response.headers),
        )
    except ParseError as error:
        result.error = str(error)
    result.seconds = time.perf_counter() - started
    return result


def _key(title: str) -> str:
    # lower(), not casefold(): expected.jsonl was lowercased, and casefold turns "µ" into "μ"
    return "".join(title.lower().split())


def _ascii_skeleton(title: str) -> str:
    return "".join(c for c in _key(title) if c.isascii())


def _title_matches(expected: str, entry: ParsedEntry, encoding: str) -> bool:
    ours = _key(entry.title)
    if ours in (_key(expected), _key(html_to_text(expected))):
        return True
    if expected.isascii():
        return False
    # the expected title is the mis-decoded form of ours: the feed was read with the wrong
    # charset, or its text was double-encoded UTF-8 (which we repair)
    for source in {encoding, "utf-8"}:
        for misreading in MISREADINGS:
            try:
                raw = entry.title.encode(source)
                # bytes windows-1252 leaves undefined come out as latin-1, as feedparser's do
                garbled = raw.decode(misreading, errors="aggregator-cp1252")
            except (UnicodeError, LookupError):
                continue
            if _key(garbled).replace("\ufffd", "") == _key(expected).replace("\ufffd", ""):
                return True
    # partly double-encoded titles: everything but the mis-decoded characters must agree
    return bool(_ascii_skeleton(expected)) and _ascii_skeleton(expected) == _ascii_skeleton(
        entry.title
    )


def _link_matches(expected: object, entry: ParsedEntry, feed_url: str) -> bool:
    if expected is None or expected == "":
        return True
    link = str(expected)
    candidates = {entry.url, entry.guid}
    if link in candidates:
        return True
    try:
        if urljoin(feed_url, link) in candidates:
            return True
    except ValueError:
        pass
    return (
        bool(entry.url)
        and not link.startswith(("http:", "https:"))
        and (entry.url or "").endswith(link.lstrip("."))
    )


def found(expected: dict[str, object], result: FileResult, feed_url: str) -> bool:
    if result.feed is None:
        return False
    title = str(expected.get("title") or "")
    return any(
        _link_matches(expected.get("link"), entry, feed_url)
        and _title_matches(title, entry, result.encoding)
        for entry in result.feed.entries
    )


def load_expected(corpus: Path) -> dict[str, list[dict[str, object]]]:
    by_file: dict[str, list[dict[str, object]]] = defaultdict(list)
    seen: set[tuple[str, str, str]] = set()
    with open(corpus / "expected.jsonl", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            key = (row["file"], repr(row.get("link")), str(row.get("title") or ""))
            if key not in seen:  # distinct entries only
                seen.add(key)
                by_file[row["file"]].append(row)
    return by_file


def evaluate(corpus: Path, verbose: bool = False) -> Totals:
    with open(corpus / "manifest.jsonl", encoding="utf-8") as lines:
        names = [json.loads(line)["file"] for line in lines]
    expected = load_expected(corpus)
    totals = Totals()
    with serve(corpus) as base, httpx.Client(timeout=30) as client:
        for name in names:
            result = fetch_and_parse(client, base, name)
            totals.files += 1
            totals.times.append(result.seconds)
            if result.error:
                totals.errors.append(f"{name}: {result.error}")
            feed_url = base + quote(name)
            for row in expected.get(name, ()):
                totals.expected += 1
                if found(row, result, feed_url):
                    totals.found += 1
                else:
                    totals.missed.append(
                        f"{name}: link={row.get('link')!r} title={row.get('title')!r}"
                    )
            for entry in result.feed.entries if result.feed else ():
                totals.titles += 1
                if has_mojibake(entry.title):
                    totals.mojibake.append(f"{name}: {entry.title!r}")
    return totals


def report(totals: Totals, verbose: bool) -> float:
    recall = totals.found / totals.expected if totals.expected else 0.0
    times = sorted(totals.times)
    print(f"feeds: {totals.files} files, {len(totals.errors)} raised ParseError")
    print(
        f"entries: {totals.found} / {totals.expected} distinct expected entries found "
        f"(recall {recall:.4f})"
    )
    print(f"titles with mojibake: {len(totals.mojibake)} of {totals.titles}")
    print(
        f"parse time per feed: median {statistics.median(times) * 1000:.1f} ms, "
        f"p90 {times[int(len(times) * 0.9)] * 1000:.1f} ms, max {times[-1] * 1000:.0f} ms, "
        f"total {sum(times):.2f} s"
    )
    if verbose:
        for label, items in (
            ("error", totals.errors),
            ("missed", totals.missed),
            ("mojibake", totals.mojibake),
        ):
            for item in items:
                print(f"  {label}: {item}")
    return recall


def huge_feed(entries: int) -> bytes:
    items = "".join(
        f"<item><title>Entry {i} &amp; more</title><link>https://example.org/post/{i}</link>"
        f"<guid>id-{i}</guid><pubDate>Tue, 10 Jun 2003 04:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Summary of entry {i}, long enough to be typical.&lt;/p&gt;"
        f"</description></item>\n"
        for i in range(entries)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>'
        f"<link>https://example.org/</link>{items}</channel></rss>"
    ).encode()


def measure_huge(entries: int) -> None:
    """Parse time and peak memory growth (max RSS) for a synthetic feed of ``entries`` items."""
    data = huge_feed(entries)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    feed = parse_feed(data, url="https://example.org/feed.xml")
    seconds = time.perf_counter() - started
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) * 1024  # KiB on Linux
    print(
        f"huge feed: {len(feed.entries)} entries from {len(data) / 2**20:.1f} MiB in "
        f"{seconds:.1f} s; peak memory grew {grown / 2**20:.0f} MiB "
        f"({grown / len(data):.1f} x the input)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument(
        "--min-recall", type=float, default=None, help="exit 1 when recall is below this (CI gate)"
    )
    parser.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="list errors, missed entries and mojibake titles",
    )
    parser.add_argument(
        "--huge",
        type=int,
        metavar="N",
        help="instead: parse a synthetic feed of N entries, print time and memory",
    )
    args = parser.parse_args(argv)
    if args.huge:
        measure_huge(args.huge)
        return 0
    totals = evaluate(args.corpus, args.verbose)
    recall = report(totals, args.verbose)
    if args.min_recall is not None and recall < args.min_recall:
        print(f"FAIL: recall {recall:.4f} below {args.min_recall}")
        return 1
    if args.min_recall is not None and totals.mojibake:
        print(f"FAIL: {len(totals.mojibake)} titles with mojibake")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
