"""feeds.yaml: the validated model, durations and sizes, the in-place editor, OPML.

Exposes: ``model`` (load_config, Config, FeedConfig, Settings), ``durations``, ``editor``
(feeds list/add/remove/check, OPML import/export), ``opml``. Sits above the stages (``feeds
check`` fetches and parses); must not import pipeline, read, daemon, web or cli.
"""
