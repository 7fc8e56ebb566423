"""HTTP: conditional GET of feeds and pages with limits, politeness, the address guard,
pinned resolution, decoding, and when to poll a feed next.

Exposes: ``fetcher`` (Fetcher, make_client, FetchLimits), ``polling``. Imports only types,
errors and the package root; never another stage.
"""

import sys

# httpx's package init imports its command-line tool when `click` and `rich` are installed
# (they are, for other tools): 0.1-0.5 s of every `aggregator run` start-up spent on a CLI
# we never call. Marking the module absent makes httpx skip it, as when they are missing.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
