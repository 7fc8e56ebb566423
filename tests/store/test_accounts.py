"""Readers' accounts and their marks, on both engines."""

from __future__ import annotations

import sqlite3

import pytest

from aggregator.errors import AccountError
from aggregator.store import passwords
from aggregator.store.engine import location
from aggregator.store.schema import LATEST, LEGACY_SQLITE
from aggregator.store.sql import SqlStore
from aggregator.store.sqlite import SqliteStore
from tests.store.test_store import article, placement


@pytest.fixture
def store(tmp_path, database):
    s = SqlStore(location(tmp_path, database))
    yield s
    s.close()


def ids(store: SqlStore) -> dict[str, int]:
    return {a.key: a.id for a in store.articles()}


def test_accounts_round_trip_and_keep_only_a_hash(store):
    alice = store.add_user("alice", "correct horse")
    assert [u.name for u in store.users()] == ["alice"]
    assert store.user("alice") == alice and not alice.fever
    stored = store._db.execute("SELECT password_hash FROM users").fetchone()[0]
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert store.check_password("alice", "correct horse") == alice
    assert store.check_password("alice", "wrong") is None
    assert store.check_password("nobody", "correct horse") is None
    with pytest.raises(AccountError, match="exists already"):
        store.add_user("alice", "other")
    with pytest.raises(AccountError, match="empty"):
        store.add_user("bob", "")
    with pytest.raises(AccountError, match="without ':'"):
        store.add_user("bo:b", "pw")
    store.remove_user("alice")
    assert store.users() == []
    with pytest.raises(AccountError, match="no user 'alice'"):
        store.remove_user("alice")


def test_a_new_password_revokes_the_apps_tokens(store):
    alice = store.add_user("alice", "one")
    token = store.issue_token(alice, "greader")
    assert store.token_user(token, "greader") == alice
    assert store.token_user(token, "web") is None  # a token serves one kind of client
    assert token not in str(store._db.execute("SELECT * FROM user_tokens").fetchall())
    store.set_password("alice", "two")
    assert store.token_user(token, "greader") is None
    assert store.check_password("alice", "one") is None
    assert store.check_password("alice", "two") is not None
    with pytest.raises(AccountError, match="no user 'carol'"):
        store.set_password("carol", "x")


def test_fever_key_only_when_asked_for(store):
    store.add_user("alice", "pw")
    bob = store.add_user("bob", "pw", fever=True)
    assert bob.fever
    assert store.fever_user(passwords.fever_api_key("alice", "pw")) is None
    assert store.fever_user(passwords.fever_api_key("bob", "pw")) == bob
    assert store.fever_user(passwords.fever_api_key("bob", "PW")) is None


def test_an_outdated_hash_is_replaced_at_login(store, monkeypatch):
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw")
    alice = store.add_user("alice", "pw")
    store._db.execute("UPDATE users SET password_hash = ? WHERE id = ?", (weak, alice.id))
    assert store.check_password("alice", "pw") == alice
    now = store._db.execute("SELECT password_hash FROM users").fetchone()[0]
    assert now != weak and passwords.check_password(now, "pw") == (True, None)


def test_reading_one_copy_marks_its_wire_copies(store):
    store.add_article(article("orig", url="https://a.example/1"), placement("s1"), None)
    store.add_article(article("copy1", minutes=1), placement("s1"), "orig")
    store.add_article(article("copy2", minutes=2), placement("s1"), "orig")
    store.add_article(article("other", minutes=3), placement("s1"), None)
    key = ids(store)
    alice, bob = store.add_user("alice", "pw"), store.add_user("bob", "pw")
    store.mark_read(alice, [key["copy2"]])
    family = {key["orig"], key["copy1"], key["copy2"]}
    assert store.read_ids(alice, list(key.values())) == family
    assert store.read_ids(bob, list(key.values())) == set()  # marks are per user
    assert store.story_unread_counts(alice, ["s1"]) == {"s1": 1}  # copies folded
    store.mark_read(alice, [key["orig"]], read=False)
    assert store.read_ids(alice, list(key.values())) == set()


def test_reading_a_story_marks_its_articles_and_later_ones_arrive_unread(store):
    store.add_article(article("a"), placement("s1"), None)
    store.add_article(article("b", minutes=1), placement("s2"), None)
    alice = store.add_user("alice", "pw")
    store.merge_stories("s1", "s2")  # s2's articles now in s1; the old id still resolves
    assert store.mark_story_read(alice, "s2") == 2
    store.add_article(article("c", minutes=2), placement("s1"), None)
    key = ids(store)
    assert store.read_ids(alice, list(key.values())) == {key["a"], key["b"]}
    assert store.story_unread_counts(alice, ["s1"]) == {"s1": 1}
    with pytest.raises(AccountError, match="no story"):
        store.mark_story_read(alice, "nope")


def test_starred_marks_and_cleanup(store):
    store.add_article(article("a"), placement("s1"), None)
    key = ids(store)
    alice = store.add_user("alice", "pw")
    store.mark_starred(alice, [key["a"]])
    store.mark_read(alice, [key["a"]])
    assert store.starred_ids(alice, [key["a"]]) == {key["a"]}
    store.mark_starred(alice, [key["a"]], starred=False)
    assert store.starred_ids(alice, [key["a"]]) == set()
    store.remove_user("alice")
    assert store._db.execute("SELECT count(*) FROM read_marks").fetchone()[0] == 0


def test_pruned_articles_take_their_marks(store):
    from datetime import timedelta

    from tests.store.test_store import T0

    store.add_article(article("a"), placement("s1"), None)
    alice = store.add_user("alice", "pw")
    store.mark_read(alice, list(ids(store).values()))
    store.prune(T0 + timedelta(days=1))
    assert store._db.execute("SELECT count(*) FROM read_marks").fetchone()[0] == 0


def test_an_older_database_gains_the_account_tables(tmp_path):
    with sqlite3.connect(tmp_path / "aggregator.sqlite3") as db:
        for number, script in enumerate(LEGACY_SQLITE):
            db.executescript(script)
            db.execute(f"PRAGMA user_version = {number + 1}")
    with SqliteStore(tmp_path) as store:
        assert store.schema_version() == LATEST
        assert store.users() == []


def test_app_streams_and_unread_counts_on_both_engines(store):
    from aggregator.store.app_reads import ItemQuery, Stream

    for n in range(3):
        store.add_article(article(f"k{n}", minutes=n), placement("s1"), None)
    store.add_article(article("copy", minutes=5), placement("s1"), "k0")  # a wire copy
    alice = store.add_user("alice", "pw")
    by_key = ids(store)
    newest_first = [by_key["k2"], by_key["k1"], by_key["k0"]]  # the copy is folded

    labelled = ItemQuery(stream=Stream("label", "world"), limit=-1)
    assert store.app_item_ids(alice, labelled) == newest_first
    assert store.app_item_ids(alice, ItemQuery(stream=Stream("label", "sport"))) == []
    total, per_feed, per_tag = store.app_unread_counts(alice)
    assert (total, per_tag) == (3, {"world": 3})
    assert per_feed["http://127.0.0.1/feed.xml"][0] == 3

    store.mark_read(alice, [by_key["copy"]])  # reading the copy reads its original
    unread = ItemQuery(read=False, limit=-1)
    assert store.app_item_ids(alice, unread) == newest_first[:2]
    assert store.app_unread_counts(alice)[2] == {"world": 2}


def test_web_sessions_expire_unless_refreshed_and_end_one_at_a_time(store):
    from datetime import UTC, datetime, timedelta

    alice = store.add_user("alice", "pw")
    one, two = store.issue_token(alice, "session"), store.issue_token(alice, "session")
    now = datetime.now(UTC)
    found = store.session_user(one, "session", now - timedelta(days=30))
    assert found is not None and found[0] == alice
    assert abs(found[1] - now) < timedelta(minutes=5)
    assert store.session_user(one, "greader", now - timedelta(days=30)) is None
    assert store.session_user(one, "session", now + timedelta(minutes=5)) is None  # too old
    old = (now - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ")
    store._db.execute("UPDATE user_tokens SET created = ?", (old,))
    store.refresh_token(one)  # a session used again lives on
    assert store.session_user(one, "session", now - timedelta(days=30)) is not None
    assert store.session_user(two, "session", now - timedelta(days=30)) is None
    assert store.expire_tokens(alice, "session", now - timedelta(days=30)) == 1  # two
    assert store.revoke_token(one) == 1
    assert store.session_user(one, "session", now - timedelta(days=30)) is None


def test_starred_articles_newest_mark_first_with_copies_folded(store):
    store.add_article(article("orig", url="https://a.example/1"), placement("s1"), None)
    store.add_article(article("copy", minutes=1), placement("s1"), "orig")
    store.add_article(article("other", minutes=2), placement("s2"), None)
    key = ids(store)
    alice, bob = store.add_user("alice", "pw"), store.add_user("bob", "pw")
    store.mark_starred(alice, [key["copy"]])  # the family: original and copy
    store._db.execute("UPDATE star_marks SET at = '2026-01-01T00:00:00Z'")
    store.mark_starred(alice, [key["other"]])
    found, total = store.starred_articles(alice, limit=10)
    assert [a.key for a in found] == ["other", "orig"] and total == 2
    assert [a.key for a in store.starred_articles(alice, limit=1, offset=1)[0]] == ["orig"]
    assert store.starred_articles(bob, limit=10) == ([], 0)
