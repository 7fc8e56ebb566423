"""HTTP: conditional GET of feeds and pages with limits, politeness, the address guard,
pinned resolution, decoding, and when to poll a feed next.

Exposes: ``fetcher`` (Fetcher, make_client, FetchLimits), ``polling``. Imports only types,
errors and the package root; never another stage.
"""
