"""The readers' HTTP server against a store filled by the real pipeline.

A local site (127.0.0.1) serves three outlets' feeds and pages, one of them hostile (script
and event-handler payloads in titles, summaries and bodies); `aggregator run --once` fills
a real store; the real server (uvicorn) answers over real HTTP.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import feedparser
import httpx
import pytest

from aggregator.web import create_app
from aggregator.web.app import SECURITY_HEADERS, ServerThread
from tests.support.commands import aggregator
from tests.support.localsite import LocalSite
from tests.support.sample_news import page_html, publish

NOW = datetime(2026, 11, 13, 12, 0, tzinfo=UTC)  # a day after the newest sample article

# What a hostile feed carries. Entities are doubled in the XML, so that the parsed titles
# and summaries hold these characters as text (the case an escaping slip would expose).
PWN_TITLE = (
    "Quake <script>document.title='PWNED'</script> hits "
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\"> Valencia floods"
)
PWN_SUMMARY = 'Valencia floods <svg onload="alert(1)"> <a href="javascript:alert(2)">x</a>'


def hostile_feed(base: str) -> str:
    def twice(text: str) -> str:
        return escape(escape(text))

    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Evil news</title><link>{base}/evil/</link><description>x</description>"
        f"<item><title>{twice(PWN_TITLE)}</title>"
        f"<link>{base}/evil/floods.html</link><guid>evil-floods</guid>"
        "<pubDate>Tue, 10 Nov 2026 11:00:00 GMT</pubDate>"
        f"<description>{twice(PWN_SUMMARY)}</description></item>"
        "</channel></rss>"
    )


def publish_hostile(site: LocalSite) -> str:
    paragraphs = [
        "Floods around Valencia forced thousands of residents from their homes on Tuesday after "
        "the River Turia burst its banks, regional officials in Spain said.",
        "<script>document.title='PWNED'</script> Rescue teams with boats reached families in "
        'Paiporta and Catarroja. <img src=x onerror="alert(3)">',
        "The rail line between Valencia and Alicante was cut by the floods.",
    ]
    site.add("/evil/floods.html", page_html(PWN_TITLE, paragraphs, "evil"))
    return site.add("/evil/rss.xml", hostile_feed(site.base_url), "application/rss+xml")


def write_config(path: Path, feeds: dict[str, tuple[str, str, list[str]]]) -> Path:
    lines = ["feeds:"]
    for url, name, tags in feeds.values():
        lines += [f"  - url: {url}", f"    name: {name}", f"    tags: [{', '.join(tags)}]"]
    lines += ["settings:", "  host_delay: 0s"]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def storage(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store filled by `aggregator run --once` from the local site."""
    root = tmp_path_factory.mktemp("web")
    with LocalSite() as site:
        urls = publish(site)
        feeds = {
            "north": (urls["north"], "North Times", ["europe", "en"]),
            "south": (urls["south"], "South Herald", ["americas", "es"]),
            "evil": (publish_hostile(site), "Evil News", ["europe", "en"]),
        }
        config = write_config(root / "feeds.yaml", feeds)
        storage = root / "store"
        aggregator("run", "--once", "--config", str(config), "--storage", str(storage))
    return storage


@pytest.fixture(scope="module")
def client(storage: Path) -> Iterator[httpx.Client]:
    with (
        ServerThread(create_app(storage, title="Test News", clock=lambda: NOW)) as server,
        httpx.Client(base_url=server.url, timeout=30, follow_redirects=False) as http,
    ):
        yield http


def get_json(client: httpx.Client, path: str) -> Any:
    response = client.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def floods(client: httpx.Client) -> dict[str, Any]:
    stories = get_json(client, "/api/stories?since=all")["stories"]
    return next(s for s in stories if "Valencia" in s["title"] or "Turia" in s["title"])


# ---------------------------------------------------------------------- markup checks
class Markup(HTMLParser):
    """Collects what a browser would execute or load: scripts, handlers, URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.handlers: list[tuple[str, str]] = []
        self.urls: list[str] = []
        self.classes: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append((tag, name))
            if name in ("href", "src", "action", "formaction", "xlink:href") and value:
                self.urls.append(value)
            if name == "class" and value:
                self.classes.extend(value.split())

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(html: str) -> Markup:
    markup = Markup()
    markup.feed(html)
    return markup


def assert_inert(html: str) -> Markup:
    """No element, attribute or URL in ``html`` could run script."""
    markup = parse_html(html)
    assert "script" not in markup.tags
    assert not {"iframe", "object", "embed", "base"} & set(markup.tags)
    assert markup.handlers == []
    assert not [u for u in markup.urls if u.strip().lower().startswith(("javascript:", "data:"))]
    return markup


# ---------------------------------------------------------------------- pages
def test_front_page_lists_stories_biggest_first_with_their_coverage(client):
    response = client.get("/?since=all")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = assert_inert(response.text)
    assert page.classes.count("card") == 3  # floods and two rate decisions
    first_card = response.text.split('class="card"')[1]
    # the floods lead: three outlets (North, South and the hostile one)
    assert "Valencia" in first_card or "Turia" in first_card
    assert "3 outlets" in first_card
    for outlet in ("North Times", "South Herald", "Evil News"):
        assert outlet in first_card
    assert "<time" in first_card and "first" in first_card  # outlets with times, first report
    assert "europe" in first_card and "americas" in first_card  # coverage by tag
    assert 'class="lead"' in first_card  # the summary
    # feeds are advertised for the same filter, and the stylesheet is same-origin
    assert 'rel="alternate" type="application/atom+xml"' in response.text
    assert "/static/style.css?v=" in response.text


def test_front_page_filters(client):
    def titles(query: str) -> list[str]:
        html = client.get("/" + query).text
        return re.findall(r'<h2><a href="/stories/[^"]+">(.*?)</a></h2>', html)

    assert len(titles("?since=all")) == 3
    assert len(titles("?since=all&min_sources=2")) == 2
    assert len(titles("?since=all&tag=es")) == 2 == len(titles("?since=all&tag=americas"))
    assert titles("?since=all&tag=nonexistent") == []
    # the period counts from the injected clock: the rate decisions were on 11 and 12 Nov
    assert len(titles("?since=30h")) == 1 and len(titles("?since=2d")) == 2
    # search looks through titles and bodies, every word must match
    norway = titles("?q=krone+Oslo")
    assert len(norway) == 1 and "4.75" in norway[0]
    assert len(titles("?q=krone+Valencia")) == 0
    feeds = {f["name"]: f["url"] for f in get_json(client, "/api/feeds")["feeds"]}
    assert len(titles("?" + urlencode({"since": "all", "feed": feeds["North Times"]}))) == 3
    assert len(titles("?" + urlencode({"since": "all", "feed": feeds["Evil News"]}))) == 1


def test_bad_parameters_are_400_not_500(client):
    for query in ("?since=soon", "?min_sources=many", "?min_sources=0", "?page=0"):
        response = client.get("/" + query)
        assert response.status_code == 400, query
        assert_inert(response.text)
    api = client.get("/api/stories?since=forever")
    assert api.status_code == 400 and "since" in api.json()["error"]["message"]


def test_story_page_shows_every_article_a_timeline_and_why(client):
    story = floods(client)
    response = client.get(story["links"]["html"])
    assert response.status_code == 200
    page = assert_inert(response.text)
    html = response.text
    # four articles: three originals and the wire copy folded under its original
    assert html.count('class="item"') == 3
    assert "Also published by 1 outlet" in html and "<details" in html
    assert '<svg class="tl"' in html and html.count("<circle") == 4  # timeline
    assert "Why it is here" in html and "cosine" in html  # score and evidence
    assert "Coverage by perspective" in html
    assert "All stories" in "".join(page.text)
    # links to outlets leave without a referrer and never as script
    assert all(u.startswith(("/", "#", "http://127.0.0.1")) for u in page.urls)


def test_unknown_story_is_404(client):
    assert client.get("/stories/no-such-story").status_code == 404
    assert client.get("/api/stories/no-such-story").status_code == 404


def test_merged_story_redirects_to_the_survivor(storage, tmp_path):
    # the pipeline merges stories only on bridging articles; fake one merge record in a copy
    copy = tmp_path / "store"
    copy.mkdir()
    source = sqlite3.connect(storage / "aggregator.sqlite3")
    target = sqlite3.connect(copy / "aggregator.sqlite3")
    source.backup(target)
    source.close()
    target.execute(
        "INSERT INTO stories (id, title, created, merged_into) VALUES ('old', 'x', '', ?)",
        (target.execute("SELECT story_id FROM articles LIMIT 1").fetchone()[0],),
    )
    target.commit()
    target.close()
    with ServerThread(create_app(copy, clock=lambda: NOW)) as server:
        response = httpx.get(server.url + "/stories/old", follow_redirects=False)
        assert response.status_code == 301
        assert response.headers["location"].startswith("/stories/a")
        api = httpx.get(server.url + "/api/stories/old", follow_redirects=True)
        assert api.status_code == 200 and api.json()["id"] != "old"


def test_sources_and_api_pages(client):
    sources = client.get("/sources")
    assert sources.status_code == 200
    assert_inert(sources.text)
    assert "North Times" in sources.text and ">ok<" in sources.text
    assert "from pages" in sources.text and "median" in sources.text  # where bodies came from
    api = client.get("/api")
    assert api.status_code == 200 and "/api/openapi.json" in api.text


# ---------------------------------------------------------------------- security
def test_security_headers_on_every_response(client):
    for path in ("/", "/api/stories", "/feed.atom", "/static/style.css", "/nope", "/?since=x"):
        response = client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (path, name)
    csp = SECURITY_HEADERS["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp


def test_hostile_feed_item_produces_no_executable_markup(client, storage):
    # the payload reached the store as text: the test below is not vacuous
    db = sqlite3.connect(storage / "aggregator.sqlite3")
    titles = [r[0] for r in db.execute("SELECT title FROM articles")]
    db.close()
    assert PWN_TITLE in titles
    story = floods(client)
    pages = [
        client.get("/?since=all").text,
        client.get(story["links"]["html"]).text,
        client.get("/?q=PWNED").text,
        client.get("/sources").text,
    ]
    for html in pages:
        page = assert_inert(html)
        assert "PWNED" not in "".join(t for t in page.tags)
    # the hostile text shows as text
    assert "&lt;script&gt;document.title=&#x27;PWNED&#x27;&lt;/script&gt;" in pages[1]
    # feeds: what a feed reader renders (the entry HTML) is inert as well
    atom = feedparser.parse(client.get("/feed.atom?since=all").content)
    rss = feedparser.parse(client.get("/feed.rss?since=all").content)
    jsonfeed = client.get("/feed.json?since=all").json()
    entries_html = [e.content[0].value for e in atom.entries]
    entries_html += [e.description for e in rss.entries]
    entries_html += [i["content_html"] for i in jsonfeed["items"]]
    assert len(entries_html) == 9
    for html in entries_html:
        assert_inert(html)
    # in the XML itself every "<" of the payload is escaped: it is text, not an element
    assert "<script" not in client.get("/feed.atom?since=all").text


# ---------------------------------------------------------------------- JSON API
def test_api_stories_paged_and_filtered(client):
    everything = get_json(client, "/api/stories?since=all")
    assert everything["total"] == 3 and everything["next"] is None
    first = everything["stories"][0]
    assert first["source_count"] == 3 and first["links"]["html"].startswith("/stories/")
    assert [o["name"] for o in first["outlets"]][0] == first["first_report"]["source"]
    page = get_json(client, "/api/stories?since=all&limit=2")
    assert len(page["stories"]) == 2 and page["total"] == 3
    rest = get_json(client, page["next"])
    assert [s["id"] for s in page["stories"] + rest["stories"]] == [
        s["id"] for s in everything["stories"]
    ]
    assert get_json(client, "/api/stories?since=all&min_sources=3")["total"] == 1
    assert get_json(client, "/api/stories?since=all&tag=americas")["total"] == 2
    recent = get_json(client, "/api/stories?since=all&order=recent")["stories"]
    assert recent[0]["last_updated"] == max(s["last_updated"] for s in recent)


def test_api_story_has_every_article_with_score_and_evidence(client):
    story = get_json(client, floods(client)["links"]["self"])
    articles = story["articles"]
    assert len(articles) == 4 and story["article_count"] == 4
    copies = [a for a in articles if a["duplicate_of"]]
    assert len(copies) == 1
    joined = [a for a in articles if a["evidence"]]
    assert joined and all(isinstance(a["score"], float) for a in joined)
    assert "text" not in articles[0]
    with_text = get_json(client, floods(client)["links"]["self"] + "?include_text=1")
    assert all("text" in a for a in with_text["articles"])


def test_api_articles_and_feeds(client):
    articles = get_json(client, "/api/articles")
    assert articles["total"] == 7
    times = [a["published"] for a in articles["articles"]]
    assert times == sorted(times, reverse=True)
    assert get_json(client, "/api/articles?q=Norges")["total"] >= 1
    feeds = get_json(client, "/api/feeds")
    assert {f["name"] for f in feeds["feeds"]} == {"North Times", "South Herald", "Evil News"}
    assert all(f["health"] == "ok" for f in feeds["feeds"])
    assert feeds["counts"]["articles"] == 7
    health = get_json(client, "/healthz")
    assert health["status"] == "ok" and health["counts"]["stories"] == 3


def _check(schema: dict[str, Any], value: Any, spec: dict[str, Any], where: str) -> None:
    """A small JSON Schema check: $ref, allOf, oneOf, type, required, properties, items."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        _check(spec["components"]["schemas"][name], value, spec, where)
        return
    for part in schema.get("allOf", []):
        _check(part, value, spec, where)
    if "oneOf" in schema:
        errors = 0
        for option in schema["oneOf"]:
            try:
                _check(option, value, spec, where)
            except AssertionError:
                errors += 1
        assert errors == len(schema["oneOf"]) - 1, f"{where}: matches not exactly one"
    kinds = schema.get("type")
    if kinds:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        python = {
            "object": dict,
            "array": list,
            "string": str,
            "integer": int,
            "number": (int, float),
            "boolean": bool,
            "null": type(None),
        }
        assert any(isinstance(value, python[k]) for k in kinds), f"{where}: {value!r} not {kinds}"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, f"{where}: missing {key}"
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                _check(sub, value[key], spec, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            _check(schema["items"], item, spec, f"{where}[{i}]")
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"


def test_openapi_describes_every_endpoint_and_the_answers_match(client):
    spec = get_json(client, "/api/openapi.json")
    assert spec["openapi"].startswith("3.1")
    story_id = floods(client)["id"]
    for path, item in spec["paths"].items():
        url = path.replace("{id}", story_id)
        if path == "/api/search":
            url += "?q=valencia"  # the search is required
        schema = item["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        _check(schema, get_json(client, url), spec, path)
        for param in item["get"]["parameters"]:
            if "$ref" in param:
                assert param["$ref"].rsplit("/", 1)[1] in spec["components"]["parameters"]
    documented = set(spec["paths"])
    assert {"/api/stories", "/api/stories/{id}", "/api/articles", "/api/feeds"} <= documented
    assert "/api/search" in documented
    error = client.get("/api/stories?limit=100000").json()
    _check({"$ref": "#/components/schemas/Error"}, error, spec, "error")


# ---------------------------------------------------------------------- feeds
@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_xml_feeds_validate_with_stable_ids_and_dates(client, fmt):
    first = client.get(f"/feed.{fmt}?since=all")
    assert first.status_code == 200
    parsed = feedparser.parse(first.content)
    assert not parsed.bozo, parsed.bozo_exception
    assert len(parsed.entries) == 3
    ids = [e.id for e in parsed.entries]
    assert all(i.startswith("urn:newsroom-aggregator:story:") for i in ids)
    assert all(e.link.startswith(str(client.base_url) + "/stories/") for e in parsed.entries)
    date = "updated" if fmt == "atom" else "published"  # RSS items have pubDate only
    assert all(e[f"{date}_parsed"] for e in parsed.entries)
    # the floods entry lists its outlets
    entry = next(e for e in parsed.entries if "Valencia" in e.title)
    body = entry.content[0].value if fmt == "atom" else entry.description
    assert "3 outlets" in body and "North Times" in body and "Full coverage" in body
    # a second poll gives the same document, and a conditional poll a 304
    second = client.get(f"/feed.{fmt}?since=all")
    assert second.content == first.content
    again = feedparser.parse(second.content)
    assert [e.id for e in again.entries] == ids
    assert [e[date] for e in again.entries] == [e[date] for e in parsed.entries]
    assert parsed.feed["updated"] == again.feed["updated"]  # <updated> / <lastBuildDate>
    etag = first.headers["etag"]
    assert client.get(f"/feed.{fmt}?since=all", headers={"If-None-Match": etag}).status_code == 304


def test_feeds_per_filter_have_their_own_ids(client):
    everything = feedparser.parse(client.get("/feed.atom?since=all").content)
    big = feedparser.parse(client.get("/feed.atom?min_sources=3&since=all").content)
    tagged = feedparser.parse(client.get("/feed.atom?since=all&tag=es").content)
    assert len(big.entries) == 1 and len(tagged.entries) == 2
    assert len({everything.feed.id, big.feed.id, tagged.feed.id}) == 3
    # the id depends on the filter, not on parameter order
    swapped = feedparser.parse(client.get("/feed.atom?tag=es&since=all").content)
    assert swapped.feed.id == tagged.feed.id
    assert "3+ outlets" in big.feed.title


def test_json_feed(client):
    response = client.get("/feed.json?since=all")
    assert response.headers["content-type"].startswith("application/feed+json")
    feed = response.json()
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"].endswith("/feed.json?since=all")
    assert len(feed["items"]) == 3 and len({i["id"] for i in feed["items"]}) == 3
    for item in feed["items"]:
        assert item["url"].startswith(str(client.base_url) + "/stories/")
        assert item["authors"] and item["date_modified"]
    assert response.content == client.get("/feed.json?since=all").content


# ---------------------------------------------------------------------- no data, serving
def test_no_store_yet_is_503_with_a_reason(tmp_path):
    with ServerThread(create_app(tmp_path / "empty")) as server:
        page = httpx.get(server.url + "/")
        assert page.status_code == 503 and "No stories yet" in page.text
        assert str(tmp_path) not in page.text  # no server paths for readers
        api = httpx.get(server.url + "/api/stories")
        assert api.status_code == 503 and api.json()["error"]["status"] == 503


def test_address_in_use_is_a_config_error(storage):
    from aggregator.errors import ConfigError

    app = create_app(storage)
    with ServerThread(app) as first:
        port = int(first.url.rsplit(":", 1)[1])
        with pytest.raises(ConfigError, match="cannot listen"), ServerThread(app, port=port):
            pass


def test_page_html_is_small_and_self_contained(client):
    html = client.get("/?since=all").text
    assert not re.search(r'(src|href)="(https?:)?//(?!127\.0\.0\.1)', html.split("<main")[0])
    css = client.get("/static/style.css")
    assert css.headers["content-type"].startswith("text/css")
    assert "@import" not in css.text and "url(" not in css.text
    assert json.dumps(SECURITY_HEADERS)  # the headers are plain strings
