"""Feed bytes -> entries: RSS/Atom/RDF through feedparser, JSON Feed, encodings, dates,
discovery of the feed behind an HTML page.

Exposes: ``feed.parse_feed``. Imports only types and errors; never another stage.
"""
