"""Internals of the parse stage; the public entry point is ``aggregator.parse.parse_feed``.

encoding.py   feed bytes -> str (BOM, declarations, wrong declarations, detection)
prepare.py    XML text made safe and well-formed for feedparser (DOCTYPE guard, entities)
text.py       HTML -> plain text, whitespace, mojibake repair
dates.py      dates -> timezone-aware UTC datetimes
xmlfeed.py    RSS / RDF / Atom through feedparser -> ParsedFeed
jsonfeed.py   JSON Feed 1.0 / 1.1 -> ParsedFeed
discovery.py  HTML pages: recognise them and find their feed links
"""
