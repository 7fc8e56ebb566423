"""First ingest of real article pages, served as outlets' feeds, through `aggregator run --once`.

The usable pages of ../shared/corpus/pages (manifest.jsonl, ``usable: true``) are served as
stored (text/html, the bytes of page.html) from a local HTTP server on 127.0.0.1, a thread of
this process (tests/support/localsite.py, as bench/pipeline_eval.py does), grouped into
``--feeds`` outlets (round robin), each with an RSS 2.0 feed on the same server: per page an
item with the truth title as <title> (the page's own <title> when the truth has none), a
<link> to the page, a <guid>, a <pubDate> spread over the last day and at most a one-line
teaser (``--teaser``: ``meta`` the page's own meta description, as outlets' feeds carry, the
default; ``lead`` the truth text's first sentence; ``none``). Every feed stays under the
pipeline's page cap per poll (MAX_PAGES_PER_POLL), so every page is fetched and extracted.
Pages are on their feed's host, which the address guard trusts; host_delay 0s, per_host 8.

``python -m aggregator run --once`` then runs as a fresh subprocess from empty storage,
``--repeats`` times, timed from outside (wall), its CPU from getrusage(RUSAGE_CHILDREN)
deltas: this process is a child subreaper (Linux prctl) and waits for the extraction workers'
forkserver, which the aggregator leaves to exit on its own; without that the workers' CPU
would be missing. After each run the stored articles (storage/aggregator.sqlite3) are matched
back to their pages by URL and their text scored with bench/extract_eval.py's word_f1 against
truth.json, per extract_eval's sets (load_pages, SETS). A page whose stored text did not come
from the page (text_source != "page", or no article) is a page lost.

    .venv/bin/python bench/real_ingest.py                       # 3 runs, markdown on stdout
    .venv/bin/python bench/real_ingest.py --repeats 1 --output /tmp/real_ingest.md
    .venv/bin/python bench/real_ingest.py --profile --profile-workers 2 --profile-workers 4
    .venv/bin/python bench/real_ingest.py --min-f1-all 0.947    # exit 1 below

``--profile`` adds one run of the same command under a wrapper that prints the poll's
PollReport.stages and the aggregator process's own CPU (the rest of the children's CPU is the
workers'); ``--profile-workers N`` one such run with N extraction workers (patched in the
wrapper); ``--pyinstrument FILE`` runs the profile under pyinstrument. None of them changes
what the timed runs measure.

Versus extract_eval.py --set all the figures agree within ~0.001 per set with the default
teaser. What differs: the pipeline sees every page at host 127.0.0.1, so the Extractor's
per-site memory (aggregator/extract/sites.py) takes all pages for one site and meets them in
the order the concurrent poll extracts them (extract_eval: each page at its own address, in
manifest order); pages without a truth title get their <title> as the feed title (extract_eval:
none). ``--teaser lead`` inflates F1: a page the extractor misses keeps the feed's text, which
for a one-sentence test page is the whole truth.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from html import unescape as html_unescape
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

from aggregator.pipeline import MAX_PAGES_PER_POLL  # noqa: E402
from bench.extract_eval import DEFAULT_CORPUS, SETS, load_pages, word_f1  # noqa: E402
from bench.pipeline_eval import LOCAL_SETTINGS  # noqa: E402
from tests.support.localsite import LocalSite  # noqa: E402

TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
SENTENCE = re.compile(r"(?<=[.!?])\s")
TEASER_WORDS = 25
PR_SET_CHILD_SUBREAPER = 36
# the F1 figures reported: (label, manifest predicate or None for every usable page)
REPORTED = (
    ("readability (real captures)", SETS["readability"]),
    ("news (is_news real captures)", SETS["news"]),
    ("newspaper", SETS["newspaper"]),
    ("all usable", None),
)

# run --once under a wrapper (--profile): the poll's stage timings and this process's own CPU
PROFILE_WRAPPER = """
import resource, runpy, sys

def staged(summary):
    def line(self):
        rows = sorted(self.stages.items(), key=lambda kv: -kv[1].seconds)
        stages = "; ".join(f"{k} {v.calls} calls {v.seconds:.2f}s" for k, v in rows)
        return summary(self) + "\\nSTAGES " + stages
    return line

# guarded: the forkserver's workers import __main__
if __name__ == "__main__":
    import os
    from aggregator.pipeline import records
    if os.environ.get("REAL_INGEST_WORKERS"):
        from aggregator.extract import workers
        init = workers.Workers.__init__
        def fixed(self, workers=None, **options):
            init(self, int(os.environ["REAL_INGEST_WORKERS"]), **options)
        workers.Workers.__init__ = fixed
    records.PollReport.summary = staged(records.PollReport.summary)
    sys.argv = ["aggregator", *sys.argv[1:]]
    try:
        runpy.run_module("aggregator", run_name="__main__", alter_sys=True)
    except SystemExit as done:
        code = done.code
    else:
        code = 0
    own = resource.getrusage(resource.RUSAGE_SELF)
    print(f"SELFCPU {own.ru_utime + own.ru_stime:.3f}", flush=True)
    sys.exit(code)
"""


@dataclass
class Page:
    name: str
    row: dict[str, Any]
    truth: dict[str, Any]
    html: bytes
    title: str
    path: str = ""
    url: str = ""


@dataclass
class RunResult:
    wall: float
    cpu: float
    report: str
    f1: dict[str, float]
    lost: list[str]
    stored: int
    extra: list[str] = field(default_factory=list)


def page_title(page: bytes) -> str:
    found = TITLE.search(page[:200_000])
    if not found:
        return ""
    return " ".join(html_unescape(found.group(1).decode("utf-8", "replace")).split())


def meta_description(page: bytes) -> str:
    """The page's own <meta name="description"> (or og:description): what outlets' feeds
    usually carry as an item's description."""
    from lxml import html as lxml_html

    try:
        tree = lxml_html.fromstring(page)
    except (ValueError, lxml_html.etree.ParserError):
        return ""
    for xpath in (
        "//meta[@name='description']/@content",
        "//meta[@property='og:description']/@content",
    ):
        found = [" ".join(str(x).split()) for x in tree.xpath(xpath)]
        if found and found[0]:
            return found[0]
    return ""


def teaser(page: Page, mode: str) -> str:
    """One line at most, TEASER_WORDS words: ``meta`` the page's meta description, ``lead``
    the truth text's first sentence (for tiny pages that is the whole truth: a page the
    extractor misses then keeps the truth as the feed's text), ``none`` nothing."""
    if mode == "meta":
        line = meta_description(page.html)
    elif mode == "lead":
        line = SENTENCE.split(" ".join(page.truth["text"].split()), maxsplit=1)[0]
    else:
        return ""
    words = line.split()
    return " ".join(words[:TEASER_WORDS]) + ("…" if len(words) > TEASER_WORDS else "")


def read_pages(corpus: Path) -> list[Page]:
    pages = []
    for row in load_pages(corpus, "all"):
        folder = corpus / row["name"]
        truth = json.loads((folder / "truth.json").read_text())
        html = (folder / "page.html").read_bytes()
        title = (truth.get("title") or "").strip() or page_title(html) or row["name"]
        pages.append(Page(row["name"], row, truth, html, title))
    return pages


def rss(outlet: str, base: str, items: list[Page], times: list[datetime], mode: str) -> str:
    out = []
    for page, when in zip(items, times, strict=True):
        line = teaser(page, mode)
        description = f"<description>{escape(line)}</description>" if line else ""
        out.append(
            f"<item><title>{escape(page.title)}</title><link>{escape(page.url)}</link>"
            f'<guid isPermaLink="false">{escape(page.name)}</guid>'
            f"<pubDate>{format_datetime(when)}</pubDate>{description}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{outlet}</title><link>{base}/{outlet}/</link><description>{outlet}</description>"
        + "".join(out)
        + "</channel></rss>"
    )


def publish(site: LocalSite, pages: list[Page], feeds: int, mode: str) -> list[tuple[str, str]]:
    """Pages and feeds onto the site; [(outlet, feed url)]. Round robin over the outlets, times
    spread evenly over the day before now (newest last)."""
    if -(-len(pages) // feeds) > MAX_PAGES_PER_POLL:
        raise SystemExit(f"{len(pages)} pages in {feeds} feeds: over {MAX_PAGES_PER_POLL} a feed")
    end = datetime.now(UTC).replace(microsecond=0)
    step = timedelta(days=1) / max(len(pages), 1)
    times = {p.name: end - timedelta(days=1) + (i + 1) * step for i, p in enumerate(pages)}
    by_outlet: dict[str, list[Page]] = {}
    for i, page in enumerate(pages):
        outlet = f"outlet-{i % feeds + 1:02d}"
        page.path = f"/{outlet}/{page.name}.html"
        page.url = site.add(page.path, page.html, "text/html")
        by_outlet.setdefault(outlet, []).append(page)
    result = []
    for outlet, items in sorted(by_outlet.items()):
        body = rss(outlet, site.base_url, items, [times[p.name] for p in items], mode)
        result.append((outlet, site.add(f"/{outlet}/feed.xml", body, "application/rss+xml")))
    return result


def write_config(path: Path, feeds: list[tuple[str, str]]) -> None:
    lines = ["feeds:"]
    for outlet, url in feeds:
        lines += [f"  - url: {url}", f"    name: {outlet}"]
    lines += LOCAL_SETTINGS  # pipeline_eval.py's: a local server's outlets
    path.write_text("\n".join(lines) + "\n")


def become_subreaper() -> bool:
    """Linux: orphaned descendants (the extraction workers' forkserver, which the aggregator
    leaves to exit on its own) become this process's children, so that their CPU reaches
    RUSAGE_CHILDREN once reap_orphans() has waited for them."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_orphans(timeout: float = 30.0) -> int:
    """Wait for every remaining child (orphans handed to us); how many there were."""
    reaped, deadline = 0, time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return reaped
        if pid:
            reaped += 1
        else:
            time.sleep(0.02)
    print(f"warning: children still running after {timeout:.0f} s", file=sys.stderr)
    return reaped


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def score(storage: Path, pages: list[Page]) -> tuple[dict[str, float], list[str], int]:
    """Mean word F1 per reported set, the pages lost, the articles stored; with --keep, each
    page's F1 and text source also go to scores.jsonl in the storage folder."""
    db = sqlite3.connect(storage / "aggregator.sqlite3")
    try:
        rows = {
            url: (text, source)
            for url, text, source in db.execute("SELECT url, text, text_source FROM articles")
        }
    finally:
        db.close()
    per_page, lost, scored = {}, [], []
    for page in pages:
        text, source = rows.get(page.url, ("", "missing"))
        if source != "page":
            lost.append(f"{page.name} ({source})")
        per_page[page.name] = word_f1(text, page.truth["text"])
        scored.append({"name": page.name, "f1": per_page[page.name], "source": source})
    (storage / "scores.jsonl").write_text("".join(json.dumps(x) + "\n" for x in scored))
    f1 = {}
    for label, keep in REPORTED:
        chosen = [per_page[p.name] for p in pages if keep is None or keep(p.row)]
        f1[label] = statistics.mean(chosen) if chosen else float("nan")
    return f1, lost, len(rows)


def once(
    command: list[str], storage: Path, pages: list[Page], extra_env: dict[str, str] | None = None
) -> RunResult:
    shutil.rmtree(storage, ignore_errors=True)
    cpu0, started = children_cpu(), time.monotonic()
    # this checkout's aggregator, also for the profile wrapper (a script outside it)
    path = os.pathsep.join(filter(None, [str(PROJECT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, **(extra_env or {})}
    done = subprocess.run(command, capture_output=True, text=True, cwd=PROJECT, env=env)
    wall = time.monotonic() - started
    orphans = reap_orphans()
    cpu = children_cpu() - cpu0
    if done.returncode != 0:
        raise SystemExit(f"run --once failed ({done.returncode}):\n{done.stderr[-4000:]}")
    lines = done.stdout.strip().splitlines()
    f1, lost, stored = score(storage, pages)
    extra = [*lines[1:], f"ORPHANS {orphans}"]
    return RunResult(wall, cpu, lines[0] if lines else "", f1, lost, stored, extra)


def markdown(
    runs: list[RunResult], pages: list[Page], feeds: int, args: argparse.Namespace, cmd: str
) -> str:
    from bench.bench import spread  # median (min-max), as every other section prints it

    n = len(pages)
    cores = os.cpu_count() or 1
    walls = [r.wall for r in runs]
    out = [
        f"## Real pages, first ingest through `aggregator run --once` ({len(runs)} runs)",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average before: "
        + ", ".join(f"{x:.2f}" for x in args.load_before)
        + "; after: "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        f"- command: `{cmd}`",
        f"- pages: {n} usable corpus pages in {feeds} RSS feeds "
        f"(item description: {args.teaser}), served from 127.0.0.1",
        f"- report line: `{runs[-1].report}`",
        "- CPU: getrusage(RUSAGE_CHILDREN) deltas over each run, this process being a child "
        "subreaper that waits for the orphaned worker processes too"
        + ("" if args.subreaper else " (NOT available here: workers' CPU may be missing)"),
        "",
        "| measure | median (min-max) |",
        "| --- | --- |",
        f"| wall s | {spread(walls, 2)} |",
        f"| pages/s end to end | {spread([n / w for w in walls], 1)} |",
        f"| CPU ms/page (aggregator + workers) | {spread([1000 * r.cpu / n for r in runs], 0)} |",
        f"| share of the {cores} cores used | "
        f"{spread([100 * r.cpu / (r.wall * cores) for r in runs], 0)} % |",
    ]
    for label, _ in REPORTED:
        count = sum(
            1 for p in pages if dict(REPORTED)[label] is None or dict(REPORTED)[label](p.row)
        )
        out.append(f"| word F1, {label} ({count}) | {spread([r.f1[label] for r in runs], 4)} |")
    out.append(
        f"| pages lost (text not from the page) | {spread([len(r.lost) for r in runs], 0)} |"
    )
    lost = sorted({name for r in runs for name in r.lost})
    if lost:
        out += ["", "Pages lost in some run: " + ", ".join(lost)]
    return "\n".join(out) + "\n"


def profile(
    args: argparse.Namespace,
    base: list[str],
    storage: Path,
    pages: list[Page],
    workers: int | None = None,
) -> str:
    """One more run under PROFILE_WRAPPER: the poll's stages, and own CPU vs the workers'."""
    python = [sys.executable]
    instrumented = bool(args.pyinstrument) and workers is None
    if instrumented:
        python += ["-m", "pyinstrument", "-o", str(args.pyinstrument), "-r", "text"]
    wrapper = storage.parent / "profile_wrapper.py"
    wrapper.write_text(PROFILE_WRAPPER)
    env = {"REAL_INGEST_WORKERS": str(workers)} if workers else {}
    result = once([*python, str(wrapper), *base], storage, pages, env)
    own = next((float(x.split()[1]) for x in result.extra if x.startswith("SELFCPU")), 0.0)
    stages = next((x[len("STAGES ") :] for x in result.extra if x.startswith("STAGES")), "")
    n = len(pages)
    title = f"{workers} extraction workers" if workers else "the aggregator's own worker count"
    out = [
        "",
        f"### Profile run ({title})",
        "",
        f"- wall {result.wall:.2f} s ({n / result.wall:.1f} pages/s), CPU {result.cpu:.2f} s "
        f"({100 * result.cpu / (result.wall * (os.cpu_count() or 1)):.0f} % of the cores): "
        f"aggregator process {own:.2f} s ({1000 * own / n:.0f} ms/page), workers and forkserver "
        f"{result.cpu - own:.2f} s ({1000 * (result.cpu - own) / n:.0f} ms/page)"
        + (" (pyinstrument's overhead is in the aggregator's)" if instrumented else ""),
        f"- F1 all {result.f1['all usable']:.4f}, pages lost {len(result.lost)}",
        f"- stages (awaiting stages overlap, their seconds add up waits; aggregator/timing.py): "
        f"{stages}",
    ]
    if instrumented:
        out.append(f"- pyinstrument report: {args.pyinstrument}")
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="pages directory")
    parser.add_argument("--feeds", type=int, default=16, help="outlets (one RSS feed each)")
    parser.add_argument("--repeats", type=int, default=3, help="runs, each from empty storage")
    parser.add_argument(
        "--teaser",
        choices=("meta", "lead", "none"),
        default="meta",
        help="each item's <description>: the page's meta description (default), the truth's "
        "first sentence, or none",
    )
    parser.add_argument(
        "--profile-workers",
        type=int,
        action="append",
        default=[],
        metavar="N",
        help="one more profile run with N extraction workers (patched in the wrapper, where "
        "the aggregator takes cores + 1); repeatable",
    )
    parser.add_argument("--output", type=Path, default=None, help="also write the markdown here")
    parser.add_argument("--keep", type=Path, default=None, help="work directory to keep")
    parser.add_argument("--profile", action="store_true", help="one more run with stage times")
    parser.add_argument(
        "--pyinstrument", type=Path, default=None, help="profile under pyinstrument"
    )
    parser.add_argument("--min-f1-all", type=float, default=None, help="exit 1 when lower")
    args = parser.parse_args(argv)
    args.load_before = os.getloadavg()
    cmd = shlex.join(["python", "bench/real_ingest.py", *(sys.argv[1:] if argv is None else argv)])

    args.subreaper = become_subreaper()
    pages = read_pages(args.corpus)
    if not pages:
        print(f"no usable pages in {args.corpus}", file=sys.stderr)
        return 2
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="real-ingest-"))
    work.mkdir(parents=True, exist_ok=True)
    config, storage = work / "feeds.yaml", work / "storage"
    base = ["run", "--once", "--config", str(config), "--storage", str(storage)]
    base += ["--log-level", "warning"]
    try:
        with LocalSite() as site:
            feeds = publish(site, pages, args.feeds, args.teaser)
            write_config(config, feeds)
            runs = []
            for i in range(args.repeats):
                runs.append(once([sys.executable, "-m", "aggregator", *base], storage, pages))
                r = runs[-1]
                print(
                    f"run {i + 1}: {r.wall:.2f} s wall, {r.cpu:.2f} s CPU, "
                    f"F1 all {r.f1['all usable']:.4f}, lost {len(r.lost)}, {r.extra[-1]}; "
                    f"{r.report}",
                    file=sys.stderr,
                )
            text = markdown(runs, pages, len(feeds), args, cmd)
            if args.profile or args.pyinstrument:
                text += profile(args, base, storage, pages)
            for workers in args.profile_workers:
                text += profile(args, base, storage, pages, workers)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(text)
    if args.output:
        args.output.write_text(text)
    if args.min_f1_all is not None and runs[-1].f1["all usable"] < args.min_f1_all:
        print(f"FAIL: F1 all {runs[-1].f1['all usable']:.4f} < {args.min_f1_all}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
