"""Keep the restored window out of the cyclic garbage collector's full passes.

The clustering window is millions of small long-lived objects (term dicts, floats, stories);
CPython's full (generation 2) collection walks every one of them, and in the 10,000-feed
steady state one such pass held the event loop for 600 ms (bench/bench.py, "Steady state").
None of them is ever part of a reference cycle, so after the window is restored (and after
each poll that stored articles) they are moved to the permanent generation: the collector
skips them, while reference counting still frees them when they expire. A cycle that
happened to be alive at that moment would be kept until exit, which costs little: the
pipeline makes few.
"""

from __future__ import annotations

import gc

# allocations between young collections (CPython's default is 700): placing one article
# allocates thousands of small objects, most of them kept, so the default ran a young
# collection several times per article; generations 1 and 2 keep their defaults
YOUNG_THRESHOLD = 10_000


def tune_collector() -> None:
    """Fewer young collections for a process that runs the pipeline (cli/common.py)."""
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


def settle_heap(*, collect_young: bool = True) -> None:
    """Move every object alive now out of the collector's reach (gc.freeze).

    ``collect_young``: collect the young generations first, so their garbage is not kept
    (off right after a snapshot was unpickled: millions of objects, none of them garbage)."""
    if collect_young:
        gc.collect(1)
    gc.freeze()
