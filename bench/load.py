"""Load: 2,000 feeds on local servers, first pass and steady state, with time and memory.

    python bench/load.py [--feeds 2000] [--hosts 40] [--json out.json]

The feeds sit on `--hosts` local servers (127.0.1.1, 127.0.1.2, ...), so the default
politeness applies as it would on the web (2 requests in flight and 1 s between request
starts per host). Sizes are mixed (1 to 60 items), one feed in ten has its article pages
fetched and extracted, and some fail: 404, 500, not a feed, and a body that stalls past the
deadline. Three passes of `aggregator run --once` on one store:

    first    every feed new
    steady   nothing changed: conditional GETs answered 304
    changed  one feed in twenty gained two items

Each pass reports wall time, peak memory of the process tree, and the summary line.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.test_hostile_run import (  # noqa: E402
    Item,
    article_page,
    check_store,
    rss,
    run_measured,
    synthetic_article,
    unsound,
)
from tests.support.localsite import LocalSite  # noqa: E402

SIZES = (1, 5, 10, 20, 20, 40, 60)


def _feed_kind(n: int) -> str:
    if n % 100 == 7:
        return "404"
    if n % 100 == 13:
        return "500"
    if n % 100 == 29:
        return "not-a-feed"
    if n % 250 == 3:
        return "stall"
    return "ok"


class LoadWorld:
    def __init__(self, feeds: int, hosts: int) -> None:
        self.count = feeds
        self.hosts = hosts
        self.sites: list[LocalSite] = []
        self.items: dict[int, list[Item]] = {}
        self.urls: list[str] = []
        self.extract: list[bool] = []
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> LoadWorld:
        for h in range(self.hosts):
            self.sites.append(self._stack.enter_context(LocalSite(f"127.0.1.{h + 1}")))
        for n in range(self.count):
            self._publish(n, SIZES[n % len(SIZES)])
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _site(self, n: int) -> LocalSite:
        return self.sites[n % self.hosts]

    def _publish(self, n: int, new_items: int) -> None:
        site, kind = self._site(n), _feed_kind(n)
        path = f"/feed/{n}.xml"
        if len(self.urls) <= n:
            self.urls.append(site.url(path))
            self.extract.append((n // self.hosts) % 10 == 0)  # spread over the hosts
        if kind == "404":
            return  # LocalSite answers 404 for unknown paths
        if kind == "500":
            site.add(path, "oops", "text/plain", status=500)
            return
        if kind == "not-a-feed":
            site.add(path, "<html><body><p>Not a feed</p></body></html>", "text/html")
            return
        if kind == "stall":
            site.add(path, rss("stall", []), "application/rss+xml")
            site.delays[path] = 60.0  # past the 20 s deadline
            return
        items = self.items.setdefault(n, [])
        for _ in range(new_items):
            i = len(items)
            title, paragraphs = synthetic_article(f"load{n}", i)
            link = site.add(f"/a/{n}/{i}.html", article_page(title, paragraphs))
            published = f"Tue, 10 Nov 2026 {i % 24:02d}:{(n + i) % 60:02d}:00 GMT"
            items.insert(0, Item(title, link, f"load-{n}-{i}", " ".join(paragraphs), published))
        site.add(path, rss(f"load {n}", items), "application/rss+xml")

    def grow(self, every: int, new_items: int) -> int:
        changed = 0
        for n in range(0, self.count, every):
            if _feed_kind(n) == "ok":
                self._publish(n, new_items)
                changed += 1
        return changed

    def config(self, path: Path) -> Path:
        lines = ["feeds:"]
        for n, url in enumerate(self.urls):
            lines += [f"  - url: {url}", f"    extract: {str(self.extract[n]).lower()}"]
        lines += ["settings:", "  log_level: error"]
        path.write_text("\n".join(lines) + "\n")
        return path

    def stored_expected(self) -> int:
        return sum(len(items) for items in self.items.values())


def run_load(feeds: int, hosts: int, workdir: Path) -> dict:
    results: dict = {"feeds": feeds, "hosts": hosts, "passes": []}
    with LoadWorld(feeds, hosts) as world:
        config = world.config(workdir / "feeds.yaml")
        storage = workdir / "store"
        args = ["run", "--once", "--config", str(config), "--storage", str(storage)]
        results["failing_feeds"] = sum(1 for n in range(feeds) if _feed_kind(n) != "ok")
        results["extracting_feeds"] = sum(world.extract)
        for name in ("first", "steady", "changed"):
            changed = world.grow(20, 2) if name == "changed" else 0
            run = run_measured(args, timeout=3600)
            results["passes"].append(
                {
                    "pass": name,
                    "feeds_changed": changed,
                    "returncode": run.returncode,
                    "seconds": round(run.seconds, 1),
                    "maxrss_mib": round(run.maxrss / 2**20),
                    "tree_rss_mib": round(run.tree_rss / 2**20),
                    "summary": run.stdout.strip().splitlines()[-1] if run.stdout.strip() else "",
                    "stderr_tail": run.stderr.strip()[-500:] if run.returncode else "",
                }
            )
        checks = check_store(storage / "aggregator.sqlite3")
        results["articles_expected"] = world.stored_expected()
        results["articles_stored"] = checks["articles"]
        results["store_unsound"] = unsound(checks)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--hosts", type=int, default=40)
    parser.add_argument("--json", default=None, help="write the results here too")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="aggregator-load-") as tmp:
        results = run_load(args.feeds, args.hosts, Path(tmp))
    results["total_seconds"] = round(time.monotonic() - started, 1)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    ok = all(p["returncode"] == 0 for p in results["passes"]) and not results["store_unsound"]
    return 0 if ok and results["articles_stored"] == results["articles_expected"] else 1


if __name__ == "__main__":
    sys.exit(main())
