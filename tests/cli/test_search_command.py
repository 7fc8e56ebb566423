"""`aggregator search` as readers run it: the real command on a real store file."""

from __future__ import annotations

import json

import pytest

from aggregator.store.sqlite import SqliteStore
from tests.store.test_store_search import ARTICLES, add
from tests.support.commands import aggregator

GOLDEN = """\
2 stories match
1. Floods hit Valencia (3 outlets, 3 articles, 1 matching) story s-floods
   - [North Times] Floods hit Valencia (2026-11-10T08:00:00Z, +1 wire copy)
     https://north.test/floods
     The River Turia burst its banks and rescue boats reached Paiporta.
(1 of 2 shown: --limit and --offset for more)
"""


@pytest.fixture(scope="module")
def storage(tmp_path_factory):
    path = tmp_path_factory.mktemp("search")
    with SqliteStore(path) as store:
        for key in ARTICLES:
            add(store, key)
    return path


def search(storage, *args: str, check: bool = True):
    return aggregator("search", "--storage", str(storage), *args, check=check)


def test_text_output(storage):
    # piped, not a terminal: no bold, the marks dropped
    assert search(storage, "valencia", "source:north", "--limit", "1").stdout == GOLDEN


def test_json_output_and_paging(storage):
    doc = json.loads(search(storage, "valencia", "-football", "--json").stdout)
    assert doc["total"] == 2 and doc["offset"] == 0
    assert [s["id"] for s in doc["stories"]] == ["s-floods", "s-weather"]
    floods = doc["stories"][0]
    assert [h["key"] for h in floods["hits"]] == ["floods", "rescue"]
    assert floods["hits"][0]["copies"] == 1
    assert "<mark>Valencia</mark>" in floods["hits"][0]["title_html"]
    second = json.loads(search(storage, "valencia", "-football", "--json", "--offset", "1").stdout)
    assert [s["id"] for s in second["stories"]] == ["s-weather"]


def test_words_split_over_arguments_or_quoted_alike(storage):
    assert search(storage, "central", "bank").stdout == search(storage, "central bank").stdout
    phrase = search(storage, '"bank central"', check=False)
    assert phrase.returncode == 1 and phrase.stdout.startswith("0 stories match")


def test_a_bad_search_exits_2_naming_the_part(storage):
    result = search(storage, "floods", "since:yesterdayish", check=False)
    assert result.returncode == 2
    assert "aggregator search: error: since:yesterdayish:" in result.stderr
    assert search(storage, "x", "--limit", "0", check=False).returncode == 2
