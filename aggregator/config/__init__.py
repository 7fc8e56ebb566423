"""feeds.yaml: the validated model, durations and sizes, the in-place editor, OPML.

Exposes: ``model`` (load_config, Config, FeedConfig, Settings), ``durations``, ``editor``
(feeds list/add/remove, OPML import/export), ``check`` (feeds check), ``opml``; inside,
``validate`` (the file's schema and error messages), ``yamltext`` (the line splicing) and
``files`` (the atomic write). Sits above the stages (``feeds check`` fetches and parses);
must not import pipeline, read, daemon, web or cli.
"""
