"""Operators' corrections: `aggregator stories split | merge`, kept in the store and respected
by later placement (in the clusterer's memory, after restarts, through retention), shown on
the story page and in the API; bad input changes nothing and exits 2."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from starlette.testclient import TestClient

from aggregator.cluster.clusterer import Clusterer
from aggregator.types import ClusterDoc
from aggregator.web import create_app
from tests.support.commands import aggregator

T0 = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)
BRIDGE = (
    "The Alden Harbour bridge collapsed into the Corran river on Thursday morning after "
    "days of flooding. Mayor Ilse Varga said rescue crews from Port Alden pulled eleven "
    "people from the water and that the bridge had been closed to lorries since the spring "
    "inspection found cracks in its piers. Engineers from the Corran river authority will "
    "examine the piers once the flood falls. Ferries from Port Alden will carry commuters "
    "across the Corran river until a temporary crossing is built."
)
VOTE = (
    "Lakeside province voters rejected the new water tax in a referendum on Sunday. "
    "Governor Tomas Brandt conceded defeat and said the province would look for other ways "
    "to pay for its reservoirs. Turnout was the highest in a decade, and the No campaign "
    "won in every district but the capital. Brandt's coalition partners called for talks."
)


def doc(n: int, text: str = BRIDGE, title: str = "Alden Harbour bridge collapses") -> ClusterDoc:
    return ClusterDoc(
        id=f"a{n}",
        title=f"{title} ({n})",
        text=text,
        published=T0 + timedelta(minutes=10 * n),
        source=f"Outlet {n}",
    )


def record(n: int, text: str = BRIDGE, title: str = "Alden Harbour bridge collapses") -> dict:
    d = doc(n, text, title)
    return {
        "id": d.id,
        "title": d.title,
        "text": d.text,
        "source": d.source,
        "published": d.published.isoformat() if d.published else None,
        "url": f"https://outlet{n}.example/news/{n}",
    }


def test_a_split_article_is_never_merged_back_by_the_clusterer() -> None:
    clusterer = Clusterer()
    story = {clusterer.add(doc(n)).story_id for n in range(4)}
    assert len(story) == 1
    (old,) = story
    clusterer.split(doc(2), old, "split-story")
    assert clusterer.story_of("a2") == "split-story"
    for n in range(4, 8):  # more reports matching both: no merge of the two
        placement = clusterer.add(doc(n))
        assert {old, "split-story"} not in [set(pair) for pair in placement.merges]
    assert clusterer.story_of("a2") == "split-story"
    assert clusterer.story_of("a0") == old


def test_an_operators_merge_holds_in_memory() -> None:
    clusterer = Clusterer()
    bridge = clusterer.add(doc(0)).story_id
    vote = clusterer.add(doc(1, VOTE, "Lakeside rejects water tax")).story_id
    assert bridge != vote
    clusterer.merge(vote, bridge)
    assert clusterer.story_of("a1") == bridge
    assert clusterer.add(doc(2, VOTE, "Lakeside rejects water tax")).story_id == bridge


def _replay(tmp_path: Path, storage: Path, records: list[dict], name: str) -> None:
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    aggregator("replay", str(path), "--storage", str(storage))


def _stories(storage: Path) -> dict[str, str]:
    out = aggregator("export", "--storage", str(storage)).stdout
    return {row["guid"]: row["story"] for row in map(json.loads, out.splitlines())}


def _dump(storage: Path) -> list[tuple]:
    with sqlite3.connect(storage / "aggregator.sqlite3") as db:
        return [
            *db.execute("SELECT key, story_id FROM articles ORDER BY key"),
            *db.execute("SELECT id, merged_into FROM stories ORDER BY id"),
            *db.execute("SELECT count(*) FROM corrections"),
        ]


def test_split_and_merge_from_the_command_line(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    _replay(tmp_path, storage, [record(n) for n in range(4)], "first")
    _replay(tmp_path, storage, [record(9, VOTE, "Lakeside rejects water tax")], "vote")
    before = _stories(storage)
    old, vote = before["a0"], before["a9"]
    assert len({before[f"a{n}"] for n in range(4)}) == 1 and vote != old

    # bad input: a clear error, exit 2, nothing changed
    state = _dump(storage)
    for args in (
        ["split", "no-such-article"],
        ["merge", old, old],
        ["merge", old, "no-such-story"],
    ):
        result = aggregator("stories", *args, "--storage", str(storage), check=False)
        assert result.returncode == 2 and "error:" in result.stderr
    assert _dump(storage) == state

    # split by link; the article gets a story of its own
    out = aggregator(
        "stories", "split", "https://outlet2.example/news/2", "--json", "--storage", str(storage)
    )
    split = json.loads(out.stdout)
    assert (split["kind"], split["story"]) == ("split", old)
    after = _stories(storage)
    assert after["a2"] == split["other"] != old and after["a0"] == old

    # a later pass (a restart) with more reports of the same event keeps them apart
    _replay(tmp_path, storage, [record(n) for n in range(4, 8)], "later")
    later = _stories(storage)
    assert later["a2"] == split["other"] and later["a0"] == old

    # merge: the vote story joins the bridge story; its id resolves to it
    aggregator("stories", "merge", old, vote, "--storage", str(storage))
    merged = _stories(storage)
    assert merged["a9"] == old

    # the story page and the API say that the story was corrected
    with TestClient(create_app(storage)) as client:
        detail = client.get(f"/api/stories/{old}").json()
        page = client.get(f"/stories/{old}").text
    kinds = sorted(c["kind"] for c in detail["corrections"])
    assert kinds == ["merge", "split"]
    assert "Corrected by an operator" in page

    # retention prunes articles, never the corrections
    with sqlite3.connect(storage / "aggregator.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM corrections").fetchone()[0] == 2


def test_kept_apart_follows_later_merges_and_a_merge_into_a_story_out_of_memory() -> None:
    clusterer = Clusterer()
    old = clusterer.add(doc(0)).story_id
    clusterer.add(doc(1))
    clusterer.split(doc(1), old, "split-story")
    clusterer.split(doc(1), old, "split-story")  # applied twice (a restart): no second move
    assert clusterer.story_of("a1") == "split-story"
    # the old story merged into one the clusterer no longer holds (older than its window)
    clusterer.merge(old, "long-ago")
    assert clusterer.story_of("a0") == "long-ago"
    assert clusterer.add(doc(2)).story_id in {"long-ago", "split-story"}  # no KeyError
    for n in range(3, 7):
        merges = clusterer.add(doc(n)).merges
        assert {"long-ago", "split-story"} not in [set(pair) for pair in merges]
