"""The soak: the hostile world at full size, the address guard, crash consistency, readers
under write load, a fuzz of the parse and extract entry points, and the 2,000-feed load.
Writes the results table to bench/SOAK.md (the raw figures too, with --json PATH).

    python bench/soak.py            # everything (about 20-30 minutes on 2 cores)
    python bench/soak.py --quick    # smaller sizes, a few minutes: checks the soak itself
    python bench/soak.py --only hostile,fuzz

Every server is started here on 127.x addresses; nothing leaves the machine. The tests in
tests/e2e/test_hostile_run.py, test_crash.py, test_concurrency.py and test_fuzz_props.py run the
same checks at `make test` sizes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import run_load  # noqa: E402
from tests.e2e.test_concurrency import readers_during_ingest  # noqa: E402
from tests.e2e.test_crash import DB, GrowingOutlets, crash_campaign  # noqa: E402
from tests.support.commands import RUN_LIMIT_SECONDS, GiB, export_records, run_measured  # noqa: E402
from tests.support.hostile import HostileWorld, check_store, unsound  # noqa: E402
from tests.support.localsite import LocalSite  # noqa: E402

MiB = 2**20
Row = dict[str, str]


# ----------------------------------------------------------------------------- sections


def hostile(work: Path, quick: bool) -> tuple[Row, dict]:
    entries = 5_000 if quick else 50_000
    with HostileWorld(work, huge_entries=entries) as world:
        config = world.config(work / "feeds.yaml")  # default settings: 20 s deadline, politeness
        storage = work / "store"
        run = run_measured(
            ["run", "--once", "--config", str(config), "--storage", str(storage)],
            timeout=RUN_LIMIT_SECONDS * 3,
        )
        records = export_records(storage)
        huge_pages = world.sites["huge-feed"].count("/h/")
    by_guid = {r["guid"] for r in records}
    good = sum(1 for g in world.good_guids if g in by_guid)
    page_attacks = sum(1 for g in world.page_attack_guids if g in by_guid)
    huge_url = next(u for u, a in world.feed_attacks.items() if a == "huge-feed")
    huge_stored = sum(1 for r in records if r["feed"] == huge_url)
    leaked = world.secret in json.dumps(records)
    checks = check_store(storage / DB)
    held = (
        run.returncode == 0
        and run.seconds < RUN_LIMIT_SECONDS
        and max(run.maxrss, run.tree_rss) < GiB
        and good == len(world.good_guids)
        and page_attacks == len(world.page_attack_guids)
        and not leaked
        and not unsound(checks)
    )
    figures = {
        "feeds": len(world.feeds),
        "seconds": round(run.seconds, 1),
        "maxrss_mib": round(run.maxrss / MiB),
        "tree_rss_mib": round(run.tree_rss / MiB),
        "summary": run.stdout.strip(),
        "good_entries": f"{good}/{len(world.good_guids)}",
        "hostile_page_items_kept": f"{page_attacks}/{len(world.page_attack_guids)}",
        "huge_feed_entries": entries,
        "huge_feed_stored": huge_stored,
        "huge_feed_pages_fetched": huge_pages,
        "secret_leaked": leaked,
        "store_unsound": unsound(checks),
    }
    row = {
        "what": (
            f"`run --once` over {len(world.feeds)} feeds: {len(world.feed_attacks)} hostile "
            f"feeds + the same {len(world.page_attack_guids)} behaviours as article pages, "
            f"{entries:,}-entry feed, 10 MB garbage"
        ),
        "how often": "1 run",
        "figures": (
            f"{run.seconds:.0f} s (limit {RUN_LIMIT_SECONDS}); peak RSS {run.maxrss / MiB:.0f} "
            f"MiB, process tree {run.tree_rss / MiB:.0f} MiB (limit 1024); good entries "
            f"{good}/{len(world.good_guids)}; huge feed: {huge_stored:,} stored, "
            f"{huge_pages} pages fetched; secret leaked: {'yes' if leaked else 'no'}"
        ),
        "held": "yes" if held else "NO",
    }
    return row, figures


def guard(work: Path, quick: bool) -> tuple[Row, dict]:
    from tests import test_hostile_run as t

    outcomes = {}
    for name in (
        "test_article_links_never_reach_a_guarded_host",
        "test_metadata_address_is_refused_before_any_connection",
    ):
        folder = work / name
        folder.mkdir()
        try:
            getattr(t, name)(folder)
            outcomes[name] = "passed"
        except AssertionError as exc:
            outcomes[name] = f"FAILED: {exc}"
    held = all(v == "passed" for v in outcomes.values())
    row = {
        "what": (
            "address guard: items linking to another 127.x host, `localhost`, `[::1]`, "
            "169.254.169.254 (also as ::ffff: and decimal), 10.x, `file://`, `javascript:`, "
            "a same-host page redirecting to the guarded host"
        ),
        "how often": "2 runs (one real subprocess, one in-process with a recording transport)",
        "figures": "requests received by guarded hosts: 0" if held else json.dumps(outcomes),
        "held": "yes" if held else "NO",
    }
    return row, outcomes


def crash(work: Path, quick: bool) -> tuple[Row, dict]:
    kills, batch = (10, 15) if quick else (40, 15)
    storage = work / "store"
    with LocalSite("127.0.0.3") as site:
        outlets = GrowingOutlets(site, feeds=8)
        config = outlets.config(
            work / "feeds.yaml",
            {"host_delay": "0s", "per_host": "8", "timeout": "10s", "log_level": "warning"},
        )
        report = crash_campaign(outlets, config, storage, kills=kills, batch=batch, seed=11)
        records = export_records(storage)
    guids = [r["guid"] for r in records]
    expected = {f"crash-{i}" for i in range(outlets.published)}
    checks = check_store(storage / DB)
    twice = len(guids) - len(set(guids))
    lost = len(expected - set(guids))
    held = (
        report.final_returncode == 0
        and not twice
        and not lost
        and all(r["story"] for r in records)
        and not unsound(checks)
        and report.lock_refusals == 0
    )
    figures = {**report.__dict__, "published": outlets.published, "twice": twice, "lost": lost}
    figures["store_unsound"] = unsound(checks)
    row = {
        "what": (
            f"SIGKILL of `run --once` (with page extraction) at random moments while "
            f"{outlets.published} articles arrive, then one run to completion"
        ),
        "how often": f"{report.kills} kills ({report.kills_while_writing} while writing)",
        "figures": (
            f"stored {len(set(guids))}/{outlets.published}, twice {twice}, lost {lost}, "
            f"integrity {'ok' if checks['integrity_ok'] else 'BAD'}, orphan rows 0"
            if not unsound(checks)
            else f"unsound: {unsound(checks)}"
        )
        + f"; orphaned worker processes after the kills: {report.orphan_processes}",
        "held": "yes" if held else "NO",
    }
    return row, figures


def concurrency(work: Path, quick: bool) -> tuple[Row, dict]:
    seed, count = (200, 2_000) if quick else (500, 10_000)
    report = readers_during_ingest(work, seed_count=seed, count=count)
    held = not report.errors and not report.inconsistencies and report.writer_returncode == 0
    latency = "; ".join(
        f"{name} p50 {f.get('p50_ms', '-')} ms / p99 {f.get('p99_ms', '-')} ms ({f['reads']} reads)"
        for name, f in report.readers.items()
    )
    row = {
        "what": (
            f"readers (HTTP API, digest, export, CLI commands) while `replay` writes "
            f"{count:,} articles"
        ),
        "how often": f"{sum(f['reads'] for f in report.readers.values())} reads over "
        f"{report.write_seconds:.0f} s",
        "figures": f"{latency}; errors {sum(len(e) for e in report.errors.values())}, "
        f"inconsistent answers {sum(len(i) for i in report.inconsistencies.values())}",
        "held": "yes" if held else "NO",
    }
    return row, report.__dict__


def fuzz(work: Path, quick: bool) -> tuple[Row, dict]:
    examples = 300 if quick else 3_000
    results = {name: _fuzz(name, examples) for name in ("parse_feed", "extract_page")}
    held = all(not r["failures"] for r in results.values())
    row = {
        "what": "hypothesis fuzz of `parse_feed` (random bytes, damaged RSS/Atom/JSON Feed) and "
        "`extract_page` (random bytes, damaged and deeply nested HTML)",
        "how often": ", ".join(f"{n}: {r['examples']:,} inputs" for n, r in results.items()),
        "figures": ", ".join(
            f"{n}: {r['seconds']:.0f} s, unexpected exceptions {len(r['failures'])}"
            for n, r in results.items()
        ),
        "held": "yes" if held else "NO",
    }
    return row, results


def _fuzz(name: str, examples: int) -> dict:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from aggregator.errors import ParseError
    from aggregator.extract.body import extract_page
    from aggregator.parse.feed import parse_feed
    from tests.e2e.test_fuzz_props import _atom, _entries, _json_feed, _rss
    from tests.support.hostile import article_page, nested_html, synthetic_article

    def damaged(data: bytes, flips: list[tuple[int, int]], cut: int | None) -> bytes:
        out = bytearray(data)
        for where, value in flips:
            out[where % len(out)] = value
        if cut is not None:
            del out[cut % len(out) :]
        return bytes(out)

    flips = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=10)
    cuts = st.one_of(st.none(), st.integers(0, 10**6))
    if name == "parse_feed":
        valid = st.builds(
            lambda entries, kind: {"rss": _rss, "atom": _atom, "json": _json_feed}[kind](entries),
            _entries,
            st.sampled_from(["rss", "atom", "json"]),
        )
    else:
        valid = st.one_of(
            st.builds(
                lambda i: article_page(*synthetic_article("fuzz", i)).encode(),
                st.integers(0, 10**6),
            ),
            st.integers(1, 3_000).map(nested_html),
        )
    inputs = st.one_of(st.binary(max_size=4_000), st.builds(damaged, valid, flips, cuts))
    failures: list[str] = []
    seen = 0

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
    )
    @given(inputs)
    def one(data: bytes) -> None:
        nonlocal seen
        seen += 1
        try:
            if name == "parse_feed":
                with contextlib.suppress(ParseError):
                    parse_feed(data, url="https://fuzz.example/feed")
            else:
                extract_page(data, url="https://fuzz.example/a", feed_text="", feed_title="")
        except Exception as exc:  # every other exception is a finding
            failures.append(f"{type(exc).__name__}: {exc} <- {data[:120]!r}")

    started = time.monotonic()
    one()
    return {"examples": seen, "seconds": time.monotonic() - started, "failures": failures[:20]}


def load(work: Path, quick: bool) -> tuple[Row, dict]:
    feeds, hosts = (300, 10) if quick else (2_000, 40)
    results = run_load(feeds, hosts, work)
    passes = {p["pass"]: p for p in results["passes"]}
    held = (
        all(p["returncode"] == 0 for p in passes.values())
        and not results["store_unsound"]
        and results["articles_stored"] == results["articles_expected"]
    )
    figures = "; ".join(
        f"{name}: {p['seconds']:.0f} s, peak RSS {p['maxrss_mib']} MiB "
        f"(tree {p['tree_rss_mib']} MiB)"
        for name, p in passes.items()
    )
    row = {
        "what": (
            f"{feeds:,} feeds on {hosts} local hosts (1-60 items, 1 in 10 extracting pages, "
            f"{results['failing_feeds']} failing: 404, 500, not a feed, stalling), default "
            "politeness: first pass, steady state (all 304), then 1 feed in 20 changed"
        ),
        "how often": "3 passes on one store",
        "figures": f"{figures}; articles {results['articles_stored']:,}/"
        f"{results['articles_expected']:,}",
        "held": "yes" if held else "NO",
    }
    return row, results


SECTIONS: dict[str, Callable[[Path, bool], tuple[Row, dict]]] = {
    "hostile": hostile,
    "guard": guard,
    "crash": crash,
    "concurrency": concurrency,
    "fuzz": fuzz,
    "load": load,
}


# ----------------------------------------------------------------------------- report


def table(rows: list[Row]) -> str:
    lines = ["| what was tried | how often | figures | held |", "|---|---|---|---|"]
    for r in rows:
        cells = [r[k].replace("|", "\\|") for k in ("what", "how often", "figures", "held")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(rows: list[Row], args: argparse.Namespace, seconds: float) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "python bench/soak.py" + (" --quick" if args.quick else "")
    if args.only:
        command += f" --only {args.only}"
    return f"""# Soak results

Regenerated by `{command}` (`make soak`) on {when}, {platform.machine()} with
{_cpus()} CPUs, Python {platform.python_version()}; the whole soak took {seconds / 60:.0f} min.
Every server ran on a 127.x address of this machine. Memory is the peak resident set of
`aggregator` (`ru_maxrss` from wait4) and the largest sum over its whole process tree
(extraction workers included), sampled every 0.25 s.

{table(rows)}

The same checks at smaller sizes run in `make test`: tests/e2e/test_hostile_run.py,
tests/e2e/test_crash.py, tests/e2e/test_concurrency.py, tests/e2e/test_fuzz_props.py. Raw figures:
`python bench/soak.py --json FILE`.
"""


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The soak; writes bench/SOAK.md.")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (minutes)")
    parser.add_argument(
        "--only", default="", help="comma-separated sections: " + ",".join(SECTIONS)
    )
    parser.add_argument("--output", default=str(ROOT / "bench" / "SOAK.md"))
    parser.add_argument("--json", default=None, help="write the raw figures here as well")
    args = parser.parse_args(argv)
    chosen = [s for s in args.only.split(",") if s] or list(SECTIONS)
    rows: list[Row] = []
    raw: dict = {}
    started = time.monotonic()
    for name in chosen:
        print(f"soak: {name} ...", file=sys.stderr, flush=True)
        section_started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"soak-{name}-") as tmp:
            try:
                row, figures = SECTIONS[name](Path(tmp), args.quick)
            except Exception:  # a crashed section is a result too: report it and go on
                text = traceback.format_exc()
                row = {"what": name, "how often": "-", "figures": text[-300:], "held": "NO"}
                figures = {"error": text}
        raw[name] = figures
        rows.append(row)
        print(
            f"soak: {name}: held={row['held']} ({time.monotonic() - section_started:.0f} s)\n"
            f"      {row['figures']}",
            file=sys.stderr,
            flush=True,
        )
    seconds = time.monotonic() - started
    Path(args.output).write_text(write_report(rows, args, seconds))
    if args.json:
        Path(args.json).write_text(json.dumps(raw, indent=2, default=str) + "\n")
    print(table(rows))
    return 0 if all(r["held"] == "yes" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
