"""The parse stage: golden feeds, security guards, encodings, plain text, not-a-feed errors.

Golden files live in tests/parse/golden: ``<name>.<ext>`` and ``<name>.expected.json``. After a
deliberate change of output, regenerate them and review the diff (the tests only compare):

    PYTHONPATH=. .venv/bin/python tests/parse/test_parse.py --regenerate
"""

from __future__ import annotations

import codecs
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.errors import FeedError, ParseError
from aggregator.parse.dates import parse_date
from aggregator.parse.encoding import decode_document
from aggregator.parse.feed import NotAFeedError, parse_feed
from aggregator.parse.prepare import prepare_xml
from aggregator.parse.text import fix_mojibake, has_mojibake, html_to_text
from aggregator.types import ParsedFeed

GOLDEN = Path(__file__).parent / "golden"
CONTENT_TYPES = {".json": "application/feed+json", ".html": "text/html", ".xml": "application/xml"}


def _fixtures() -> list[Path]:
    return sorted(p for p in GOLDEN.iterdir() if not p.name.endswith(".expected.json"))


def records(path: Path) -> dict[str, Any]:
    """What a fixture parses to, as JSON-able data (dates as ISO strings)."""
    url = f"https://fixtures.example/feeds/{path.name}"
    try:
        feed = parse_feed(path.read_bytes(), url=url, content_type=CONTENT_TYPES[path.suffix])
    except ParseError as error:
        return {
            "error": {
                "type": type(error).__name__,
                "message": error.message,
                "discovered": getattr(error, "discovered", None),
            }
        }
    return _feed_record(feed)


def _feed_record(feed: ParsedFeed) -> dict[str, Any]:
    return {
        "feed": {
            "title": feed.title,
            "link": feed.link,
            "format": feed.format,
            "ttl_seconds": feed.ttl_seconds,
            "warnings": list(feed.warnings),
        },
        "entries": [
            {
                "guid": e.guid,
                "url": e.url,
                "title": e.title,
                "published": e.published.isoformat() if e.published else None,
                "updated": e.updated.isoformat() if e.updated else None,
                "summary": e.summary,
                "content": e.content,
                "author": e.author,
                "image": e.image,
            }
            for e in feed.entries
        ],
    }


def _expected_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.expected.json")


@pytest.mark.parametrize("path", _fixtures(), ids=lambda p: p.name)
def test_golden(path: Path) -> None:
    expected = json.loads(_expected_path(path).read_text(encoding="utf-8"))
    assert records(path) == expected


def test_every_fixture_has_a_golden() -> None:
    assert len(_fixtures()) >= 10
    for path in _fixtures():
        assert _expected_path(path).exists(), f"no golden for {path.name}"


# --- the security guard -----------------------------------------------------------------------


def _rss(title: str, doctype: str = "") -> bytes:
    return (
        f'<?xml version="1.0"?>\n{doctype}\n<rss version="2.0"><channel><title>t</title>'
        f"<item><title>{title}</title><link>http://example.org/1</link></item>"
        f"</channel></rss>"
    ).encode()


def test_billion_laughs_is_not_expanded() -> None:
    declarations = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    feed = parse_feed(_rss("&lol9;", f"<!DOCTYPE rss [{declarations}]>"), url="http://x/")
    assert len(feed.entries) == 1
    assert "lollol" not in feed.entries[0].title
    assert len(feed.entries[0].title) < 100


def test_quadratic_blowup_is_not_expanded() -> None:
    # one large entity referenced many times: each reference alone is harmless
    doctype = f'<!DOCTYPE rss [<!ENTITY big "{"x" * 50_000}">]>'
    feed = parse_feed(_rss("&big;" * 2_000, doctype), url="http://x/")
    assert "xxxx" not in feed.entries[0].title


def test_external_entity_never_reads_files(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("CANARY-7f3a")
    doctype = f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>'
    feed = parse_feed(_rss("before &xxe; after", doctype), url="http://x/")
    assert "CANARY" not in repr(feed)
    assert feed.entries[0].title.startswith("before")


def test_external_dtd_and_parameter_entities_are_never_loaded(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("CANARY-7f3a")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY leak SYSTEM "file://{secret}">')
    external = f'<!DOCTYPE rss SYSTEM "file://{dtd}">'
    parameter = f'<!DOCTYPE rss [<!ENTITY % p SYSTEM "file://{dtd}"> %p;]>'
    for doctype in (external, parameter):
        feed = parse_feed(_rss("a &leak; b", doctype), url="http://x/")
        assert "CANARY" not in repr(feed)


def test_prepared_xml_has_no_doctype_left() -> None:
    prepared = prepare_xml(
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "A"><!ENTITY b "&a;&a;">]><rss>&a;&b;</rss>'
    )
    assert b"<!DOCTYPE" not in prepared.data and b"<!ENTITY" not in prepared.data
    assert prepared.data.endswith(b"<rss>A&amp;b;</rss>")


def test_simple_declared_entities_still_work() -> None:
    doctype = '<!DOCTYPE rss [\n<!ENTITY copy "&#169;">\n<!ENTITY who "ACME">\n]>'
    feed = parse_feed(_rss("&copy; &who;", doctype), url="http://x/")
    assert feed.entries[0].title == "© ACME"


def test_bytes_that_name_a_file_are_not_opened(tmp_path: Path) -> None:
    # feedparser treats bytes or str it is given as a file name or URL first
    real_feed = tmp_path / "feed.xml"
    real_feed.write_bytes(_rss("from the file"))
    with pytest.raises(ParseError):
        parse_feed(str(real_feed).encode(), url="http://x/")
    with pytest.raises(ParseError):
        parse_feed(b"http://127.0.0.1:9/feed.xml", url="http://x/")


# --- not a feed -------------------------------------------------------------------------------


def test_html_page_with_alternate_link_names_the_feed() -> None:
    page = b"""<!doctype html><html><head><base href="https://cdn.example.org/site/">
    <link rel="Alternate feed" type="application/atom+xml; charset=utf-8" href="atom.xml">
    </head><body>hi</body></html>"""
    with pytest.raises(NotAFeedError) as caught:
        parse_feed(page, url="https://example.org/blog/", content_type="text/html")
    assert caught.value.discovered == "https://cdn.example.org/site/atom.xml"
    assert "https://cdn.example.org/site/atom.xml" in str(caught.value)
    assert isinstance(caught.value, ParseError) and isinstance(caught.value, FeedError)
    assert caught.value.url == "https://example.org/blog/"


def test_html_page_without_feed_link() -> None:
    with pytest.raises(NotAFeedError) as caught:
        parse_feed(b"<html><body><p>Hello</p></body></html>", url="https://example.org/")
    assert caught.value.discovered is None
    assert "HTML page" in str(caught.value)


def test_json_feed_discovered_from_html() -> None:
    page = b'<html><head><link rel="alternate" type="application/feed+json" href="/f.json"></head></html>'
    with pytest.raises(NotAFeedError) as caught:
        parse_feed(page, url="https://example.org/a/b")
    assert caught.value.discovered == "https://example.org/f.json"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "empty"),
        (b"  \n ", "empty"),
        (b'<?xml version="1.0"?><note><to>x</to></note>', "<note>"),
        (b'{"hello": "world"}', "not a JSON Feed"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": [', "invalid JSON"),
        (b"[1, 2, 3]", "not an object"),
        (b"just some text", "not a feed"),
    ],
)
def test_not_a_feed(content: bytes, fragment: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(content, url="http://example.org/feed")
    assert fragment in str(caught.value)
    assert caught.value.url == "http://example.org/feed"


_VALID = (GOLDEN / "rss20.xml").read_bytes()


@settings(max_examples=60, deadline=None)
@given(
    st.binary(max_size=600)
    | st.builds(
        lambda cut, noise: _VALID[:cut] + noise, st.integers(0, len(_VALID)), st.binary(max_size=40)
    )
)
def test_garbage_raises_only_parse_error(content: bytes) -> None:
    try:
        feed = parse_feed(content, url="http://example.org/feed")
    except ParseError:
        return
    assert isinstance(feed, ParsedFeed)


def test_feedparser_crash_becomes_parse_error() -> None:
    # feedparser 6.0.14's loose parser raises KeyError on a media:player end tag without a start
    broken = b"<rss><channel><item><title>x</title></media:player></item></channel></rss>"
    with pytest.raises(ParseError, match="feedparser failed: KeyError"):
        parse_feed(broken, url="http://example.org/feed")


# --- formats and detection --------------------------------------------------------------------


def test_json_detected_by_content_after_bom_and_whitespace() -> None:
    body = (
        b'\xef\xbb\xbf \n {"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1"}]}'
    )
    feed = parse_feed(body, url="http://example.org/feed", content_type="text/plain")
    assert feed.format == "json11" and feed.entries[0].guid == "1"


def test_xml_served_as_json_is_still_read_as_xml() -> None:
    feed = parse_feed(_rss("x"), url="http://x/", content_type="application/feed+json")
    assert feed.format == "rss20"


def test_content_type_taken_from_headers() -> None:
    body = "caf\u00e9".encode("cp1252")
    xml = b'<rss version="2.0"><channel><item><title>' + body + b"</title></item></channel></rss>"
    feed = parse_feed(xml, url="http://x/", headers={"Content-Type": "text/xml; charset=cp1252"})
    assert feed.entries[0].title == "caf\u00e9"


def test_ttl_from_syndication_module_when_no_ttl() -> None:
    xml = b"""<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">
    <channel><sy:updatePeriod>hourly</sy:updatePeriod><sy:updateFrequency>2</sy:updateFrequency>
    <item><title>a</title></item></channel></rss>"""
    assert parse_feed(xml, url="http://x/").ttl_seconds == 1800


def test_large_feed_keeps_every_entry_in_order() -> None:
    items = "".join(
        f"<item><title>Entry {i}</title><link>https://example.org/{i}</link></item>"
        for i in range(1_000)
    )
    xml = f'<rss version="2.0"><channel><title>big</title>{items}</channel></rss>'.encode()
    feed = parse_feed(xml, url="https://example.org/feed")
    assert len(feed.entries) == 1_000
    assert feed.entries[0].title == "Entry 0" and feed.entries[-1].url == "https://example.org/999"


# --- encodings --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "text"),
    [
        ('<?xml version="1.0" encoding="iso-8859-1"?><a>é</a>'.encode(), "", "é"),
        ('<?xml version="1.0" encoding="utf-8"?><a>é€</a>'.encode("cp1252"), "", "é€"),
        ("<a>\u00e9 \u00fc \u00f1".encode() + b"\x93</a>", "", "\u00e9 \u00fc \u00f1\u201c"),
        (codecs.BOM_UTF16_LE + "<a>é</a>".encode("utf-16-le"), "", "é"),
        (
            '<?xml version="1.0" encoding="windows-1251"?><a>Привет</a>'.encode("cp1251"),
            "",
            "Привет",
        ),
        ("<a>ü</a>".encode("latin-1"), "text/xml; charset=ISO-8859-1", "ü"),
        ("<a>Как пережить новогоднюю ночь и не замёрзнуть</a>".encode("koi8-r"), "", "замёрзнуть"),
    ],
)
def test_decode_document(content: bytes, content_type: str, text: str) -> None:
    assert text in decode_document(content, content_type).text


# --- plain text -------------------------------------------------------------------------------


def test_html_to_text_keeps_paragraphs_and_drops_scripts() -> None:
    html = (
        "<div><p>One &amp; <b>two</b></p><script>x()</script><style>p{}</style>three<br>four</div>"
    )
    assert html_to_text(html) == "One & two\nthree\nfour"


def test_html_to_text_on_hostile_markup(tmp_path: Path) -> None:
    assert html_to_text("<p>unclosed <b>bold <i>both") == "unclosed bold both"
    assert html_to_text("a\x00b\x0bc") == "abc"
    secret = tmp_path / "secret.txt"
    secret.write_text("CANARY-7f3a")
    markup = f'<!DOCTYPE x [<!ENTITY e SYSTEM "file://{secret}">]><p>&e;</p>'
    assert "CANARY" not in html_to_text(markup)


def test_fix_mojibake_examples() -> None:
    assert fix_mojibake("CafÃ© â€“ naÃ¯ve") == "Café – naïve"
    assert fix_mojibake("ÃƒÂ©") == "é"  # encoded twice
    garbled = "События".encode().decode("cp1252", errors="aggregator-cp1252")
    assert garbled == "Ð¡Ð¾Ð±Ñ‹Ñ‚Ð¸Ñ\x8f" and fix_mojibake(garbled) == "События"
    assert fix_mojibake("Gruß aus Köln — “ok”") == "Gruß aus Köln — “ok”"
    assert fix_mojibake("Les sorties de la semaineÂ") == "Les sorties de la semaine"
    assert fix_mojibake("ROMÂNIA, CÂMARA") == "ROMÂNIA, CÂMARA"
    assert not has_mojibake("Gruß aus Köln") and has_mojibake("GrÃ¼ÃŸe")


_TEXT = st.text(alphabet=st.sampled_from(list("abcXYZ 019.,;:!?'\"-()éüñçøåЖπ中😀")), max_size=40)


@given(_TEXT)
def test_fix_mojibake_leaves_clean_text_alone(text: str) -> None:
    assert fix_mojibake(text) == text


@given(_TEXT)
def test_fix_mojibake_undoes_double_encoding(text: str) -> None:
    garbled = text.encode("utf-8").decode("cp1252", errors="aggregator-cp1252")
    assert fix_mojibake(garbled) == text


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-07T09:30:00+02:00", datetime(2024, 5, 7, 7, 30, tzinfo=UTC)),
        ("2024-05-07T09:30:00Z", datetime(2024, 5, 7, 9, 30, tzinfo=UTC)),
        ("2024-05-07T09:30:00", datetime(2024, 5, 7, 9, 30, tzinfo=UTC)),
        ("Tue, 07 May 2024 09:30:00 -0400", datetime(2024, 5, 7, 13, 30, tzinfo=UTC)),
        ("Seg, 24 Set 2018 19:18:49 -0300", datetime(2018, 9, 24, 22, 18, 49, tzinfo=UTC)),
        ("lun. 5 févr. 2024 08:00:00 +0100", datetime(2024, 2, 5, 7, 0, tzinfo=UTC)),
        ("22.11.2022 12:16:00", datetime(2022, 11, 22, 12, 16, tzinfo=UTC)),
        ("Friday, January 29, 2021 04:42 PM", datetime(2021, 1, 29, 16, 42, tzinfo=UTC)),
        ("31.02.2020", None),
        ("not a date", None),
        ("2024-13-45T00:00:00Z", None),
        ("", None),
        (12345, None),
    ],
)
def test_parse_date(value: object, expected: datetime | None) -> None:
    assert parse_date(value) == expected


def test_a_page_that_only_mentions_a_feed_element_is_still_not_a_feed() -> None:
    page = (
        b"<!doctype html><html><head><title>How to write RSS</title></head><body>"
        b"<p>Start with the root element:</p><rss version='2.0'></rss></body></html>"
    )
    with pytest.raises(NotAFeedError):
        parse_feed(page, url="http://127.0.0.1/howto.html", content_type="text/html")


def _regenerate() -> None:
    for path in _fixtures():
        data = json.dumps(records(path), indent=2, ensure_ascii=False) + "\n"
        _expected_path(path).write_text(data, encoding="utf-8")
        print(f"wrote {_expected_path(path).name}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--regenerate"]:
        _regenerate()
    else:
        print(__doc__)
