"""Entries prepared where their feed is parsed: the same terms, names and shingles the tail
would compute from the article itself, one per entry, in the feed's order."""

from __future__ import annotations

from aggregator.cluster.clusterer import Clusterer
from aggregator.identity.near import shingles
from aggregator.pipeline.decide import entry_title
from aggregator.pipeline.prepare import feed_text, parse_prepared, prepared
from aggregator.types import ClusterDoc

BODY = " ".join(
    f"Firefighters in Lyon said on Tuesday that the blaze at the Mat-Maid dairy, {n} km "
    "from the river, was under control after crews from Villeurbanne worked through the night."
    for n in range(4)
)
FEED = f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Lyon Daily</title><link>https://lyon.example/</link>
<item><title>Dairy fire in Lyon under control</title><link>https://lyon.example/a</link>
<description>Short teaser.</description>
<content:encoded xmlns:content="http://purl.org/rss/1.0/modules/content/">&lt;p&gt;{BODY}&lt;/p&gt;</content:encoded>
</item>
<item><link>https://lyon.example/b</link><description>Crews from Villeurbanne stay on site
at the Mat-Maid dairy in Lyon.</description></item>
</channel></rss>""".encode()


def test_each_entry_is_prepared_as_the_tail_would_prepare_its_article() -> None:
    clusterer = Clusterer()
    weight = clusterer.settings.title_weight
    parsed, ready = parse_prepared(
        FEED,
        url="https://lyon.example/feed.xml",
        content_type="application/rss+xml",
        headers=None,
        source="Lyon Daily",
        title_weight=weight,
    )
    assert len(ready) == len(parsed.entries) == 2
    for entry, prep in zip(parsed.entries, ready, strict=True):
        doc = ClusterDoc("key", entry_title(entry), feed_text(entry), None, "Lyon Daily")
        assert prep == prepared(doc, weight)
        assert prep.features == clusterer.features(doc)
        assert prep.shingles == shingles(doc.text)
    body, untitled = ready
    assert body.shingles  # a body long enough to be matched as a copy
    assert {"villeurbanne", "mat", "maid"} <= body.features.names
    # the outlet's own name is in its datelines, whatever the event: not a term of it
    assert dict(body.features.title_terms) == {"dairy": 1, "fire": 1, "control": 1}
    assert "lyon" not in body.features.counts and "daily" not in body.features.counts
    # the entry without a title is prepared under the start of its text, as it is stored
    assert entry_title(parsed.entries[1]).startswith("Crews from Villeurbanne")
    assert not untitled.shingles
