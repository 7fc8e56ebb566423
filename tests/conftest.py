"""Shared test setup."""

from __future__ import annotations

import os
from collections.abc import Iterator

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


@pytest.fixture(autouse=True, scope="session")
def _config_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # the config cache (aggregator/config/cache.py) of this run, not the user's ~/.cache;
    # the daemons and commands the tests start inherit it
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if saved is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = saved


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # make_client trusts the environment; a proxy set there must not catch 127.x test traffic
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


# the throw-away PostgreSQL: postgres_cluster (session), pg_url, and `database` (both engines)
pytest_plugins = ["tests.support.postgres"]
