"""What readers and tools get out of the store: digests, renderers (text, Markdown, JSON,
HTML, Atom, RSS, JSON Feed), export, and replay of recorded articles.

Exposes: ``digest``, ``render``, ``export``, ``replay``. May import stages below it and the
store; never pipeline, daemon, web or cli.
"""

# the digest renderings, here so that building the command line imports no renderer
FORMATS = ("text", "markdown", "json", "html", "atom", "rss", "jsonfeed")
