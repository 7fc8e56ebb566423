"""Running the real `aggregator` command in tests and soaks: its environment, a runner that
measures wall time and the peak memory of the process tree, and reading back the export."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GiB = 1024**3
RUN_LIMIT_SECONDS = 180  # the bound for one pass over the hostile world

# ----------------------------------------------------------------------------- running


@dataclass
class Measured:
    """A finished `aggregator` subprocess with its wall time and peak memory."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    maxrss: int  # bytes: ru_maxrss of the child and the descendants it reaped (wait4)
    tree_rss: int  # bytes: the largest sum of RSS over the child's whole process tree, sampled


def aggregator_env() -> dict[str, str]:
    # proxies from the environment must never see 127.x traffic
    return {**os.environ, "NO_PROXY": "*", "no_proxy": "*", "PYTHONPATH": str(ROOT)}


def aggregator_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "aggregator", *args]


def _tree_rss(root: int) -> int:
    """Sum of RSS (bytes) of `root` and every descendant, read from /proc (0 when gone)."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(entry), int(stat[1])
        children.setdefault(ppid, []).append(pid)
        rss[pid] = int(stat[21]) * page
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total


def run_measured(args: list[str], *, timeout: float, sample: float = 0.25) -> Measured:
    """Run `aggregator *args`, sampling the process tree's memory until it exits.

    The timeout is a safety net (the child is killed and the call raises), not a measurement.
    """
    started = time.monotonic()
    with (
        open(os.devnull, "rb") as stdin,
        _temp_output() as out,
        _temp_output() as err,
    ):
        proc = subprocess.Popen(
            aggregator_cmd(*args), stdin=stdin, stdout=out, stderr=err, env=aggregator_env()
        )
        peak_tree = 0
        rusage = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                rusage, proc.returncode = usage, os.waitstatus_to_exitcode(status)
                break
            peak_tree = max(peak_tree, _tree_rss(proc.pid))
            if time.monotonic() - started > timeout:
                proc.kill()
                proc.wait()
                raise AssertionError(f"aggregator {args} still running after {timeout:.0f}s")
            time.sleep(sample)
        seconds = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    return Measured(
        proc.returncode, stdout, stderr, seconds, rusage.ru_maxrss * 1024, max(peak_tree, 1)
    )


@contextlib.contextmanager
def _temp_output():  # noqa: ANN202 - a file object
    import tempfile

    with tempfile.TemporaryFile() as f:
        yield f


def export_records(storage: Path) -> list[dict]:
    result = subprocess.run(
        aggregator_cmd("export", "--storage", str(storage)),
        capture_output=True,
        text=True,
        timeout=120,
        env=aggregator_env(),
        check=True,
    )
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def aggregator(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_PROXY": "*", "no_proxy": "*"}
    result = subprocess.run(
        [sys.executable, "-m", "aggregator", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"aggregator {args} exited {result.returncode}:\n{result.stderr}")
    return result
