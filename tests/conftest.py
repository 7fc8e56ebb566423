"""Shared test setup."""

from __future__ import annotations

import pytest

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
