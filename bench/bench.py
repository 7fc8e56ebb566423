"""Speed and cost of every stage, on generated feeds and pages served on 127.0.1.x.

    .venv/bin/python bench/bench.py            # the full run; writes bench/RESULTS.md
    .venv/bin/python bench/bench.py --quick    # small sizes, prints only (or --output FILE)

Sections (each with the machine it ran on; repeated runs give median and spread):
  first ingest   N feeds x M new articles with pages through the whole pipeline: articles/s,
                 CPU per article (the aggregator's process, its worker processes, the feed
                 server apart), per-stage figures from PollReport.stages, event-loop lag.
                 The server renders the round's documents before the timing starts, as a
                 real outlet's server would have them ready (and not on our two cores); it
                 still shares the machine for sending them
  steady state   re-polling N unchanged feeds (1,000 and 10,000): wall time, CPU per feed,
                 requests by kind; no feed may be parsed and no page fetched
  scaling        a batch of new articles into stores of 1k / 10k / 100k articles: cost per
                 article, start-up (restoring the clustering window), memory peak
  read side      digest, JSON API and full-text search latency on the 100k store
  parse floor    parse_feed against plain lxml passes over the same bytes, and the profile
  extraction     per-page CPU of the extractor on generated and on the real corpus pages
  reader         the same generated feeds polled by lemon24/reader and by `aggregator run
                 --once`, first and unchanged pass, as ratios (bench/versus_reader.py)
  real pages     the corpus's 252 real article pages served as 16 outlets' feeds through
                 `aggregator run --once`: pages/s, CPU per page, and the word F1 of what was
                 stored against the pages' truth (bench/real_ingest.py)

Politeness: the generated outlets are spread over 50 loopback hosts (127.0.1.1-50) and the
bench config sets host_delay 0 and per_host = concurrency, so the figures measure the
aggregator, not the spacing it would keep towards real servers (one feed per host_delay per
host; 10,000 feeds on 50 hosts with the default 1 s would take 200 s by design).

Not part of the test suite: nothing here asserts a speed; it reports.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[1]
# run as a script, this folder comes first on the path and this file would shadow the
# `bench` package that gen.py is imported from
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from aggregator.cli.common import build_pipeline, close_pipeline  # noqa: E402
from aggregator.config.model import FeedConfig, Settings  # noqa: E402
from aggregator.pipeline import Pipeline, PollReport  # noqa: E402
from aggregator.store.sqlite import SqliteStore  # noqa: E402
from aggregator.types import NewArticle, Placement  # noqa: E402
from bench import gen, pg_sections  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
HOSTS = 50
CONCURRENCY = 16
T = TypeVar("T")


# --- measuring ------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{os.cpu_count()} x {model or platform.processor() or 'unknown'}",
        "memory": f"{mem:.0f} GiB",
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
        "load average at start": load,
    }


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a live process."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_peak_mib(pid: int | str = "self") -> float:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def worker_pids(pipeline: Pipeline) -> list[int]:
    pool = getattr(pipeline.extractor, "_pool", None)
    processes = getattr(pool, "_processes", None) or {}
    return [p.pid for p in processes.values() if p.pid]


class LoopLag:
    """How late a 5 ms timer fires on the event loop: the loop was busy that long.

    The wake-up still pending when the block ends counts too: the work at the very end of a
    poll (storing) would otherwise never be seen."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.lags: list[float] = []
        self._expected = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._expected = loop.time() + self.period
            await asyncio.sleep(self.period)
            self.lags.append(max(0.0, loop.time() - self._expected))

    def __enter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        late = asyncio.get_running_loop().time() - self._expected
        if late > 0:
            self.lags.append(late)

    def summary(self) -> dict[str, float]:
        lags = sorted(self.lags) or [0.0]
        return {
            "p99_ms": 1000 * lags[int(0.99 * (len(lags) - 1))],
            "max_ms": 1000 * lags[-1],
        }


def spread(values: list[float], digits: int = 1) -> str:
    """median (min-max) of repeated runs."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


# --- the feed server ------------------------------------------------------------------------


class FeedServer:
    """bench/gen.py serve, in its own process; stops when we close its stdin."""

    def __init__(self, hosts: int = HOSTS) -> None:
        self.hosts = hosts
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> FeedServer:
        self._proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "gen.py"), "serve", "--hosts", str(self.hosts)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        self.port = int(self._proc.stdout.readline())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(10)
        except subprocess.TimeoutExpired:
            self._proc.kill()

    def prerender(self, round_: int, count: int, items: int, *, pages: bool = True) -> None:
        """Have the server render a round's feeds (and pages) before the timing starts."""
        path = f"/_prerender/{round_}/{count}-{items}" + ("" if pages else "/feeds")
        httpx.get(f"http://127.0.1.1:{self.port}{path}", timeout=600).raise_for_status()

    def stats(self) -> dict[str, float]:
        response = httpx.get(f"http://127.0.1.1:{self.port}/_stats", timeout=10)
        return dict(response.json())

    def feeds(
        self, round_: int, count: int, items: int, *, extract: bool = True
    ) -> list[FeedConfig]:
        return [
            FeedConfig(
                url=gen.feed_url(round_, i, items, hosts=self.hosts, port=self.port),
                name=f"Outlet {i}",
                extract=extract,
            )
            for i in range(count)
        ]


def delta(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {k: after.get(k, 0) - before.get(k, 0) for k in set(after) | set(before)}


def bench_settings() -> Settings:
    # see the module docstring: politeness off, outlets spread over HOSTS loopback hosts
    return replace(
        Settings(), host_delay=timedelta(0), per_host=CONCURRENCY, concurrency=CONCURRENCY
    )


# --- one measured poll ----------------------------------------------------------------------


@dataclass
class PollRun:
    report: PollReport
    wall: float
    cpu: float  # the aggregator's own process
    worker_cpu: float  # its worker processes (extraction and feed parsing)
    server: dict[str, float]
    lag: dict[str, float]
    stages: dict[str, tuple[int, float]] = field(default_factory=dict)


async def measured_poll(pipeline: Pipeline, feeds: list[FeedConfig], server: FeedServer) -> PollRun:
    workers = worker_pids(pipeline)
    worker_before = sum(proc_cpu(p) for p in workers)
    server_before = server.stats()
    gc.collect()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    with LoopLag() as lag:
        report = await pipeline.poll(feeds)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    worker_cpu = sum(proc_cpu(p) for p in worker_pids(pipeline)) - worker_before
    return PollRun(
        report=report,
        wall=wall,
        cpu=cpu,
        worker_cpu=worker_cpu,
        server=delta(server.stats(), server_before),
        lag=lag.summary(),
        stages={k: (v.calls, v.seconds) for k, v in report.stages.items()},
    )


async def warm_extractor(pipeline: Pipeline) -> float:
    """Start the extraction workers before timing (their start-up is reported apart)."""
    assert pipeline.extractor is not None
    started = time.perf_counter()
    page = gen.page_html(999, 0, 0, "http://127.0.1.1")
    workers = pipeline.extractor.workers
    await asyncio.gather(
        *(pipeline.extractor.extract(page, url="http://127.0.1.1/") for _ in range(2 * workers))
    )
    return time.perf_counter() - started


@contextlib.contextmanager
def fresh_store() -> Iterator[SqliteStore]:
    with tempfile.TemporaryDirectory(prefix="agg-bench-") as tmp:
        store = SqliteStore(Path(tmp))
        try:
            yield store
        finally:
            store.close()


def run(coro: Awaitable[T]) -> T:
    async def main() -> T:
        return await coro

    return asyncio.run(main())


# --- first ingest ---------------------------------------------------------------------------


async def _first_ingest_once(server: FeedServer, feeds: int, items: int, round_: int) -> PollRun:
    server.prerender(round_, feeds, items)
    with fresh_store() as store:
        pipeline = build_pipeline(bench_settings(), store)
        try:
            await warm_extractor(pipeline)
            return await measured_poll(pipeline, server.feeds(round_, feeds, items), server)
        finally:
            await close_pipeline(pipeline)


def first_ingest(server: FeedServer, feeds: int, items: int, repeats: int) -> dict[str, Any]:
    runs = [run(_first_ingest_once(server, feeds, items, round_=10 + r)) for r in range(repeats)]
    articles = [r.report.counts.new_articles for r in runs]
    stage_names = sorted({name for r in runs for name in r.stages})
    stages = {}
    for name in stage_names:
        calls = [r.stages.get(name, (0, 0.0))[0] for r in runs]
        seconds = [r.stages.get(name, (0, 0.0))[1] for r in runs]
        stages[name] = {
            "calls": statistics.median(calls),
            "seconds": [round(s, 3) for s in seconds],
            "ms_per_call": [
                1000 * s / c if c else 0.0 for s, c in zip(seconds, calls, strict=True)
            ],
        }
    return {
        "feeds": feeds,
        "items": items,
        "articles": articles,
        "wall": [r.wall for r in runs],
        "articles_per_s": [a / r.wall for a, r in zip(articles, runs, strict=True)],
        "cpu_ms_per_article": [1000 * r.cpu / a for a, r in zip(articles, runs, strict=True)],
        "worker_cpu_ms_per_article": [
            1000 * r.worker_cpu / a for a, r in zip(articles, runs, strict=True)
        ],
        "server_cpu_ms_per_article": [
            1000 * r.server.get("cpu", 0) / a for a, r in zip(articles, runs, strict=True)
        ],
        "core_share": [
            (r.cpu + r.worker_cpu + r.server.get("cpu", 0)) / (r.wall * (os.cpu_count() or 1))
            for r in runs
        ],
        "cpu_bound_rate": [
            a * (os.cpu_count() or 1) / (r.cpu + r.worker_cpu + r.server.get("cpu", 0))
            for a, r in zip(articles, runs, strict=True)
        ],
        "requests": runs[-1].server,
        "lag_p99_ms": [r.lag["p99_ms"] for r in runs],
        "lag_max_ms": [r.lag["max_ms"] for r in runs],
        "stages": stages,
        "counts": vars(runs[-1].report.counts),
    }


# --- steady state ---------------------------------------------------------------------------


async def _steady(
    server: FeedServer, feeds: int, items: int, repeats: int, stored: int
) -> dict[str, Any]:
    with fresh_store() as store:
        prefill(store, stored)  # a store that has been running a while (listings to count)
        pipeline = build_pipeline(bench_settings(), store)
        try:
            # prime: the feeds' entries stored without pages (the timed polls must fetch none)
            prime = await measured_poll(
                pipeline, server.feeds(0, feeds, items, extract=False), server
            )
            polls = [
                await measured_poll(pipeline, server.feeds(0, feeds, items), server)
                for _ in range(repeats)
            ]
        finally:
            await close_pipeline(pipeline)
    return {
        "feeds": feeds,
        "items": items,
        "stored": stored + prime.report.counts.new_articles,
        "prime_wall": prime.wall,
        "prime_articles": prime.report.counts.new_articles,
        "wall": [p.wall for p in polls],
        "cpu_ms_per_feed": [1000 * p.cpu / feeds for p in polls],
        "server_cpu": [p.server.get("cpu", 0) for p in polls],
        "requests": {k: v for k, v in polls[-1].server.items() if k != "cpu"},
        "parsed": sum(p.stages.get("parse", (0, 0))[0] for p in polls),
        "not_modified": [p.report.not_modified for p in polls],
        "lag_max_ms": [p.lag["max_ms"] for p in polls],
        "stages": {k: v for k, v in polls[-1].stages.items()},
    }


def steady_state(
    server: FeedServer, feeds: int, items: int, repeats: int, stored: int
) -> dict[str, Any]:
    return run(_steady(server, feeds, items, repeats, stored))


# --- scaling --------------------------------------------------------------------------------


def prefill(store: SqliteStore, articles: int, seed: int = 3) -> None:
    """`articles` stored articles over the 30 days before the generated news, in stories
    of about four, written through the store's own API (no pages, no clustering)."""
    rng = random.Random(seed)
    words = gen.vocabulary()
    start = gen.EPOCH - timedelta(days=30)
    with store.atomic():
        for n in range(articles):
            story = n // 4
            when = start + timedelta(seconds=(story * 4 + rng.random()) * 30 * 86400 / articles)
            topic = [words[(story * 7 + k) % len(words)] for k in range(6)]
            text = "\n".join(
                " ".join(rng.choice(topic + list(words[:400])) for _ in range(60)).capitalize()
                for _ in range(5)
            )
            key = f"pre{n:07d}"
            url = f"https://outlet{n % 400}.example/{key}.html"
            store.add_article(
                NewArticle(
                    key=key,
                    guid=key,
                    url=url,
                    canonical_url=url,
                    title=" ".join(topic).capitalize(),
                    feed_url=f"https://outlet{n % 400}.example/feed.xml",
                    source=f"Outlet {n % 400}",
                    published=when,
                    fetched=when,
                    text=text,
                    text_source="page",
                ),
                Placement(story_id=f"pre-s{story}", score=1.0, new_story=n % 4 == 0),
                None,
            )


async def _scale_point(server: FeedServer, storage: Path, feeds: int, items: int) -> dict[str, Any]:
    store = SqliteStore(storage)
    try:
        pipeline = build_pipeline(bench_settings(), store)
        try:
            started = time.perf_counter()
            restored = pipeline.warm_up()
            warm_up = time.perf_counter() - started
            started = time.perf_counter()
            pipeline.save_snapshot()
            saved = time.perf_counter() - started
            from_snapshot = [process_start_up(storage) for _ in range(3)]
            await warm_extractor(pipeline)
            poll = await measured_poll(pipeline, server.feeds(20, feeds, items), server)
            peak_workers = sum(proc_peak_mib(p) for p in worker_pids(pipeline))
        finally:
            await close_pipeline(pipeline)
    finally:
        store.close()
    articles = poll.report.counts.new_articles
    return {
        "restored": restored,
        "warm_up_s": warm_up,
        "snapshot_save_s": saved,
        "snapshot_start_s": from_snapshot,
        "articles": articles,
        "ms_per_article": 1000 * poll.wall / max(1, articles),
        "cpu_ms_per_article": 1000 * poll.cpu / max(1, articles),
        "ingest_ms_per_article": {
            k: 1000 * poll.stages.get(k, (0, 0.0))[1] / max(1, articles)
            for k in ("dedupe", "cluster", "store")
        },
        "peak_mib": proc_peak_mib(),
        "peak_workers_mib": peak_workers,
    }


# what `aggregator run` does before its first poll: imports, the store, the pipeline, the
# clustering window (from the snapshot the scale point just saved)
_START_UP = """
import time
started = time.perf_counter()
import sys
from pathlib import Path
from aggregator.cli.common import build_pipeline
from aggregator.config.model import Settings
from aggregator.store.sqlite import SqliteStore
store = SqliteStore(Path(sys.argv[1]))
pipeline = build_pipeline(Settings(), store)
restored = pipeline.warm_up()
print(time.perf_counter() - started, restored)
"""


def process_start_up(storage: Path) -> dict[str, float]:
    """A fresh process's start-up, timed from outside and from inside (after interpreter)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _START_UP, str(storage)],
        capture_output=True, text=True, check=True, env=env,
    ).stdout.split()  # fmt: skip
    return {"wall": time.perf_counter() - started, "inside": float(out[0]), "replayed": int(out[1])}


def scale_point_main(args: argparse.Namespace) -> int:
    """Child process for one store size (memory peaks are per process)."""
    storage = Path(args.storage)
    started = time.perf_counter()
    store = SqliteStore(storage)
    try:
        prefill(store, args.size)
    finally:
        store.close()
    fill_s = time.perf_counter() - started
    with FeedServer() as server:
        result = run(_scale_point(server, storage, args.feeds, args.items))
    result.update(size=args.size, fill_s=fill_s)
    Path(args.json).write_text(json.dumps(result))
    return 0


def scaling(sizes: list[int], feeds: int, items: int, keep: Path) -> list[dict[str, Any]]:
    """One child process per store size; the largest store stays in `keep` for the read side."""
    results = []
    for size in sizes:
        storage = keep if size == max(sizes) else Path(tempfile.mkdtemp(prefix="agg-scale-"))
        out = storage.parent / f"scale-{size}.json"
        command = [sys.executable, __file__, "_scale", "--size", str(size)]
        command += ["--storage", str(storage), "--json", str(out)]
        command += ["--feeds", str(feeds), "--items", str(items)]
        subprocess.run(command, check=True)
        results.append(json.loads(out.read_text()))
        out.unlink()
        if storage != keep:
            subprocess.run(["rm", "-rf", str(storage)], check=True)
    return results


# --- read side ------------------------------------------------------------------------------


def timed(call: Callable[[], object], repeats: int) -> list[float]:
    call()  # warm SQLite's page cache and ours
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - started))
    return times


def read_side(storage: Path, repeats: int) -> dict[str, Any]:
    from aggregator.read.digest import build_digest
    from aggregator.read.render import render

    now = gen.EPOCH
    results: dict[str, list[float]] = {}
    store = SqliteStore(storage, readonly=True)
    try:
        articles = store.counts()["articles"]
        for label, since in (("24h", timedelta(hours=24)), ("7d", timedelta(days=7))):
            results[f"digest --since {label} (build + render json)"] = timed(
                lambda since=since: render(
                    build_digest(store, now=now, since=now - since, limit=None), "json"
                ),
                repeats,
            )
        results.update(search_latency(store, repeats))
    finally:
        store.close()
    results.update(api_latency(storage, repeats))
    return {"articles": articles, "latency_ms": results}


def search_latency(store: SqliteStore, repeats: int) -> dict[str, list[float]]:
    """Full-text searches through the store (parse + search + a page of 20 stories); the
    queries and a fuller report are bench/search_bench.py's."""
    from aggregator.read.search_query import parse_query
    from bench.search_bench import queries

    return {
        f"search: {label} ({text})": timed(
            lambda text=text: store.search(parse_query(text, gen.EPOCH), limit=20), repeats
        )
        for label, text in queries()
    }


def api_latency(storage: Path, repeats: int) -> dict[str, list[float]]:
    import threading

    from aggregator.web import create_app, serve

    app = create_app(storage, clock=lambda: gen.EPOCH)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    ready = threading.Event()
    base: list[str] = []

    def on_ready(url: str) -> None:
        base.append(url)
        ready.set()

    def serve_thread() -> None:
        loop.run_until_complete(serve(app, host="127.0.0.1", port=0, stop=stop, on_ready=on_ready))

    thread = threading.Thread(target=serve_thread, daemon=True)
    thread.start()
    if not ready.wait(30):
        raise RuntimeError("the readers' server did not start")
    from bench.search_bench import queries

    word = queries()[0][1]
    paths = ["/api/stories", "/api/stories?since=all&limit=30", "/", "/?since=all"]
    paths += [f"/api/search?q={word}", f"/?q={word}"]
    out: dict[str, list[float]] = {}
    try:
        with httpx.Client(base_url=base[0], timeout=120) as client:
            for path in paths:
                out[f"GET {path}"] = timed(
                    lambda path=path: client.get(path).raise_for_status(), repeats
                )
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
    return out


# --- parse floor ----------------------------------------------------------------------------


def feed_documents(generated: int) -> list[tuple[str, bytes]]:
    """(name, bytes): generated 50-entry feeds, and the real captures of the corpus in place."""
    docs = [(f"gen{i}", gen.feed_xml(30, i, 50, "http://127.0.1.1:8000")) for i in range(generated)]
    folder = CORPUS / "feeds"
    if (folder / "manifest.jsonl").exists():
        for line in (folder / "manifest.jsonl").read_text().splitlines():
            row = json.loads(line)
            path = folder / str(row.get("file") or row.get("path") or row.get("name"))
            if path.is_file() and path.suffix != ".json":  # XML only: lxml is the floor
                docs.append((path.name, path.read_bytes()))
    return docs


def lxml_parse(data: bytes) -> object:
    """The floor: libxml2 parses the bytes, nothing else."""
    from lxml import etree

    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError:  # nothing recoverable (an empty or non-XML capture)
        return None


_FIELDS = frozenset(
    ("title", "link", "guid", "id", "description", "summary", "content", "encoded",
     "pubDate", "published", "updated", "date")
)  # fmt: skip


def lxml_reader(data: bytes) -> list[dict[str, str]]:
    """A plain lxml feed reader: entries' fields as text, markup stripped. No date parsing,
    no encoding repair, no sanitising: the work parse_feed does, minus its care."""
    from lxml import etree, html

    root = lxml_parse(data)
    if root is None:
        return []
    entries = []
    for el in root.iter("{*}item", "{*}entry"):
        entry = {}
        for child in el:
            if not isinstance(child.tag, str):
                continue
            name = etree.QName(child).localname
            if name in _FIELDS:
                text = child.text or child.get("href") or ""
                if "<" in text:
                    with contextlib.suppress(etree.ParserError):
                        text = html.fromstring(text).text_content()
                entry[name] = " ".join(text.split())
        entries.append(entry)
    return entries


def parse_floor(generated: int, repeats: int) -> dict[str, Any]:
    from aggregator.errors import ParseError
    from aggregator.parse.feed import parse_feed

    docs = feed_documents(generated)

    def aggregator_parse(data: bytes) -> object:
        try:
            return parse_feed(data, url="http://127.0.1.1:8000/feed.xml")
        except ParseError:
            return None

    out: dict[str, Any] = {"documents": len(docs), "bytes": sum(len(d) for _, d in docs)}
    for label, subset in (
        ("generated", [d for n, d in docs if n.startswith("gen")]),
        ("corpus", [d for n, d in docs if not n.startswith("gen")]),
    ):
        entries = sum(len(lxml_reader(d)) for d in subset)
        row: dict[str, Any] = {"documents": len(subset), "entries": entries}
        for name, call in (
            ("parse_feed", aggregator_parse),
            ("lxml parse", lxml_parse),
            ("lxml reader", lxml_reader),
        ):
            times = []
            for _ in range(repeats):
                started = time.process_time()
                for data in subset:
                    call(data)
                times.append(1000 * (time.process_time() - started))
            row[name] = times
        out[label] = row
    out["profile"] = profile_top(lambda: [aggregator_parse(d) for _, d in docs], rounds=2)
    return out


# --- profiles -------------------------------------------------------------------------------


def profile_top(
    call: Callable[[], object], rounds: int = 1, top: int = 12
) -> list[tuple[str, float]]:
    """pyinstrument: the functions with the most self time, as (function file:line, share)."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    for _ in range(rounds):
        call()
    profiler.stop()
    return top_self_time(profiler, top)


def top_self_time(profiler: Any, top: int) -> list[tuple[str, float]]:
    """Self time per function; time in C code (pyinstrument's "[self]" leaves) counts for
    the Python function that called it."""
    root = profiler.last_session.root_frame() if profiler.last_session else None
    if root is None:
        return []
    totals: dict[str, float] = {}
    stack = [root]
    while stack:
        frame = stack.pop()
        real = [child for child in frame.children if not child.is_synthetic]
        own = frame.time - sum(child.time for child in real)
        where = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
        totals[where] = totals.get(where, 0.0) + own
        stack.extend(real)
    # waiting for I/O is not a cost: shares are of the time the thread was busy
    busy = {w: t for w, t in totals.items() if not w.startswith(("epoll.poll ", "select "))}
    whole = sum(busy.values()) or 1.0
    ranked = sorted(busy.items(), key=lambda kv: -kv[1])[:top]
    return [(where, seconds / whole) for where, seconds in ranked]


async def _profiled_ingest(server: FeedServer, feeds: int, items: int) -> list[tuple[str, float]]:
    from pyinstrument import Profiler

    with fresh_store() as store:
        pipeline = build_pipeline(bench_settings(), store)
        try:
            await warm_extractor(pipeline)
            profiler = Profiler(interval=0.0005, async_mode="disabled")
            profiler.start()
            await pipeline.poll(server.feeds(40, feeds, items))
            profiler.stop()
        finally:
            await close_pipeline(pipeline)
    return top_self_time(profiler, 15)


def profile_ingest(server: FeedServer, feeds: int, items: int) -> list[tuple[str, float]]:
    """Where the event loop's thread spends its CPU during a first ingest."""
    return run(_profiled_ingest(server, feeds, items))


# --- extraction -----------------------------------------------------------------------------


def extraction_costs(generated: int, real_pages: int) -> dict[str, Any]:
    """Per-page CPU of extract_page (in this process) and of default trafilatura."""
    import trafilatura

    from aggregator.extract.body import _warm_up, extract_page

    _warm_up()
    sets = {
        "generated": [(gen.page_html(50, i, 0, "http://127.0.1.1"), "") for i in range(generated)]
    }
    folder = CORPUS / "pages"
    if (folder / "manifest.jsonl").exists():
        rows = [json.loads(x) for x in (folder / "manifest.jsonl").read_text().splitlines()]
        real = [
            r for r in rows
            if r.get("usable") and r["source"] == "readability"
            and r["page_provenance"] == "real-capture"
        ][:real_pages]  # fmt: skip
        sets["real (corpus)"] = [
            (
                (folder / r["name"] / "page.html").read_bytes(),
                json.loads((folder / r["name"] / "truth.json").read_text()).get("title", ""),
            )
            for r in real
        ]
    out: dict[str, Any] = {}
    for label, pages in sets.items():
        ours, default = [], []
        for html, title in pages:
            started = time.process_time()
            extract_page(html, url="http://127.0.1.1/page.html", feed_title=title)
            ours.append(1000 * (time.process_time() - started))
            started = time.process_time()
            trafilatura.extract(html)
            default.append(1000 * (time.process_time() - started))
        out[label] = {
            "pages": len(pages),
            "kb": statistics.median(len(h) for h, _ in pages) / 1024,
            "extract_page_ms": statistics.median(ours),
            "trafilatura_default_ms": statistics.median(default),
        }
    sample = [h for h, _ in sets.get("real (corpus)", sets["generated"])][:40]
    out["profile"] = profile_top(
        lambda: [extract_page(h, url="http://127.0.1.1/page.html") for h in sample]
    )
    return out


# --- the report -----------------------------------------------------------------------------

STAGE_ORDER = (
    "fetch_feed",
    "parse",
    "identify",
    "fetch_page",
    "extract",
    "prepare",
    "dedupe",
    "cluster",
    "store",
)


def md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def report_first(r: dict[str, Any]) -> str:
    n = len(r["wall"])
    head = (
        f"{r['feeds']} feeds x {r['items']} new articles with pages "
        f"({r['counts']['new_articles']} stored, {r['counts']['duplicates']} near-duplicates, "
        f"{r['counts']['new_stories']} stories); {n} runs, median (min-max)."
    )
    rows = [
        ["articles/s end to end", spread(r["articles_per_s"])],
        ["wall time, s", spread(r["wall"])],
        ["aggregator process CPU, ms/article", spread(r["cpu_ms_per_article"])],
        [
            "worker processes CPU (extraction, parsing), ms/article",
            spread(r["worker_cpu_ms_per_article"]),
        ],
        ["feed server CPU (not ours), ms/article", spread(r["server_cpu_ms_per_article"])],
        ["share of the machine's cores used (aggregator + server)", spread(r["core_share"], 2)],
        [
            "articles/s the CPU cost allows on all cores (if the machine were ours)",
            spread(r["cpu_bound_rate"]),
        ],
        ["event-loop lag p99 / max, ms", f"{spread(r['lag_p99_ms'])} / {spread(r['lag_max_ms'])}"],
        [
            "requests (last run)",
            ", ".join(f"{k} {int(v)}" for k, v in sorted(r["requests"].items()) if k != "cpu"),
        ],
    ]
    stage_rows = []
    articles = statistics.median(r["articles"])
    for name in [s for s in STAGE_ORDER if s in r["stages"]]:
        stage = r["stages"][name]
        total = statistics.median(stage["seconds"])
        per_s = (
            f"{articles / total:,.0f}"
            if total and name in ("identify", "prepare", "dedupe", "cluster", "store")
            else "-"
        )
        stage_rows.append(
            [name, f"{stage['calls']:.0f}", spread(stage["ms_per_call"], 2), f"{total:.2f}", per_s]
        )
    stage_table = md_table(
        ["stage", "calls", "ms per call", "total s", "articles/s if alone"], stage_rows
    )
    return (
        head + "\n\n" + md_table(["measure", "value"], rows) + "\n\nPer stage "
        "(PollReport.stages). fetch and extract overlap (their ms are latencies, waiting for a "
        "connection or a worker included); prepare (each article's terms, names and shingles, "
        "done while pages arrive), dedupe, cluster and store run on the event loop one article "
        "at a time, so their totals are loop time; dedupe, cluster and store are the ordered "
        "tail of the poll.\n\n" + stage_table
    )


def report_steady(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        requests = ", ".join(f"{k} {int(v)}" for k, v in sorted(r["requests"].items()))
        rows.append(
            [
                f"{r['feeds']:,}",
                f"{r['stored']:,}",
                spread(r["wall"], 2),
                spread(r["cpu_ms_per_feed"], 2),
                spread(r["server_cpu"], 1),
                requests,
                str(r["parsed"]),
                spread(r["lag_max_ms"], 0),
                f"{r['prime_wall']:.1f} s ({r['prime_articles']:,} articles)",
            ]
        )
    return md_table(
        ["feeds", "stored articles", "wall s", "CPU ms/feed", "server CPU s", "requests per poll", "feeds parsed",
         "loop lag max ms", "first poll (no pages)"],
        rows,
    )  # fmt: skip


def report_scaling(results: list[dict[str, Any]]) -> str:
    rows = []
    for r in results:
        ingest = r["ingest_ms_per_article"]
        rows.append(
            [
                f"{r['size']:,}",
                f"{r['fill_s']:.1f}",
                f"{r['warm_up_s']:.2f} ({r['restored']:,})",
                f"{r['snapshot_save_s']:.2f}",
                spread([x["wall"] for x in r["snapshot_start_s"]], 2)
                + ("" if not any(x["replayed"] for x in r["snapshot_start_s"]) else " (rebuilt!)"),
                f"{r['ms_per_article']:.1f}",
                f"{r['cpu_ms_per_article']:.1f}",
                " / ".join(f"{ingest[k]:.2f}" for k in ("dedupe", "cluster", "store")),
                f"{r['peak_mib']:.0f} + {r['peak_workers_mib']:.0f}",
            ]
        )
    return md_table(
        ["stored articles", "prefill s", "window rebuilt from the store s (articles)",
         "snapshot save s", "process start-up from the snapshot s", "wall ms/article",
         "CPU ms/article", "dedupe / cluster / store ms/article", "peak RSS MiB (main + workers)"],
        rows,
    )  # fmt: skip


def report_read(r: dict[str, Any]) -> str:
    rows = [
        [
            what,
            f"{statistics.median(t):.0f}",
            f"{sorted(t)[int(0.95 * (len(t) - 1))]:.0f}",
            f"{min(t):.0f}",
        ]
        for what, t in r["latency_ms"].items()
    ]
    return f"Store of {r['articles']:,} articles.\n\n" + md_table(
        ["request", "median ms", "p95 ms", "fastest ms"], rows
    )


def report_parse(r: dict[str, Any]) -> str:
    rows = []
    for label in ("generated", "corpus"):
        row = r[label]
        floor = statistics.median(row["lxml parse"])
        reader = statistics.median(row["lxml reader"])
        ours = statistics.median(row["parse_feed"])
        rows.append(
            [
                f"{label} ({row['documents']} docs, {row['entries']:,} entries)",
                f"{ours:.0f}",
                f"{reader:.0f}",
                f"{floor:.0f}",
                f"{ours / reader:.1f}x / {ours / floor:.1f}x",
            ]
        )
    return md_table(
        ["documents", "parse_feed ms", "lxml reader ms", "lxml parse ms", "parse_feed vs reader / parse"],
        rows,
    ) + "\n\nTop self time in parse_feed (pyinstrument):\n\n" + report_profile(r["profile"])  # fmt: skip


def report_profile(top: list[tuple[str, float]]) -> str:
    return md_table(["function", "share"], [[f"`{w}`", f"{100 * s:.1f}%"] for w, s in top])


def report_extraction(r: dict[str, Any]) -> str:
    rows = [
        [label, str(v["pages"]), f"{v['kb']:.0f}", f"{v['extract_page_ms']:.0f}",
         f"{v['trafilatura_default_ms']:.0f}", f"{(os.cpu_count() or 1) * 1000 / v['extract_page_ms']:.0f}"]
        for label, v in r.items() if label != "profile"
    ]  # fmt: skip
    return (
        md_table(
            [
                "pages",
                "count",
                "median KB",
                "extract_page CPU ms",
                "trafilatura.extract ms",
                "pages/s on all cores",
            ],
            rows,
        )  # fmt: skip
        + "\n\nTop self time in extract_page on the real pages (pyinstrument):\n\n"
        + report_profile(r["profile"])
    )


def write_report(
    info: dict[str, str], sections: list[tuple[str, str]], args: argparse.Namespace
) -> str:
    command = "make bench" if not args.quick else "bench/bench.py --quick"
    lines = [
        "# Benchmarks",
        "",
        f"Regenerated by `{command}` (bench/bench.py); generated feeds and pages served by "
        f"bench/gen.py from {HOSTS} loopback hosts, politeness off (host_delay 0, per_host = "
        f"concurrency = {CONCURRENCY}). Figures are from a shared machine: the load average "
        "says how busy it was.",
        "",
        md_table(["machine", ""], [[k, v] for k, v in info.items()]),
    ]
    for title, body in sections:
        lines += ["", f"## {title}", "", body]
    return "\n".join(lines) + "\n"


def merge_report(old: str, sections: list[tuple[str, str]], info: dict[str, str]) -> str:
    """``old`` with ``sections`` replacing those of the same title (new ones appended), each
    dated, as they come from another run than the rest."""
    parts = old.rstrip("\n").split("\n## ")
    head, body = parts[0], {p.split("\n", 1)[0]: p for p in parts[1:]}
    stamp = f"(Run on its own: {info['date']}, load average {info['load average at start']}.)"
    for title, text in sections:
        body[title] = f"{title}\n\n{stamp}\n\n{text}\n"
    return "\n## ".join([head, *body.values()]) + "\n"


# --- main -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    ingest: tuple[int, int]  # feeds, articles each
    repeats: int
    steady: tuple[int, ...]
    steady_items: int
    steady_stored: int  # articles in the store before the feeds' own
    scale: tuple[int, ...]
    scale_batch: tuple[int, int]
    reads: int
    parse_generated: int
    real_pages: int
    versus: tuple[int, ...] = (400, 2_000)  # feeds x 30 items, against lemon24/reader
    versus_repeats: int = 3


FULL = Sizes(
    (50, 20), 3, (1_000, 10_000), 2, 100_000, (1_000, 10_000, 100_000), (20, 10), 20, 20, 95
)
QUICK = Sizes((10, 10), 2, (200, 1_000), 2, 5_000, (1_000, 5_000), (10, 5), 5, 5, 20, (100,), 1)


def timed_section(title: str, call: Callable[[], T]) -> T:
    print(f"== {title} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    result = call()
    print(f"   done in {time.perf_counter() - started:.0f}s", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (a minute or two)")
    parser.add_argument(
        "--output", type=Path, default=None, help="default: bench/RESULTS.md (full run)"
    )
    parser.add_argument("--only", default=None, help="sections whose title contains this")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    output = args.output or (None if args.quick else ROOT / "bench" / "RESULTS.md")
    info = machine()
    sections: list[tuple[str, str]] = []

    def want(title: str) -> bool:
        return args.only is None or args.only.lower() in title.lower()

    with FeedServer() as server, tempfile.TemporaryDirectory(prefix="agg-bench-read-") as keep:
        title = "First ingest"
        if want(title):
            r = timed_section(title, lambda: first_ingest(server, *sizes.ingest, sizes.repeats))
            sections.append((title, report_first(r)))
        title = "Steady state: re-polling unchanged feeds"
        if want(title):
            results = [
                timed_section(f"{title} ({n})", lambda n=n: steady_state(server, n, sizes.steady_items, sizes.repeats, sizes.steady_stored))
                for n in sizes.steady
            ]  # fmt: skip
            sections.append((title, report_steady(results)))
        title = "Scaling with the store"
        storage = Path(keep) / "store"
        if want(title) or want("read side"):
            results = timed_section(
                title, lambda: scaling(list(sizes.scale), *sizes.scale_batch, storage)
            )
            sections.append((title, report_scaling(results)))
        if want("read side") and storage.exists():
            r = timed_section("read side", lambda: read_side(storage, sizes.reads))
            sections.append(("Read side", report_read(r)))
        pg_wanted = [t for t in (pg_sections.ENGINES, pg_sections.DAEMONS) if want(t)]
        if pg_wanted:
            pg_sizes = pg_sections.PG_QUICK if args.quick else pg_sections.PG_FULL
            corpus = CORPUS / "clusters" / "ecbplus.jsonl"
            with pg_sections.cluster() as pg:
                if pg_sections.ENGINES in pg_wanted:
                    body = timed_section(
                        pg_sections.ENGINES,
                        lambda: pg_sections.engines(
                            pg, pg_sizes, corpus if corpus.exists() else None
                        ),
                    )
                    sections.append((pg_sections.ENGINES, body))
                if pg_sections.DAEMONS in pg_wanted:
                    body = timed_section(
                        pg_sections.DAEMONS,
                        lambda: pg_sections.daemons(
                            pg,
                            pg_sizes,
                            lambda r, n, k: [f.url for f in server.feeds(r, n, k)],
                            server.prerender,
                        ),
                    )
                    sections.append((pg_sections.DAEMONS, body))
        title = "Event-loop profile of a first ingest"
        if want(title):
            top = timed_section(title, lambda: profile_ingest(server, *sizes.scale_batch))
            sections.append((title, report_profile(top)))
    title = "Against lemon24/reader"
    if want(title):
        from bench import versus_reader

        r = timed_section(
            title, lambda: versus_reader.run_sizes(list(sizes.versus), 30, sizes.versus_repeats)
        )
        sections.append((title, versus_reader.report(r)))
    title = "Parse stage against the lxml floor"
    if want(title):
        r = timed_section(title, lambda: parse_floor(sizes.parse_generated, sizes.repeats))
        sections.append((title, report_parse(r)))
    title = "Extraction cost per page"
    if want(title):
        r = timed_section(title, lambda: extraction_costs(20, sizes.real_pages))
        sections.append((title, report_extraction(r)))
    title = "First ingest of real pages"
    if want(title) and (CORPUS / "pages" / "manifest.jsonl").exists():
        from bench import real_ingest

        with tempfile.TemporaryDirectory(prefix="agg-bench-real-") as tmp:
            out = Path(tmp) / "real.md"
            argv = ["--repeats", str(sizes.repeats), "--output", str(out)]
            timed_section(title, lambda: real_ingest.main(argv))
            body = out.read_text(encoding="utf-8").split("\n", 2)[2]  # its own heading off
        sections.append((title, body))
    text = write_report(info, sections, args)
    if args.only and output is not None and output.exists():
        # a partial run replaces its own sections in the report and keeps the others
        text = merge_report(output.read_text(encoding="utf-8"), sections, info)
    print(text)
    if output is not None:
        output.write_text(text, encoding="utf-8")
        print(f"written to {output}", file=sys.stderr)
    return 0


def scale_main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--storage", required=True)
    parser.add_argument("--json", required=True)
    parser.add_argument("--feeds", type=int, required=True)
    parser.add_argument("--items", type=int, required=True)
    return scale_point_main(parser.parse_args(argv))


if __name__ == "__main__":
    if sys.argv[1:2] == ["_scale"]:
        sys.exit(scale_main(sys.argv[2:]))
    sys.exit(main())
