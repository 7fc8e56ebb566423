"""The Fever API at /fever/, end to end: real pipeline, real server, real HTTP."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from aggregator.store.sqlite import SqliteStore
from aggregator.web.fever import number_for
from tests.web.apps_support import PASSWORDS, Served, fill_store, serve

BOB_KEY = hashlib.md5(f"bob:{PASSWORDS['bob']}".encode()).hexdigest()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    storage, feeds = fill_store(tmp_path_factory.mktemp("fever"))
    with serve(storage, feeds) as served:
        yield served


def fever(served: Served, query: str, key: str = BOB_KEY, **form: str) -> dict:
    response = httpx.post(served.url + "/fever/?api&" + query, data={"api_key": key, **form})
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["api_version"] == 3
    return doc


def unread_ids(served: Served) -> list[int]:
    text = fever(served, "unread_item_ids")["unread_item_ids"]
    return [int(i) for i in text.split(",") if i]


def test_only_the_right_key_of_a_fever_account_is_let_in(served: Served):
    assert fever(served, "", key="0" * 32)["auth"] == 0
    alice_key = hashlib.md5(f"alice:{PASSWORDS['alice']}".encode()).hexdigest()
    assert fever(served, "items", key=alice_key) == {"api_version": 3, "auth": 0}  # no --fever
    assert fever(served, "")["auth"] == 1
    assert httpx.post(served.url + "/fever/", data={"api_key": BOB_KEY}).status_code == 400


def test_groups_feeds_and_items(served: Served):
    doc = fever(served, "groups&feeds")
    groups = {g["title"]: g["id"] for g in doc["groups"]}
    assert set(groups) == {"europe", "en", "americas", "es"}
    feeds = {f["title"]: f for f in doc["feeds"]}
    north = feeds["North Times"]
    assert north["id"] == number_for(served.feeds["north"])
    europe = next(fg for fg in doc["feeds_groups"] if fg["group_id"] == groups["europe"])
    assert europe["feed_ids"] == str(north["id"])
    items = fever(served, "items")
    ids = [i["id"] for i in items["items"]]
    assert ids == sorted(ids) and items["total_items"] == len(ids)
    assert {i["feed_id"] for i in items["items"]} <= {f["id"] for f in doc["feeds"]}
    assert [i["id"] for i in fever(served, f"items&since_id={ids[0]}")["items"]] == ids[1:]
    assert [i["id"] for i in fever(served, f"items&max_id={ids[-1]}")["items"]] == list(
        reversed(ids[:-1])
    )
    chosen = fever(served, f"items&with_ids={ids[0]},{ids[-1]}")["items"]
    assert [i["id"] for i in chosen] == [ids[0], ids[-1]]
    assert "<p>" in chosen[0]["html"] and chosen[0]["is_read"] == 0
    assert fever(served, "favicons")["favicons"] == []


def test_marks(served: Served):
    with SqliteStore(served.storage) as store:
        store._db.execute("DELETE FROM read_marks")
        store._db.execute("DELETE FROM star_marks")
    everything = unread_ids(served)
    first = everything[0]
    doc = fever(served, "", mark="item", **{"as": "read", "id": str(first)})
    assert str(first) not in doc["unread_item_ids"].split(",")
    doc = fever(served, "", mark="item", **{"as": "saved", "id": str(first)})
    assert doc["saved_item_ids"] == str(first)
    fever(served, "", mark="item", **{"as": "unsaved", "id": str(first)})
    assert fever(served, "saved_item_ids")["saved_item_ids"] == ""
    south = number_for(served.feeds["south"])
    fever(served, "", mark="feed", **{"as": "read", "id": str(south), "before": "9999999999"})
    left = unread_ids(served)
    assert 0 < len(left) < len(everything) - 1
    fever(served, "", mark="group", **{"as": "read", "id": "0", "before": "1"})
    assert unread_ids(served) == left  # nothing before 1970
    fever(served, "", mark="group", **{"as": "read", "id": "0", "before": "9999999999"})
    assert unread_ids(served) == []


@pytest.mark.parametrize(
    "form",
    [
        {"mark": "item", "as": "read", "id": "x"},
        {"mark": "item", "as": "burnt", "id": "1"},
        {"mark": "feed", "as": "read", "id": "12345"},
        {"mark": "group", "as": "saved", "id": "0"},
        {"mark": "item", "as": "read"},
    ],
)
def test_bad_marks_are_400(served: Served, form: dict):
    response = httpx.post(served.url + "/fever/?api", data={"api_key": BOB_KEY, **form})
    assert response.status_code == 400 and response.json()["error"]


def test_bad_id_lists_are_400(served: Served):
    for query in ("items&with_ids=1,two", "items&since_id=-1", "items&with_ids=" + "1," * 60):
        response = httpx.post(served.url + "/fever/?api&" + query, data={"api_key": BOB_KEY})
        assert response.status_code == 400, query
