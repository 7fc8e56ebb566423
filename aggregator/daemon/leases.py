"""This daemon's side of the feed leases, when several daemons share a PostgreSQL store.

Every daemon schedules every feed of feeds.yaml; when a feed's turn comes, it polls the feed
only if it holds (or can take) the feed's lease. Its heartbeat, a few times per TTL, renews
its leases, gives back feeds above its fair share (so that daemons started later get some),
and brings forward the polls of feeds whose holder stopped renewing (killed, paused,
cut off): those are taken over within about one TTL. The TTL is two poll timeouts
(``settings.timeout``): longer than any healthy pause between heartbeats.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket

from aggregator.store import leases
from aggregator.store.sql import SqlStore

log = logging.getLogger(__name__)


class FeedLeases:
    def __init__(self, store: SqlStore, ttl: float):
        self.store = store
        self.ttl = ttl
        self.host = socket.gethostname()
        self.id = f"{self.host}:{os.getpid()}:{secrets.token_hex(2)}"
        store.lease_holder = self.id  # every write for a feed checks the lease from now on

    def acquire(self, url: str, feeds: int) -> bool:
        """Whether this daemon may poll ``url`` now (it holds the lease, or just took it)."""
        with self.store.atomic() as db:
            if leases.renew(db, self.id, url, self.ttl):
                return True  # (the usual case: one statement, with BEGIN)
            share = leases.fair_share(db, feeds, self.ttl)
            return leases.acquire(db, self.id, url, self.ttl, share)

    def heartbeat(self, feeds: list[str]) -> list[str]:
        """Renew; give back feeds above the fair share; the feeds in ``feeds`` whose holder
        stopped renewing (to be polled now)."""
        with self.store.atomic() as db:
            leases.heartbeat(db, self.id, self.host, os.getpid(), self.ttl)
            share = leases.fair_share(db, len(feeds), self.ttl)
            held = [
                r[0]
                for r in db.execute(
                    "SELECT feed_url FROM feed_leases WHERE holder = ? ORDER BY feed_url",
                    (self.id,),
                ).fetchall()
            ]
            if len(held) > share:
                leases.release(db, self.id, held[share:])
                log.info("gave back %d feeds to the other daemons", len(held) - share)
            orphaned = leases.orphaned(db, self.id)
        wanted = set(feeds)
        return [url for url in orphaned if url in wanted]

    def take_free(self, urls: list[str]) -> set[str]:
        """A one-off pass (`run --once`): every feed no daemon holds, taken at once; shown
        in `aggregator status` as a daemon's while it runs."""
        with self.store.atomic() as db:
            leases.heartbeat(db, self.id, self.host, os.getpid(), self.ttl)
            return leases.acquire_free(db, self.id, urls, self.ttl)

    def renew(self) -> None:
        """Renew every lease held (a one-off pass that outlasts a TTL keeps its feeds)."""
        with self.store.atomic() as db:
            leases.heartbeat(db, self.id, self.host, os.getpid(), self.ttl)

    def release(self) -> None:
        """Give every lease back at a clean stop: the others take over at once."""
        with self.store.atomic() as db:
            leases.release(db, self.id)
