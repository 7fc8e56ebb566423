"""The :class:`~aggregator.store.AccountStore` side of the store.

:class:`SqlAccounts` is mixed into :class:`~aggregator.store.sql.SqlStore`: it adds
hashing (:mod:`.passwords`) and transactions around the SQL of :mod:`.accounts` and
:mod:`.app_reads`, the same on both engines.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime

from aggregator.errors import AccountError
from aggregator.store import Account, accounts, app_reads, passwords
from aggregator.store.app_reads import AppItem, ItemQuery, Subscription
from aggregator.store.engine import Connection
from aggregator.store.rows import utc_now
from aggregator.types import StoredArticle

MAX_NAME = 64


def valid_name(name: str) -> str:
    """A user name as stored: trimmed, printable, without ``:`` (Fever joins on it)."""
    name = name.strip()
    if not name:
        raise AccountError("the user name is empty")
    if len(name) > MAX_NAME or not name.isprintable() or ":" in name:
        raise AccountError(
            f"user name {name!r}: use up to {MAX_NAME} printable characters, without ':'"
        )
    return name


class SqlAccounts:
    """Readers' accounts, tokens and marks over the store's connection."""

    # what SqliteStore brings: its connection, whether it may write, transactions, errors
    _db: Connection
    readonly: bool
    atomic: Callable[[], AbstractContextManager[Connection]]
    _errors: Callable[[], AbstractContextManager[None]]
    _select_articles: Callable[[str, tuple[object, ...]], list[StoredArticle]]

    # ------------------------------------------------------------------ accounts
    def add_user(self, name: str, password: str, *, fever: bool = False) -> Account:
        name = valid_name(name)
        digest = passwords.hash_password(password)
        key = passwords.fever_digest(passwords.fever_api_key(name, password)) if fever else None
        with self.atomic() as db:
            return accounts.add_user(db, name, digest, key, utc_now())

    def users(self) -> list[Account]:
        with self._errors():
            return accounts.all_users(self._db)

    def user(self, name: str) -> Account | None:
        with self._errors():
            return accounts.find_user(self._db, name.strip())

    def remove_user(self, name: str) -> None:
        with self.atomic() as db:
            accounts.remove_user(db, name.strip())

    def set_password(self, name: str, password: str, *, fever: bool = False) -> Account:
        """A new password; the account's apps must log in again."""
        name = name.strip()
        if self.user(name) is None:  # before hashing: an unknown name fails fast
            raise AccountError(f"no user {name!r} (see `aggregator users list`)")
        digest = passwords.hash_password(password)
        key = passwords.fever_digest(passwords.fever_api_key(name, password)) if fever else None
        with self.atomic() as db:
            return accounts.set_password(db, name, digest, key)

    def check_password(self, name: str, password: str) -> Account | None:
        """The account when the password is its own; None otherwise (same work either way).

        A hash made with older parameters is replaced while the password is at hand; a
        read-only store leaves that for a later login.
        """
        with self._errors():
            found = accounts.password_hash(self._db, name.strip())
        if found is None:
            passwords.waste_check(password)
            return None
        user, stored = found
        ok, new_hash = passwords.check_password(stored, password)
        if not ok:
            return None
        if new_hash is not None and not self.readonly:
            with self.atomic() as db:
                accounts.rehash(db, user.id, new_hash)
        return user

    # ------------------------------------------------------------------ tokens
    def issue_token(self, user: Account, kind: str) -> str:
        """A new random token for one of the user's apps (kept only as a digest)."""
        token = passwords.new_token()
        with self.atomic() as db:
            accounts.add_token(db, user.id, passwords.token_digest(token), kind, utc_now())
        return token

    def token_user(self, token: str, kind: str) -> Account | None:
        if not token:
            return None
        with self._errors():
            return accounts.token_user(self._db, passwords.token_digest(token), kind)

    def revoke_tokens(self, user: Account, kind: str | None = None) -> int:
        with self.atomic() as db:
            return accounts.revoke_tokens(db, user.id, kind)

    def session_user(
        self, token: str, kind: str, since: datetime
    ) -> tuple[Account, datetime] | None:
        """The account of a token issued or refreshed at or after ``since``, and when."""
        if not token:
            return None
        with self._errors():
            return accounts.token_session(self._db, passwords.token_digest(token), kind, since)

    def refresh_token(self, token: str) -> None:
        """The token counts as issued now (a web session used again lives on)."""
        with self.atomic() as db:
            accounts.refresh_token(db, passwords.token_digest(token), utc_now())

    def revoke_token(self, token: str) -> int:
        with self.atomic() as db:
            return accounts.revoke_token(db, passwords.token_digest(token))

    def expire_tokens(self, user: Account, kind: str, before: datetime) -> int:
        with self.atomic() as db:
            return accounts.expire_tokens(db, user.id, kind, before)

    def fever_user(self, api_key: str) -> Account | None:
        if not api_key:
            return None
        with self._errors():
            return accounts.fever_user(self._db, passwords.fever_digest(api_key))

    # ------------------------------------------------------------------ marks
    def mark_read(self, user: Account, article_ids: Sequence[int], read: bool = True) -> int:
        with self.atomic() as db:
            return accounts.set_marks(db, "read", user.id, article_ids, read, utc_now())

    def mark_story_read(self, user: Account, story_id: str, read: bool = True) -> int:
        with self.atomic() as db:
            ids = accounts.story_article_ids(db, story_id)
            return accounts.set_marks(db, "read", user.id, ids, read, utc_now())

    def mark_starred(self, user: Account, article_ids: Sequence[int], starred: bool = True) -> int:
        with self.atomic() as db:
            return accounts.set_marks(db, "starred", user.id, article_ids, starred, utc_now())

    def read_ids(self, user: Account, article_ids: Sequence[int]) -> set[int]:
        with self._errors():
            return accounts.marked_ids(self._db, "read", user.id, article_ids)

    def starred_ids(self, user: Account, article_ids: Sequence[int]) -> set[int]:
        with self._errors():
            return accounts.marked_ids(self._db, "starred", user.id, article_ids)

    def story_unread_counts(self, user: Account, story_ids: Sequence[str]) -> dict[str, int]:
        with self._errors():
            return accounts.story_unread_counts(self._db, user.id, story_ids)

    # ------------------------------------------------------------------ apps' reads
    def app_item_ids(self, user: Account, query: ItemQuery) -> list[int]:
        with self._errors():
            return app_reads.item_ids(self._db, user.id, query)

    def app_ids_by_id(self, user: Account, query: ItemQuery) -> list[int]:
        with self._errors():
            return app_reads.ids_by_id(self._db, user.id, query)

    def app_count(self, user: Account, query: ItemQuery) -> int:
        with self._errors():
            return app_reads.count_items(self._db, user.id, query)

    def app_items(self, user: Account, ids: Sequence[int]) -> list[AppItem]:
        with self._errors():
            return app_reads.items(self._db, user.id, list(ids))

    def app_mark_read(self, user: Account, query: ItemQuery, read: bool = True) -> int:
        with self.atomic() as db:
            return app_reads.mark_stream_read(db, user.id, query, utc_now(), read)

    def app_subscriptions(self) -> list[Subscription]:
        with self._errors():
            return app_reads.subscriptions(self._db)

    def app_unread_counts(
        self, user: Account
    ) -> tuple[int, dict[str, tuple[int, datetime | None]], dict[str, int]]:
        with self._errors():
            return app_reads.unread_counts(self._db, user.id)

    def starred_articles(
        self, user: Account, *, limit: int, offset: int = 0
    ) -> tuple[list[StoredArticle], int]:
        """One page of the user's starred articles, last starred first (wire copies folded into
        their original), and how many in all."""
        found = self._select_articles(
            accounts.marked_articles_sql("starred"), (user.id, limit, offset)
        )
        with self._errors():
            return found, accounts.count_marked(self._db, "starred", user.id)
