"""Worker processes for the CPU-heavy steps, so the event loop never waits on them.

Page extraction (aggregator/extract/body.py) and feed parsing run here. Python threads would
share the event loop's interpreter lock: a burst of feeds parsed in threads held the loop up
for a third of a second (bench/bench.py, first ingest); processes use every core instead.

The pool starts on the first job, not at construction, so commands that never need it never
pay for it. Workers come from a forkserver: forking the daemon itself, which has threads
(scheduler, HTTP server), can copy a held lock into the child. A worker that dies (out of
memory, a crash in libxml2) fails every job in flight or queued with WorkerDied; later jobs
get a fresh pool. A job's own exceptions are raised to the caller as they are, except one
that could not be rebuilt on our side (a class whose __init__ needs more than its message):
that would break the whole pool, so it arrives as a RuntimeError naming it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import multiprocessing
import os
import pickle
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from aggregator.errors import WorkerDied

T = TypeVar("T")


# Workers yield the CPU to the daemon's own process: with every core busy extracting, the
# event loop (fetching, answering readers) otherwise waited tens of milliseconds for the
# scheduler each time it woke (bench/bench.py, event-loop lag of a first ingest).
WORKER_NICENESS = 10


def _start_worker(initializer: Callable[[], None] | None, daemon_pid: int) -> None:
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)
    _exit_with(daemon_pid)
    if initializer is not None:
        initializer()


def _exit_with(pid: int) -> None:
    """End this worker when the process that started the pool dies, even by SIGKILL.

    Workers come from the forkserver, not from that process, and wait for jobs on a queue
    whose write end they hold themselves; the forkserver waits for its workers. Without this
    watch, a killed daemon left its forkserver and workers running for good.
    """
    try:
        handle: int | None = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(0)
    except (AttributeError, OSError):  # no pidfd (not Linux, old kernel): poll instead
        handle = None

    def watch() -> None:
        if handle is not None:
            select.select([handle], [], [])  # readable once the process has exited
        else:
            while True:
                time.sleep(1.0)
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                except PermissionError:
                    pass
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-daemon", daemon=True).start()


def _call(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    """Runs in the worker: fn, with an exception that would not survive the trip replaced."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:
            raise RuntimeError(f"{type(exc).__name__}: {exc}") from None
        raise


class Workers:
    def __init__(
        self,
        workers: int | None = None,
        *,
        start_method: str = "forkserver",
        initializer: Callable[[], None] | None = None,
    ) -> None:
        # one more worker than cores: a worker waiting for its next job leaves a core idle,
        # and the spare keeps both busy (bench/bench.py first ingest: ~55 -> ~59-67 articles/s)
        self.workers = workers or (os.cpu_count() or 1) + 1
        self._start_method = start_method
        self._initializer = initializer
        self._pool: ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context(self._start_method)
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=context,
                initializer=_start_worker,
                initargs=(self._initializer, os.getpid()),
            )
        return self._pool

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """fn(*args, **kwargs) in a worker process; its exceptions are raised here."""
        loop = asyncio.get_running_loop()
        pool = self._ensure_pool()
        try:
            return await loop.run_in_executor(pool, functools.partial(_call, fn, args, kwargs))
        except BrokenProcessPool as exc:
            self._discard(pool)
            raise WorkerDied(str(exc) or "a worker process died") from exc

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        # jobs in flight on the broken pool all land here; only the first replaces it
        if self._pool is pool:
            self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
