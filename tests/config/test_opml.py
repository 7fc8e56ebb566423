"""OPML in and out (aggregator.config.opml, config.editor.import_opml/export_opml): lossless round trips,
other readers' OPML, and documents refused as unsafe."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.config.editor import export_opml, import_opml, list_feeds
from aggregator.config.model import Config, load_config, parse_config
from aggregator.config.opml import AGG_NS, OpmlError, OpmlFeed, parse_opml, write_opml
from aggregator.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

FEEDS = """\
settings:
  interval: 30m
feeds:
  - url: https://example.org/world.xml?a=1&b=2
    name: World & "more" <news>
    tags: [world, en]
    interval: 15m
  - url: https://news.example.net/rss
    extract: false
  - url: https://tags.example.com/feed
    name: Odd tags
    tags: ["a,b", "c/d", plain, "é ü"]
    interval: 1h30m
"""

EXPORTED = f"""\
<?xml version="1.0" encoding="UTF-8"?>
<opml xmlns:agg="{AGG_NS}" version="2.0">
  <head>
    <title>newsroom-aggregator feeds</title>
  </head>
  <body>
    <outline type="rss" text="World &amp; &quot;more&quot; &lt;news&gt;" \
title="World &amp; &quot;more&quot; &lt;news&gt;" xmlUrl="https://example.org/world.xml?a=1&amp;b=2" \
category="/world,/en" agg:interval="15m"/>
    <outline type="rss" text="news.example.net" title="news.example.net" \
xmlUrl="https://news.example.net/rss" agg:extract="false"/>
    <outline type="rss" text="Odd tags" title="Odd tags" xmlUrl="https://tags.example.com/feed" \
category="/plain,/é ü" agg:tags="[&quot;a,b&quot;, &quot;c/d&quot;, &quot;plain&quot;, \
&quot;é ü&quot;]" agg:interval="1h30m"/>
  </body>
</opml>
"""


def essence(config: Config) -> list[tuple[object, ...]]:
    return [(f.url, f.name, f.tags, f.interval, f.extract) for f in config.feeds]


def test_export_golden() -> None:
    assert export_opml(parse_config(FEEDS)) == EXPORTED


def test_export_import_export_is_lossless(tmp_path: Path) -> None:
    config = parse_config(FEEDS)
    first = export_opml(config)
    target = tmp_path / "feeds.yaml"  # does not exist: import creates it
    added = import_opml(target, first.encode("utf-8"))
    assert len(added) == 3
    again = load_config(target)
    assert essence(again) == essence(config)
    assert export_opml(again) == first
    # the default name is not written out; the others are
    assert "name: news.example.net" not in target.read_text()


def test_the_projects_feeds_yaml_round_trips(tmp_path: Path) -> None:
    config = load_config(ROOT / "feeds.yaml")
    target = tmp_path / "feeds.yaml"
    target.write_text("settings:\n  interval: 30m\nfeeds:\n  - url: https://placeholder.example/\n")
    import_opml(target, export_opml(config).encode("utf-8"))
    assert essence(load_config(target))[1:] == essence(config)


xml_text = st.text(st.characters(blacklist_categories=["Cs", "Cc"]), max_size=20)
feed_strategy = st.builds(
    OpmlFeed,
    url=st.from_regex(r"https://[a-z]{1,8}\.example/[a-z0-9/?=&%#-]{0,20}", fullmatch=True),
    name=st.none() | xml_text.filter(str.strip).map(str.strip),
    tags=st.lists(xml_text.filter(str.strip).map(str.strip), max_size=4, unique=True).map(tuple),
    interval=st.none() | st.sampled_from(["45s", "15m", "2h", "1d1h"]),
    extract=st.none() | st.just(False),
)


@settings(max_examples=50)
@given(st.lists(feed_strategy, min_size=1, max_size=5, unique_by=lambda f: f.url))
def test_write_then_parse_gives_the_same_feeds(feeds: list[OpmlFeed]) -> None:
    parsed = parse_opml(write_opml(feeds).encode("utf-8"))
    assert [(f.url, f.name or f.url, f.tags, f.interval, f.extract) for f in feeds] == [
        (f.url, f.name, f.tags, f.interval, f.extract) for f in parsed
    ]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(feed_strategy, min_size=1, max_size=4, unique_by=lambda f: f.url.split("/")[2]))
def test_import_then_export_is_stable(tmp_path: Path, feeds: list[OpmlFeed]) -> None:
    path = tmp_path / "property.yaml"
    path.unlink(missing_ok=True)
    import_opml(path, write_opml(feeds).encode("utf-8"))
    config = load_config(path)
    opml = export_opml(config)
    path.unlink()
    import_opml(path, opml.encode("utf-8"))
    assert essence(load_config(path)) == essence(config)
    assert export_opml(load_config(path)) == opml


OTHER_READER = b"""\
<?xml version="1.0" encoding="ISO-8859-1"?>
<opml version="1.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="Tech" title="Tech">
      <outline text="Caf\xe9 News" type="rss" xmlurl="https://cafe.example/rss"/>
      <outline text="Deep">
        <outline title="Only a title" type="rss" xmlUrl="https://deep.example/feed"
                 category="/Science/Space,local"/>
      </outline>
    </outline>
    <outline text="https://plain.example/rss" type="rss" xmlUrl="https://plain.example/rss"/>
    <outline text="Podcast on a file" type="rss" xmlUrl="file:///etc/passwd"/>
    <outline text="A link, not a feed" type="link" url="https://link.example/"/>
    <outline text="Listed already" type="rss" xmlUrl="HTTPS://Listed.example:443/feed#top"/>
    <outline text="Twice" type="rss" xmlUrl="https://cafe.example/rss"/>
  </body>
</opml>
"""


def test_other_readers_opml_folders_and_categories_become_tags(tmp_path: Path) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://listed.example/feed\n    name: Mine\n")
    added = import_opml(path, OTHER_READER, source="subs.opml")
    assert [(f.url, f.name, f.tags) for f in added] == [
        ("https://cafe.example/rss", "Café News", ("Tech",)),
        (
            "https://deep.example/feed",
            "Only a title",
            ("Tech", "Deep", "Science", "Space", "local"),
        ),
        ("https://plain.example/rss", "plain.example", ()),
    ]
    assert [f.name for f in list_feeds(path)][0] == "Mine"
    assert import_opml(path, OTHER_READER) == []  # everything is listed now


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<opml version="2.0"><body><outline text="&lol3;" xmlUrl="https://a.example/"/></body></opml>
"""
XXE = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<opml version="2.0"><body><outline text="&secret;" xmlUrl="https://a.example/"/></body></opml>
"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE opml SYSTEM "http://127.0.0.1:9/opml.dtd">
<opml version="2.0"><body><outline text="&undeclared;" xmlUrl="https://a.example/"/></body></opml>
"""


@pytest.mark.parametrize(
    "data",
    [BILLION_LAUGHS, XXE, EXTERNAL_DTD, BILLION_LAUGHS.decode().encode("utf-16")],
    ids=["billion-laughs", "xxe", "external-dtd", "utf-16"],
)
def test_documents_with_entities_are_refused_and_nothing_is_written(
    tmp_path: Path, data: bytes
) -> None:
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - url: https://listed.example/\n")
    with pytest.raises(OpmlError, match="refused: the document (declares|references) XML entities"):
        import_opml(path, data)
    assert path.read_text() == "feeds:\n  - url: https://listed.example/\n"
    assert os.listdir(tmp_path) == ["feeds.yaml"]


def test_a_plain_doctype_is_fine() -> None:
    data = b'<!DOCTYPE opml><opml version="2.0"><body><outline xmlUrl="https://a.example/"/></body></opml>'
    assert [f.url for f in parse_opml(data)] == ["https://a.example/"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not well-formed XML"),
        (b"<opml><body><outline", "subs.opml:1: not well-formed XML"),
        (b"<rss><channel/></rss>", "not OPML: the root element is <rss>"),
        (b"<opml><head/></opml>", "not OPML: no <body> element"),
        (
            b'<opml xmlns:agg="' + AGG_NS.encode() + b'"><body>\n'
            b'<outline xmlUrl="https://a.example/" agg:extract="maybe"/></body></opml>',
            'subs.opml:2: agg:extract: expected "true" or "false"',
        ),
        (
            b'<opml xmlns:agg="' + AGG_NS.encode() + b'"><body>\n'
            b"<outline xmlUrl=\"https://a.example/\" agg:tags='[1]'/></body></opml>",
            "subs.opml:2: agg:tags: expected a JSON list of strings",
        ),
    ],
)
def test_unreadable_opml_says_where(data: bytes, message: str) -> None:
    with pytest.raises(OpmlError, match=message):
        parse_opml(data, source="subs.opml")


def test_a_bad_interval_in_our_own_attributes_names_the_outline(tmp_path: Path) -> None:
    data = (
        b'<opml xmlns:agg="' + AGG_NS.encode() + b'"><body>\n\n'
        b'<outline xmlUrl="https://a.example/" agg:interval="soon"/></body></opml>'
    )
    with pytest.raises(ConfigError, match=r"subs.opml:3: interval: expected a duration"):
        import_opml(tmp_path / "feeds.yaml", data, source="subs.opml")
    assert not (tmp_path / "feeds.yaml").exists()


def test_characters_xml_cannot_carry_are_dropped_not_fatal() -> None:
    text = write_opml([OpmlFeed("https://a.example/", name="bell\x07 name", tags=("t\x00ag",))])
    (feed,) = parse_opml(text.encode())
    assert (feed.name, feed.tags) == ("bell name", ("tag",))
