"""Requests on a second pass over an unchanged site: every feed conditional, no page fetched.

Serves the bundled demo site on 127.0.0.1, runs `aggregator run --once` twice on one
storage directory, and counts what the server answered each time.

    .venv/bin/python bench/second_pass.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aggregator.demo.site import DemoSite  # noqa: E402


def run_once(config: Path, storage: Path) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "aggregator",
            "run",
            "--once",
            "--config",
            str(config),
            "--storage",
            str(storage),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="second-pass-"))
    with DemoSite() as site:
        config = work / "feeds.yaml"
        config.write_text(site.feeds_yaml() + "settings:\n  host_delay: 0s\n  per_host: 8\n")
        feeds = {u.split("?")[0].removeprefix(site.base_url) for u in site.feed_urls()}
        for number in (1, 2):
            before = len(site.requests)
            summary = run_once(config, work / "storage")
            answered = site.requests[before:]
            kinds = Counter(
                ("feed" if path.split("?")[0] in feeds else "page", status)
                for path, status in answered
            )
            print(f"pass {number}: {summary}")
            print(
                f"  {len(answered)} requests: "
                + ", ".join(
                    f"{n} {kind} -> {status}" for (kind, status), n in sorted(kinds.items())
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
