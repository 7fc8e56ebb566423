"""Crash consistency: SIGKILL `aggregator run --once` at random moments while the feeds grow,
then run to completion. Every article must be stored exactly once and sit in a live story,
with `PRAGMA integrity_check` ok and no orphan rows.

Half of the kills land at a random time in the expected run; the other half wait until the
run is visibly writing (the article count moves) and strike a few milliseconds later, so the
write path itself is interrupted and not only the fetching before it.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.test_hostile_run import (
    Item,
    aggregator_cmd,
    aggregator_env,
    article_page,
    check_store,
    export_records,
    rss,
    synthetic_article,
    unsound,
)
from tests.support.localsite import LocalSite

DB = "aggregator.sqlite3"


@dataclass
class GrowingOutlets:
    """`feeds` feeds on one local site; publish() adds articles to them round-robin."""

    site: LocalSite
    feeds: int
    items: dict[int, list[Item]] = field(default_factory=dict)
    published: int = 0

    def publish(self, count: int) -> None:
        for _ in range(count):
            i = self.published
            self.published += 1
            feed = i % self.feeds
            title, paragraphs = synthetic_article(f"crash{feed}", i)
            link = self.site.add(f"/c{feed}/{i}.html", article_page(title, paragraphs))
            minute, hour = i % 60, (i // 60) % 24
            day = 10 + (i // 1440) % 15
            published = f"{_weekday(day)}, {day:02d} Nov 2026 {hour:02d}:{minute:02d}:00 GMT"
            item = Item(title, link, f"crash-{i}", paragraphs[0], published)
            self.items.setdefault(feed, []).insert(0, item)  # newest first, like most feeds
        for feed, items in self.items.items():
            self.site.add(f"/c{feed}.xml", rss(f"outlet {feed}", items), "application/rss+xml")

    def urls(self) -> list[str]:
        return [self.site.url(f"/c{feed}.xml") for feed in range(self.feeds)]

    def config(self, path: Path, settings: dict[str, str], *, extract: bool = True) -> Path:
        lines = ["feeds:"]
        for n, url in enumerate(self.urls()):
            lines += [f"  - url: {url}", f"    name: Outlet {n}", f"    extract: {extract}"]
        lines += ["settings:"] + [f"  {k}: {v}" for k, v in settings.items()]
        path.write_text("\n".join(lines) + "\n")
        return path


def _weekday(day: int) -> str:
    # 1 Nov 2026 is a Sunday
    return ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")[(day - 1) % 7]


@dataclass
class CrashReport:
    kills: int = 0
    kills_while_writing: int = 0  # the article count moved during the killed run
    runs_that_finished_first: int = 0
    orphan_processes: int = 0  # descendants still alive 10 s after their parent was killed
    lock_refusals: int = 0  # runs refused because a killed run's lock was still held
    seconds: float = 0.0
    final_returncode: int | None = None
    final_stdout: str = ""


def _count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as c:
            return int(c.execute("SELECT count(*) FROM articles").fetchone()[0])
    except sqlite3.Error:  # the schema is not there yet
        return 0


def _descendants(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    stat = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            # stat[3]: process group; a zombie (state Z) has exited and only awaits reaping
            if int(stat[3]) == pid and int(entry) != pid and stat[0] != b"Z":
                found.append(int(entry))
    return found


def _killed_run(
    args: list[str], *, at: float | None, db: Path, report: CrashReport, rng: random.Random
) -> float | None:
    """Start a run and SIGKILL it `at` seconds in, or (at=None) just after it starts writing.

    Returns how many seconds in the run started writing, when that was seen.
    """
    before = _count(db)
    proc = subprocess.Popen(
        aggregator_cmd(*args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=aggregator_env(),
        start_new_session=True,  # its own process group, to find and clean up orphans
    )
    started = time.monotonic()
    writing_at = None
    try:
        while proc.poll() is None:
            elapsed = time.monotonic() - started
            if writing_at is None and _count(db) != before:
                writing_at = elapsed
                if at is None:
                    time.sleep(rng.uniform(0, 0.03))
                    break
            if (at is not None and elapsed >= at) or elapsed > 120:
                break
            time.sleep(0.005)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)  # the main process only, like the OOM killer
            proc.wait()
            report.kills += 1
            report.kills_while_writing += _count(db) != before
            # the killed run's workers notice and exit; what is left after 10 s is orphaned
            deadline = time.monotonic() + 10
            while _descendants(proc.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            report.orphan_processes += len(_descendants(proc.pid))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
        else:
            report.runs_that_finished_first += 1
            if proc.returncode != 0 and b"already in use" in (proc.stderr.read() or b""):
                report.lock_refusals += 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stderr:
            proc.stderr.close()
    return writing_at


def crash_campaign(
    outlets: GrowingOutlets,
    config: Path,
    storage: Path,
    *,
    kills: int,
    batch: int,
    seed: int = 1,
) -> CrashReport:
    """Publish `batch` articles, start a run, kill it; until `kills` kills; then one full run."""
    rng = random.Random(seed)
    report = CrashReport()
    db = storage / DB
    args = ["run", "--once", "--config", str(config), "--storage", str(storage)]
    writes_start = 3.0  # seconds into a run when it starts writing (learnt as we go)
    started = time.monotonic()
    rounds = 0
    while report.kills < kills and rounds < kills * 3:
        rounds += 1
        outlets.publish(batch)
        # odd rounds: a random moment from start-up to the end of writing; even rounds: just
        # after the first article is written
        at = None if rounds % 2 == 0 else rng.uniform(0.1, 1.3) * writes_start
        seen = _killed_run(args, at=at, db=db, report=report, rng=rng)
        if seen is not None:
            writes_start = seen
    final = subprocess.run(
        aggregator_cmd(*args),
        capture_output=True,
        text=True,
        timeout=300,
        env=aggregator_env(),
    )
    report.final_returncode, report.final_stdout = final.returncode, final.stdout + final.stderr
    report.seconds = time.monotonic() - started
    return report


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    storage = tmp_path / "store"
    with LocalSite("127.0.0.3") as site:
        outlets = GrowingOutlets(site, feeds=6)
        # no page extraction here: its worker pool only slows every run down, and the
        # store's consistency does not depend on it (the soak kills runs that extract)
        config = outlets.config(
            tmp_path / "feeds.yaml",
            {"host_delay": "0s", "per_host": "8", "timeout": "10s", "log_level": "warning"},
            extract=False,
        )
        report = crash_campaign(outlets, config, storage, kills=20, batch=15)
        assert report.kills >= 20, report
        assert report.final_returncode == 0, report.final_stdout[-3000:]
        records = export_records(storage)
    assert outlets.published >= 300
    guids = [r["guid"] for r in records]
    assert len(guids) == len(set(guids)), "an article was stored twice"
    assert set(guids) == {f"crash-{i}" for i in range(outlets.published)}, "an article was lost"
    assert all(r["story"] for r in records)
    checks = check_store(storage / DB)
    assert not unsound(checks), checks
    assert report.kills_while_writing >= 1, report
    assert report.lock_refusals == 0, report
