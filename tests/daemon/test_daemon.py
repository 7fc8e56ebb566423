"""The real daemon as a subprocess: hot reload, invalid edits, SIGTERM mid-poll, SIGHUP."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.support.localsite import LocalSite
from tests.support.sample_news import publish

WAIT = 60.0  # safety net only: every wait below ends as soon as its condition holds


class Daemon:
    def __init__(self, config: Path, storage: Path):
        self.storage = storage
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "aggregator",
                "run",
                "--config",
                str(config),
                "--storage",
                str(storage),
                "--log-level",
                "info",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "NO_PROXY": "*"},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for(self, text: str, after: int = 0) -> int:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for i, line in enumerate(self.lines[after:], after):
                if text in line:
                    return i + 1
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"daemon never logged {text!r}:\n{''.join(self.lines)}")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=WAIT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()

    def articles(self) -> int:
        with sqlite3.connect(f"file:{self.storage / 'aggregator.sqlite3'}?mode=ro", uri=True) as db:
            return db.execute("SELECT count(*) FROM articles").fetchone()[0]


def config_text(urls: list[str], extra: str = "") -> str:
    feeds = "".join(f"  - url: {u}\n    interval: 1h\n" for u in urls)
    return f"feeds:\n{feeds}{extra}settings:\n  host_delay: 0s\n  http: {{port: 0}}\n"


@pytest.fixture
def site():
    with LocalSite() as s:
        yield s


def bump(path: Path, text: str) -> None:
    path.write_text(text)
    # make sure the watcher sees a new mtime even on coarse file systems
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_reload_adds_and_removes_feeds_and_an_invalid_edit_keeps_the_old_config(site, tmp_path):
    feeds = publish(site)
    config = tmp_path / "feeds.yaml"
    config.write_text(config_text([feeds["north"]]))
    daemon = Daemon(config, tmp_path / "store")
    try:
        mark = daemon.wait_for("new articles")
        assert daemon.articles() == 3
        bump(config, config_text([feeds["north"], feeds["south"]]))
        mark = daemon.wait_for("feed added: " + feeds["south"], mark)
        mark = daemon.wait_for("new articles", mark)
        deadline = time.monotonic() + WAIT
        while daemon.articles() < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert daemon.articles() == 6
        bump(config, config_text([feeds["south"]], extra="  colour: blue\n"))
        mark = daemon.wait_for("config not reloaded", mark)
        assert "feeds.yaml:" in daemon.lines[mark - 1]
        bump(config, config_text([feeds["south"]]))
        mark = daemon.wait_for("feed removed: " + feeds["north"], mark)
        assert daemon.articles() == 6  # the removed feed's articles are kept
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for("config reloaded: 1 feeds", mark)
    finally:
        code = daemon.stop()
    assert code == 0, "".join(daemon.lines)


def test_sigterm_mid_poll_exits_zero_and_leaves_a_consistent_store(site, tmp_path):
    feeds = publish(site)
    site.delays["/south/oslo-rate-hike.html"] = 3.0  # a page still loading when SIGTERM comes
    config = tmp_path / "feeds.yaml"
    config.write_text(config_text([feeds["north"], feeds["south"]]))
    daemon = Daemon(config, tmp_path / "store")
    deadline = time.monotonic() + WAIT
    while site.count("/south/oslo-rate-hike.html") == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    code = daemon.stop()
    assert code == 0, "".join(daemon.lines)
    assert any("stopping after in-flight polls" in line for line in daemon.lines)
    db = sqlite3.connect(tmp_path / "store" / "aggregator.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    orphans = db.execute(
        "SELECT count(*) FROM articles a LEFT JOIN stories s ON s.id = a.story_id WHERE s.id IS NULL"
    ).fetchone()[0]
    assert orphans == 0
    # the in-flight poll was allowed to finish: the slow feed's articles are all there
    assert db.execute("SELECT count(*) FROM articles").fetchone()[0] == 6
