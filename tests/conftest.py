"""Shared test setup."""

from __future__ import annotations

import pytest
from hypothesis import settings

# No per-example deadline: speed is measured in bench/, never asserted in tests, and a busy
# 2-core CI machine makes any wall-clock limit flaky.
settings.register_profile("project", deadline=None)
settings.load_profile("project")

_PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # make_client trusts the environment; a proxy set there must not catch 127.x test traffic
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# the throw-away PostgreSQL: postgres_cluster (session), pg_url, and `database` (both engines)
pytest_plugins = ["tests.support.postgres"]
