"""Readers during a large ingest: the HTTP API, the digest and the export read while
`aggregator replay` writes thousands of articles. Every answer must be consistent (one
snapshot of the store) and no reader may see "database is locked" or any other error.

Read latencies (p50/p99 per reader) are measured and reported, never asserted.

Consistency, per answer:
    export   no article twice; every article in a story; the count never goes down
    digest   no article in two stories; each story's article count as its record says
    API      200s only; a story's detail lists as many articles as its summary counts
    CLI      `aggregator digest|export|status` exit 0 while the writer runs
"""

from __future__ import annotations

import contextlib
import json
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from aggregator.read.digest import build_digest
from aggregator.store.sqlite import SqliteStore
from tests.e2e.test_hostile_run import _WORDS, aggregator_cmd, aggregator_env

# ----------------------------------------------------------------------------- the writer


def replay_records(count: int, *, seed: int = 5) -> list[dict]:
    """`count` recorded articles in events of 1-4 outlets each (so stories grow and merge)."""
    rng = random.Random(seed)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    records: list[dict] = []
    event = 0
    while len(records) < count:
        event += 1
        topic = [w.title() for w in rng.sample(_WORDS, 6)]
        base = " ".join(rng.sample(_WORDS, 40))
        when = start + timedelta(minutes=7 * event)
        for member in range(rng.randint(1, 4)):
            own = " ".join(rng.sample(_WORDS, 15))
            title = f"{topic[0]} {topic[1]} {topic[2]} {rng.choice(topic[3:])} report {member}"
            records.append(
                {
                    "id": f"e{event}-m{member}",
                    "cluster_id": f"e{event}",
                    "title": title,
                    "text": f"{' '.join(topic)} {base} {own}",
                    "source": f"Outlet {member}",
                    "feed": f"http://127.0.0.4/outlet{member}.xml",
                    "published": (when + timedelta(minutes=member)).isoformat(),
                    "url": f"http://127.0.0.4/{event}/{member}.html",
                }
            )
    return records[:count]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


# ----------------------------------------------------------------------------- readers


@dataclass
class ReaderLog:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    inconsistencies: list[str] = field(default_factory=list)

    def timed(self, call: Callable[[], None]) -> None:
        started = time.perf_counter()
        try:
            call()
        except Exception as exc:  # every failure is a finding, reported with its text
            self.errors.append(f"{type(exc).__name__}: {exc}")
        self.latencies.append(time.perf_counter() - started)

    def figures(self) -> dict[str, float]:
        ms = sorted(x * 1000 for x in self.latencies)
        if not ms:
            return {"reads": 0}
        p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
        return {
            "reads": len(ms),
            "p50_ms": round(statistics.median(ms), 1),
            "p99_ms": round(p99, 1),
            "max_ms": round(ms[-1], 1),
        }


class Readers:
    """Reader threads that loop until stop() (each its own connections, like real readers)."""

    def __init__(self, storage: Path, api_url: str) -> None:
        self.storage = storage
        self.api_url = api_url
        self.stop_event = threading.Event()
        self.logs = {n: ReaderLog(n) for n in ("api", "digest", "export", "cli")}
        self._last_export = 0
        self._threads = [
            threading.Thread(target=self._loop, args=(name,), daemon=True) for name in self.logs
        ]

    def __enter__(self) -> Readers:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        for t in self._threads:
            t.join(timeout=120)

    def _loop(self, name: str) -> None:
        log = self.logs[name]
        step = {"api": self._api, "digest": self._digest, "export": self._export, "cli": self._cli}
        client = httpx.Client(timeout=60, trust_env=False)
        rng = random.Random(name)
        with client:
            while not self.stop_event.is_set():
                log.timed(lambda: step[name](log, client, rng))

    def _api(self, log: ReaderLog, client: httpx.Client, rng: random.Random) -> None:
        offset = rng.choice([0, 0, 20, 100])
        page = client.get(f"{self.api_url}/api/stories", params={"limit": 20, "offset": offset})
        page.raise_for_status()
        stories = page.json()["stories"]
        if stories:
            story = rng.choice(stories)
            detail = client.get(self.api_url + story["links"]["self"], follow_redirects=True)
            detail.raise_for_status()
            doc = detail.json()
            if doc.get("article_count") != len(doc["articles"]):
                log.inconsistencies.append(
                    f"story {doc['id']}: article_count {doc.get('article_count')} but "
                    f"{len(doc['articles'])} articles listed"
                )
        client.get(f"{self.api_url}/api/articles", params={"limit": 20}).raise_for_status()

    def _digest(self, log: ReaderLog, client: httpx.Client, rng: random.Random) -> None:
        store = SqliteStore(self.storage, readonly=True)
        try:
            digest = build_digest(store, now=datetime.now(UTC), since=None, limit=200)
            records = store.stories()
            articles = store.stories_articles([r.id for r in records])
        finally:
            store.close()
        seen: dict[str, str] = {}
        for story in digest.stories:
            for article in story.articles:
                key = article.url or article.title
                if key in seen and seen[key] != story.id:
                    log.inconsistencies.append(f"{key} in stories {seen[key]} and {story.id}")
                seen[key] = story.id
        for record in records:
            if record.article_count != len(articles[record.id]):
                log.inconsistencies.append(
                    f"story {record.id}: counted {record.article_count}, "
                    f"read {len(articles[record.id])} articles"
                )

    def _export(self, log: ReaderLog, client: httpx.Client, rng: random.Random) -> None:
        store = SqliteStore(self.storage, readonly=True)
        try:
            rows = [(a.key, a.story_id) for a in store.articles()]
        finally:
            store.close()
        keys = [k for k, _ in rows]
        if len(keys) != len(set(keys)):
            log.inconsistencies.append("an article exported twice")
        if any(story is None for _, story in rows):
            log.inconsistencies.append("an exported article has no story")
        if len(rows) < self._last_export:
            log.inconsistencies.append(f"export shrank from {self._last_export} to {len(rows)}")
        self._last_export = len(rows)

    def _cli(self, log: ReaderLog, client: httpx.Client, rng: random.Random) -> None:
        command = rng.choice(
            [
                ["digest", "--since", "all", "--format", "json", "--limit", "20"],
                ["export"],
                ["status", "--json"],
            ]
        )
        result = subprocess.run(
            aggregator_cmd(*command, "--storage", str(self.storage)),
            capture_output=True,
            text=True,
            timeout=120,
            env=aggregator_env(),
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"aggregator {command[0]} exited {result.returncode}: "
                f"{result.stderr.strip()[-300:]}"
            )


# ----------------------------------------------------------------------------- the run

_SERVE = """
import sys, time
from pathlib import Path
from aggregator.web.app import ServerThread, create_app
with ServerThread(create_app(Path(sys.argv[1]))) as server:
    print(server.url, flush=True)
    sys.stdin.read()  # until the test closes our stdin
"""


@contextlib.contextmanager
def api_server(storage: Path):  # noqa: ANN201 - yields the base URL
    proc = subprocess.Popen(
        [sys.executable, "-c", _SERVE, str(storage)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=aggregator_env(),
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class ConcurrencyReport:
    articles: int
    write_seconds: float
    writer_returncode: int
    writer_output: str
    readers: dict[str, dict[str, float]]
    errors: dict[str, list[str]]
    inconsistencies: dict[str, list[str]]


def readers_during_ingest(workdir: Path, *, seed_count: int, count: int) -> ConcurrencyReport:
    """Replay `seed_count` articles, then `count` more while the readers read."""
    storage = workdir / "store"
    records = replay_records(seed_count + count)
    seed = write_jsonl(workdir / "seed.jsonl", records[:seed_count])
    bulk = write_jsonl(workdir / "bulk.jsonl", records[seed_count:])
    subprocess.run(
        aggregator_cmd("replay", str(seed), "--storage", str(storage)),
        check=True,
        capture_output=True,
        timeout=300,
        env=aggregator_env(),
    )
    with api_server(storage) as url, Readers(storage, url) as readers:
        started = time.monotonic()
        writer = subprocess.run(
            aggregator_cmd("replay", str(bulk), "--storage", str(storage)),
            capture_output=True,
            text=True,
            timeout=900,
            env=aggregator_env(),
        )
        write_seconds = time.monotonic() - started
    logs = readers.logs.values()
    return ConcurrencyReport(
        articles=seed_count + count,
        write_seconds=write_seconds,
        writer_returncode=writer.returncode,
        writer_output=writer.stdout + writer.stderr,
        readers={log.name: log.figures() for log in logs},
        errors={log.name: log.errors for log in logs if log.errors},
        inconsistencies={log.name: log.inconsistencies[:10] for log in logs if log.inconsistencies},
    )


def test_readers_during_a_large_ingest_see_consistent_answers(tmp_path: Path) -> None:
    report = readers_during_ingest(tmp_path, seed_count=200, count=2_500)
    assert report.writer_returncode == 0, report.writer_output
    assert not report.errors, report.errors
    assert not report.inconsistencies, report.inconsistencies
    # every reader actually read during the ingest, more than once
    assert all(figures["reads"] >= 2 for figures in report.readers.values()), report.readers
    print(json.dumps(report.readers))
