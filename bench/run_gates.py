"""Quality gates on the real-world corpus (../shared/corpus), as CI runs them.

Each gate is a bench script with its threshold; the run fails when any gate fails.

    .venv/bin/python bench/run_gates.py --corpus ../shared/corpus
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def gates(corpus: Path) -> list[tuple[str, list[str]]]:
    return [
        (
            "parse: entries of the real feed captures",
            ["bench/parse_eval.py", "--corpus", str(corpus / "feeds"), "--min-recall", "0.99"],
        ),
        (
            "entries: distinct entries of the real feed captures stored by the whole pipeline",
            [
                "bench/stored_entries_eval.py",
                "--corpus",
                str(corpus / "feeds"),
                "--min-share",
                "0.99",
                "--max-mojibake",
                "0",
            ],
        ),
        (
            "backlog: 181 new entries, pages past the per-poll cap deferred and drained",
            ["bench/backlog_eval.py", "--entries", "181", "--polls", "3", "--check"],
        ),
        (
            # issue 14 round 2 measured readability 0.9727, news 0.9700, all 0.9513; the floors
            # leave ~0.005 for a new trafilatura release's drift (the pages do not change)
            "extract: word F1 on the real readability pages, the news pages, all usable pages",
            [
                "bench/extract_eval.py",
                "--corpus",
                str(corpus / "pages"),
                "--set",
                "all",
                "--min",
                "readability=0.967",
                "--min",
                "news=0.965",
                "--min",
                "all=0.947",
            ],
        ),
        (
            # dated replay; the goal is ECB+ F1 0.93 at precision 0.95 (issue 13: reached in
            # round 5, 0.933 at 0.993: stories open for a week, a quiet one takes only a
            # confident match); pair F1 printed beside BCubed
            "cluster: BCubed F1 online on ECB+ and UCI, dated replay, and the demo",
            [
                "bench/cluster_eval.py",
                "--min-f1-ecb",
                "0.93",
                "--min-precision-ecb",
                "0.97",
                "--min-f1-uci",
                "0.92",
                "--demo",
                "--min-f1-demo",
                "0.97",
                "--min-precision-demo",
                "1.0",
            ],
        ),
        (
            # 60% of ECB+ records have no date; served as feeds they get the time of the
            # record before them (pubDate), events years apart side by side, which the pair
            # model's time-gap measure reads as closeness: 0.888 at P 0.875 (round 1, without
            # the model: 0.924); 0.914 at P 0.932 since round 5 (a story quiet for a day takes
            # only a confident match). Real feeds date their entries; `aggregator replay` keeps
            # an undated record undated (the cluster gate above: 0.933 at P 0.993)
            "pipeline: ECB+ served as outlets' feeds and pages, whole pipeline",
            [
                "bench/pipeline_eval.py",
                str(corpus / "clusters" / "ecbplus.jsonl"),
                "--min-f1",
                "0.9",
            ],
        ),
        (
            # one busy day: the goal is F1 0.90 at precision 0.93 (issue 13, reached in round
            # 7: 0.916 at 0.937, established stories take a less sure follow-up; 0.885 at
            # 0.924 with the split stage's second reading (round 6), 0.866 at 0.843 without a
            # split stage); the gate is the goal
            "pipeline: ECB+ as 16 outlets over ONE day (every event live at once)",
            [
                "bench/pipeline_eval.py",
                "--one-day",
                str(corpus / "clusters" / "ecbplus.jsonl"),
                "--min-f1",
                "0.9",
                "--min-precision",
                "0.93",
            ],
        ),
        (
            "cluster: stories made of one feed's posts only, real feed captures",
            [
                "bench/feed_stories_eval.py",
                "--corpus",
                str(corpus / "feeds"),
                "--max-single-feed",
                "20",
            ],
        ),
        (
            "pipeline: UCI served as outlets' feeds and pages, whole pipeline",
            ["bench/pipeline_eval.py", str(corpus / "clusters" / "uci.jsonl"), "--min-f1", "0.88"],
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus")
    parser.add_argument("--only", default=None, help="run only gates whose name contains this")
    parser.add_argument("--report", action="store_true", help="(bench) same gates, verbose")
    args = parser.parse_args(argv)
    corpus = args.corpus.resolve()
    if not corpus.is_dir():
        print(f"corpus not found: {corpus}", file=sys.stderr)
        return 2
    failed = []
    for name, command in gates(corpus):
        if args.only and args.only not in name:
            continue
        print(f"== gate: {name}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, *command], cwd=ROOT)
        status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
        print(f"== {status} in {time.monotonic() - started:.1f}s\n", flush=True)
        if result.returncode != 0:
            failed.append(name)
    if failed:
        print("failed gates: " + "; ".join(failed))
        return 1
    print("all gates passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
