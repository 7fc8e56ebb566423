"""Search over real HTTP: the front page's search box and /api/search, on the store that
`aggregator run --once` filled from the local site (tests/web/test_server.py's fixtures:
two outlets, three events, a wire copy, and a hostile outlet)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from tests.read.test_search_query import HOSTILE
from tests.web.test_server import assert_inert, client, get_json, storage  # noqa: F401


def search_page(client, query: str, **params: str):  # noqa: F811
    return client.get("/?" + urlencode({"q": query, **params}))


def test_the_search_box_shows_stories_with_marked_passages(client):  # noqa: F811
    response = search_page(client, "catarroja")
    assert response.status_code == 200
    page = assert_inert(response.text)
    assert page.classes.count("hit") == 1  # one story: the floods
    card = response.text.split('class="card hit"')[1]
    assert "<mark>Catarroja</mark>" in card
    # the wire copy folds into north's original; south's own report and the hostile
    # outlet's are the other hits
    assert "1 wire copy folded" in card
    assert card.count('<span class="hit-title">') == 3
    assert "(wire)" not in card
    assert "North Times" in card and "South Herald" in card
    assert 'value="catarroja"' in response.text  # the box keeps the search
    assert "1 story match" in response.text


def test_the_search_box_ranks_titles_first_and_reads_operators(client):  # noqa: F811
    def stories(query: str, **params: str) -> list[str]:
        html = search_page(client, query, **params).text
        return re.findall(r'<h2><a href="/stories/[^"]+">(.*?)</a></h2>', html)

    # "inflation" is in the Norway stories' titles, in no other title or body
    assert len(stories("inflation")) == 1
    assert len(stories('"central bank"')) == 1
    assert stories('"bank central"') == []
    rates = stories("rate")  # stemmed: "rate", "rates"; Norway and Canada
    assert len(rates) == 2
    assert len(stories("rate -krone")) == 1
    assert len(stories("rate source:north")) == 2 and len(stories("rate source:south")) == 1
    assert len(stories("valencia tag:americas")) == 1 and stories("valencia tag:asia") == []
    assert len(stories("rate since:2026-11-12")) == 1 == len(stories("rate since:30h"))
    # the page's own filters narrow the search too
    assert len(stories("rate", min_sources="2")) == 1
    assert len(stories("rate", since="30h")) == 1


def test_bad_searches_are_400_naming_the_part(client):  # noqa: F811
    response = search_page(client, "floods since:yesterdayish")
    assert response.status_code == 400
    assert "since:yesterdayish" in response.text
    api = client.get("/api/search?" + urlencode({"q": "source:"}))
    assert api.status_code == 400
    assert "source:" in api.json()["error"]["message"]
    assert client.get("/api/search").status_code == 400
    assert client.get("/api/stories?" + urlencode({"q": '"'})).status_code == 400


@pytest.mark.parametrize("typed", HOSTILE)
def test_hostile_searches_are_never_a_500(client, typed):  # noqa: F811
    for path in ("/", "/api/search", "/api/stories", "/api/articles", "/feed.atom"):
        response = client.get(path + "?" + urlencode({"q": typed}))
        assert response.status_code in (200, 400), (path, typed, response.text)


def test_hostile_text_in_results_stays_text(client):  # noqa: F811
    response = search_page(client, "script pwned valencia")
    assert response.status_code == 200
    assert_inert(response.text)
    assert "&lt;<mark>script</mark>&gt;" in response.text
    doc = get_json(client, "/api/search?" + urlencode({"q": "pwned"}))
    [hit] = [h for s in doc["stories"] for h in s["hits"]]
    assert "<script>" in hit["title"]  # the record holds the text as it is...
    assert "<script>" not in hit["title_html"]  # ...and its HTML is escaped
    assert_inert(hit["title_html"] + hit["snippet_html"])


def test_api_search(client):  # noqa: F811
    doc = get_json(client, "/api/search?" + urlencode({"q": "krone", "limit": "1"}))
    assert doc["total"] == 1 and doc["limit"] == 1 and doc["next"] is None
    [story] = doc["stories"]
    assert story["links"]["html"].startswith("/stories/")
    assert get_json(client, story["links"]["self"])["id"] == story["id"]
    assert story["matches"] == 2 and len(story["hits"]) == 2
    best = story["hits"][0]
    assert "<mark>krone</mark>" in best["snippet_html"].lower()
    assert "krone" in best["snippet"] and "\ue000" not in best["snippet"]
    assert best["rank"] <= story["hits"][1]["rank"]
    paged = get_json(client, "/api/search?" + urlencode({"q": "rate", "limit": "1"}))
    assert paged["total"] == 2 and paged["next"] and "offset=1" in paged["next"]
    second = get_json(client, paged["next"])
    assert second["stories"][0]["id"] != paged["stories"][0]["id"]
