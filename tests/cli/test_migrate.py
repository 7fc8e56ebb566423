"""`aggregator migrate --to postgresql://...`: a SQLite store copied without loss."""

from __future__ import annotations

import json

import pytest

from aggregator.cli.main import main
from aggregator.store.copy import counts
from aggregator.store.engine import location
from aggregator.store.sql import SqlStore
from aggregator.types import Placement
from tests.store.test_engines import fill
from tests.store.test_store import article, placement


def _export(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict[str, object]]:
    assert main(["export", *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_migrate_copies_every_table_and_the_stories_match(tmp_path, pg_url, capsys):
    storage = tmp_path / "storage"
    with SqlStore(storage) as store:
        fill(store)
        # a split the clusterer made (stories_apart): m1 leaves s1, m2 joins it
        store.add_article(article("m1"), placement("s1"), None)
        moves = (("m1", "m1"), ("m2", "m1"))
        store.add_article(
            article("m2"), Placement(story_id="m1", score=0.5, new_story=False, moves=moves), None
        )
        alice = store.add_user("alice", "alice pw")
        first = next(iter(store.articles())).id
        store.mark_read(alice, [first])
        store.mark_starred(alice, [first])
        token = store.issue_token(alice, "greader")
        before = counts(store)
        stories = [(s.id, s.title, s.article_count, s.first_published) for s in store.stories()]
    assert all(before.values()), before  # every table has rows to copy
    assert main(["migrate", "--storage", str(storage), "--to", pg_url]) == 0
    assert "counts and stories match" in capsys.readouterr().out
    with SqlStore(location(storage, pg_url), readonly=True) as copy:
        assert counts(copy) == before
        assert [(s.id, s.title, s.article_count, s.first_published) for s in copy.stories()] == (
            stories
        )
        assert copy.resolve_story_id("b1") == "s1"
        # readers keep their accounts, apps' logins and marks
        assert copy.check_password("alice", "alice pw") == alice
        assert copy.token_user(token, "greader") == alice
        assert copy.read_ids(alice, [first]) == copy.starred_ids(alice, [first]) == {first}
    sqlite_export = _export(capsys, "--storage", str(storage))
    pg_export = _export(capsys, "--storage", str(storage), "--database", pg_url)
    assert pg_export == sqlite_export
    # the copy is a store to write on: new rows number on after the copied ones
    with SqlStore(location(storage, pg_url)) as store:
        assert store.add_article(article("new"), placement("s9"), None) == before["articles"] + 1
        assert store.split_article("a1").id == before["corrections"] + 1
        assert store.add_user("bob", "bob pw").id == alice.id + 1


def test_migrate_refuses_a_database_that_holds_a_store(tmp_path, pg_url, capsys):
    storage = tmp_path / "storage"
    with SqlStore(storage) as store:
        fill(store)
    assert main(["migrate", "--storage", str(storage), "--to", pg_url]) == 0
    assert main(["migrate", "--storage", str(storage), "--to", pg_url]) == 2
    assert "not empty" in capsys.readouterr().err


def test_a_wrong_database_is_one_line_with_exit_2(tmp_path, capsys):
    url = "postgresql://someone:pw@127.0.0.1:1/news"
    assert main(["digest", "--storage", str(tmp_path), "--database", url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("aggregator digest: error: postgresql://127.0.0.1:1/news: cannot connect")
    assert "\n" not in err and "pw" not in err
