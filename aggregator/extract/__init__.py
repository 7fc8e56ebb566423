"""Article page -> body text and metadata (trafilatura, imported lazily), in worker processes.

Exposes: ``body`` (Extractor, choose_text; built on ``decode``, ``text``, ``metadata`` and
``sites``, the per-site memory of repeated paragraphs),
``workers`` (the process pool that also parses feeds for the pipeline). Imports only types
and errors; never another stage.
"""
