"""The page backlog: a feed listing more new entries than one poll may fetch pages for.

One local feed of N new entries (default 181, each with an article page) is polled by
separate `aggregator run --once` processes (each poll is also a restart). After each poll it
reports the entries stored, the bodies taken from pages, the pages waiting (`status`), and
the page requests the site saw. The gate: every entry stored after the first poll, and every
entry with its page's text after --polls polls, each page fetched once.

    .venv/bin/python bench/backlog_eval.py [--entries 181] [--polls 3] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.commands import aggregator  # noqa: E402
from tests.support.hostile import publish_archive  # noqa: E402
from tests.support.localsite import LocalSite  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=181)
    parser.add_argument("--polls", type=int, default=3)
    parser.add_argument("--check", action="store_true", help="exit 1 unless the gate holds")
    args = parser.parse_args(argv)
    ok = True
    with tempfile.TemporaryDirectory(prefix="backlog-") as tmp, LocalSite() as site:
        publish_archive(site, args.entries)
        config, storage = Path(tmp) / "feeds.yaml", Path(tmp) / "storage"
        config.write_text(
            f"feeds:\n  - url: {site.url('/feed.xml')}\n"
            "settings:\n  host_delay: 0s\n  per_host: 4\n  window: 3650d\n"
        )
        where = ["--config", str(config), "--storage", str(storage)]
        for poll in range(1, args.polls + 1):
            aggregator("run", "--once", *where, timeout=600)
            exported = [json.loads(x) for x in aggregator("export", *where).stdout.splitlines()]
            pages = sum(a["text_source"] == "page" for a in exported)
            waiting = json.loads(aggregator("status", "--json", *where).stdout)["feeds"][0][
                "pages_waiting"
            ]
            print(
                f"poll {poll}: {len(exported)}/{args.entries} entries stored, {pages} bodies "
                f"from pages, {waiting} pages waiting, {site.count('/post/')} page requests"
            )
            if poll == 1:
                ok &= len(exported) == args.entries
        ok &= pages == args.entries and waiting == 0 and site.count("/post/") == args.entries
    print("gate held" if ok else "gate FAILED")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
