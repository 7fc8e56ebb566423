"""Per-stage timing of one poll: how many calls each stage had and how long they took.

The pipeline opens one StageTimer per poll and hands it down to the stages it runs, so that
concurrent polls (the daemon polls feeds one job at a time, in parallel) never mix their
figures. The result lands on PollReport.stages; bench/bench.py reads it, and it is cheap
enough (two clock reads per call) to stay on in production.

Stages that await (fetches, parsing and extraction in worker processes) overlap one another,
so their seconds add up the latency of every call, waiting for a connection or a worker
included, and can exceed the wall time of the poll. Stages that run on the event loop without
awaiting (identify, prepare, dedupe, cluster, store) do not overlap: their seconds are time
the loop spent on them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class StageStat:
    calls: int = 0
    seconds: float = 0.0

    @property
    def mean_ms(self) -> float:
        return 1000 * self.seconds / self.calls if self.calls else 0.0


class StageTimer:
    """Accumulates (calls, seconds) per stage name."""

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self.stages: dict[str, StageStat] = {}

    def stage(self, name: str) -> _Stage:
        """``with timer.stage("cluster"): ...`` adds one call and its time to the stage."""
        return _Stage(self, name)

    def add(self, name: str, seconds: float, calls: int = 1) -> None:
        stat = self.stages.get(name)
        if stat is None:
            stat = self.stages[name] = StageStat()
        stat.calls += calls
        stat.seconds += seconds

    def merge(self, other: StageTimer) -> None:
        for name, stat in other.stages.items():
            self.add(name, stat.seconds, stat.calls)


class _Stage:
    # a plain class, not @contextmanager: the generator version cost more than the
    # dedupe step it timed (bench/bench.py profiles of the first ingest)
    __slots__ = ("_timer", "_name", "_started")

    def __init__(self, timer: StageTimer, name: str) -> None:
        self._timer = timer
        self._name = name
        self._started = 0.0

    def __enter__(self) -> None:
        self._started = self._timer._clock()

    def __exit__(self, *exc: object) -> None:
        self._timer.add(self._name, self._timer._clock() - self._started)
