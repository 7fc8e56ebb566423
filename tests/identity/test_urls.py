"""URL canonicalisation: a table of examples, and properties that hold for any input."""

from __future__ import annotations

from urllib.parse import unquote_plus, urlsplit

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from aggregator.identity.urls import (
    TRACKING_PARAMS,
    TRACKING_PREFIXES,
    canonical_url,
    host_of,
    is_http_url,
    resolve,
)

CANONICAL = [
    # scheme and host lowercased, default port dropped, empty path -> "/"
    ("HTTP://Example.COM", "http://example.com/"),
    ("https://example.com:443/a", "https://example.com/a"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("http://example.com:443/a", "http://example.com:443/a"),
    ("https://example.com:8443/a", "https://example.com:8443/a"),
    ("http://example.com:/a", "http://example.com/a"),
    ("http://example.com./a", "http://example.com/a"),
    # the path keeps its case
    ("https://example.com/News/Item", "https://example.com/News/Item"),
    # fragment dropped, empty query dropped
    ("https://example.com/a#section-2", "https://example.com/a"),
    ("https://example.com/a?", "https://example.com/a"),
    ("https://example.com/a?#", "https://example.com/a"),
    # tracking parameters removed, the others kept in their order
    ("https://example.com/a?utm_source=rss&utm_medium=feed", "https://example.com/a"),
    ("https://example.com/a?id=7&utm_campaign=x&page=2", "https://example.com/a?id=7&page=2"),
    ("https://example.com/a?z=1&a=2", "https://example.com/a?z=1&a=2"),
    ("https://example.com/a?UTM_Source=x&fbclid=abc&gclid=1&b=2", "https://example.com/a?b=2"),
    ("https://example.com/a?CMP=share_btn_tw&xtor=RSS-3", "https://example.com/a"),
    ("https://example.com/a?utm%5Fsource=x", "https://example.com/a"),
    ("https://example.com/a?x=1&&y=2&", "https://example.com/a?x=1&y=2"),
    ("https://example.com/a?ref=home", "https://example.com/a?ref=home"),  # not tracking
    ("https://example.com/a?flag&x=", "https://example.com/a?flag&x="),
    # percent-encoding: hex uppercase, unreserved decoded, reserved kept encoded
    ("https://example.com/%7euser/%41b", "https://example.com/~user/Ab"),
    ("https://example.com/a%2fb%3a", "https://example.com/a%2Fb%3A"),
    ("https://example.com/caf%c3%a9", "https://example.com/caf%C3%A9"),
    ("https://example.com/café", "https://example.com/caf%C3%A9"),
    ("https://example.com/a b?q=a b", "https://example.com/a%20b?q=a%20b"),
    ("https://example.com/100%", "https://example.com/100%25"),
    ("https://example.com/?q=a+b&r=a%2Bb", "https://example.com/?q=a+b&r=a%2Bb"),
    # dot segments
    ("https://example.com/a/./b/../c", "https://example.com/a/c"),
    ("https://example.com/a/b/..", "https://example.com/a/"),
    ("https://example.com/../../a", "https://example.com/a"),
    ("https://example.com/a/%2E%2E/b", "https://example.com/b"),
    ("https://example.com//double//slash", "https://example.com//double//slash"),
    # session ids in the path
    ("https://example.com/a;jsessionid=0AB12?x=1", "https://example.com/a?x=1"),
    # IDN hosts to punycode, IP literals kept
    ("https://Bücher.example/straße", "https://xn--bcher-kva.example/stra%C3%9Fe"),
    ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
    ("http://192.168.0.1:8080/x", "http://192.168.0.1:8080/x"),
    # userinfo kept
    ("http://user:pw@Example.com/", "http://user:pw@example.com/"),
    # surrounding whitespace stripped
    ("  https://example.com/a \n", "https://example.com/a"),
    # anything else: returned stripped, untouched
    ("mailto:Someone@Example.com", "mailto:Someone@Example.com"),
    ("ftp://Example.com/a#b", "ftp://Example.com/a#b"),
    ("/relative/path#x", "/relative/path#x"),
    ("http:///no-host", "http:///no-host"),
    ("http://example.com:99999/", "http://example.com:99999/"),
    ("http://example.com:port/", "http://example.com:port/"),
    ("http://[::1/", "http://[::1/"),
    ("", ""),
    ("  not a url ", "not a url"),
]


@pytest.mark.parametrize(("url", "expected"), CANONICAL)
def test_canonical_url_examples(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a", True),
        ("HTTP://example.com", True),
        ("http://[::1]:8080/", True),
        ("ftp://example.com/", False),
        ("http:///path", False),
        ("//example.com/a", False),
        ("example.com/a", False),
        ("http://example.com:99999/", False),
        ("http://[::1/", False),
        ("", False),
    ],
)
def test_is_http_url(url: str, expected: bool) -> None:
    assert is_http_url(url) is expected


@pytest.mark.parametrize(
    ("base", "link", "expected"),
    [
        ("https://example.com/news/a.html", "b.html", "https://example.com/news/b.html"),
        ("https://example.com/news/a.html", "/top", "https://example.com/top"),
        ("https://example.com/news/", "//cdn.example.net/x", "https://cdn.example.net/x"),
        ("https://example.com/", " https://other.org/y ", "https://other.org/y"),
        ("https://example.com/a?x=1", "?y=2", "https://example.com/a?y=2"),
        ("https://example.com/a", "", "https://example.com/a"),
        ("https://[::1/", "b", "b"),  # an unparsable base: the link as it is
    ],
)
def test_resolve(base: str, link: str, expected: str) -> None:
    assert resolve(base, link) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://News.Example.COM/a", "news.example.com"),
        ("https://user@example.com:8080/", "example.com"),
        ("https://Bücher.example/", "xn--bcher-kva.example"),
        ("http://[::1]/", "::1"),
        ("/relative", ""),
        ("not a url", ""),
        ("http://[::1/", ""),
    ],
)
def test_host_of(url: str, expected: str) -> None:
    assert host_of(url) == expected


# --- properties ----------------------------------------------------------------------------

_label = st.text("abcxyzABCXYZ019-", min_size=1, max_size=8)
_unicode_label = st.text(st.characters(categories=("Ll", "Lu", "Lo")), min_size=1, max_size=8)
_hosts = st.one_of(
    st.lists(_label, min_size=1, max_size=3).map(".".join),
    st.lists(st.one_of(_label, _unicode_label), min_size=1, max_size=3).map(".".join),
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda ip: f"[{ip}]"),
)
# Path and query text with the characters that need care: escapes (valid or not), dots,
# reserved characters, spaces, non-ASCII.
_piece = st.lists(
    st.one_of(
        st.sampled_from(list("abcXYZ019-._~!$'()*+,;=:@%/ ?é€")),
        st.sampled_from(["%2e", "%2E", "%41", "%7e", "%2f", "%zz", "%c3%a9", ".."]),
    ),
    max_size=8,
).map("".join)
_tracking_names = st.one_of(
    st.sampled_from(sorted(TRACKING_PARAMS)),
    st.builds(lambda p, s: p + s, st.sampled_from(TRACKING_PREFIXES), st.text("abcz_", max_size=6)),
).map(lambda name: "".join(c.upper() if i % 2 else c for i, c in enumerate(name)))
_param_names = st.one_of(_tracking_names, st.text("abcdefgh_", min_size=1, max_size=6))
_params = st.lists(
    st.tuples(_param_names, st.text("abc123%=+ ", max_size=5)).map(lambda kv: "=".join(kv)),
    max_size=5,
)


@st.composite
def http_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    host = draw(_hosts)
    port = draw(st.one_of(st.just(""), st.integers(0, 65535).map(lambda p: f":{p}")))
    path = "/".join(draw(st.lists(_piece, max_size=4)))
    query = "&".join(draw(_params))
    fragment = draw(st.one_of(st.just(""), _piece.map(lambda f: "#" + f)))
    return f"{scheme}://{host}{port}/{path}{'?' + query if query else ''}{fragment}"


def _query_names(url: str) -> list[str]:
    query = urlsplit(url).query
    return [unquote_plus(piece.partition("=")[0]).lower() for piece in query.split("&") if piece]


@given(http_urls())
def test_canonical_url_is_idempotent(url: str) -> None:
    once = canonical_url(url)
    assert canonical_url(once) == once


@settings(max_examples=300)
@given(st.one_of(st.text(), st.text().map(lambda t: "http://" + t)))
@example("https://a。b。/")
@example("http://\x00a/")
@example("http://a/\ud800")
def test_canonical_url_never_raises_and_is_idempotent_on_any_text(text: str) -> None:
    once = canonical_url(text)
    assert canonical_url(once) == once
    is_http_url(text)
    host_of(text)
    resolve("https://example.com/a/", text)


@given(http_urls())
def test_tracking_params_never_survive(url: str) -> None:
    for name in _query_names(canonical_url(url)):
        assert name not in TRACKING_PARAMS
        assert not name.startswith(TRACKING_PREFIXES)


@given(http_urls())
def test_fragment_never_survives(url: str) -> None:
    result = canonical_url(url)
    if is_http_url(url):
        assert "#" not in result
        assert is_http_url(result)


@given(http_urls())
def test_other_query_params_keep_their_order(url: str) -> None:
    names = _query_names(url.partition("#")[0])
    kept = [n for n in names if n not in TRACKING_PARAMS and not n.startswith(TRACKING_PREFIXES)]
    if is_http_url(url):
        assert _query_names(canonical_url(url)) == kept
