"""The config cache: an unchanged feeds.yaml is not read again, anything else is."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aggregator.config import cache
from aggregator.config.model import load_config
from aggregator.errors import ConfigError

FEEDS = """\
settings:
  storage: data
feeds:
  - url: https://example.org/feed.xml
    name: Example
    interval: 20m
"""


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home / "newsroom-aggregator" / "config"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.pickle"))


def test_a_validated_file_is_cached_and_taken_back(tmp_path: Path, cache_home: Path) -> None:
    path = write(tmp_path / "feeds.yaml", FEEDS)
    first = load_config(path)
    assert len(entries(cache_home)) == 1
    assert oct(cache_home.stat().st_mode & 0o777) == "0o700"
    again = load_config(path)
    assert again == first
    assert again.settings.storage == tmp_path / "data"
    assert again.feeds[0].name == "Example"


def test_a_cached_start_loads_neither_ruamel_nor_pydantic(tmp_path: Path, cache_home: Path) -> None:
    path = write(tmp_path / "feeds.yaml", FEEDS)
    load_config(path)
    probe = (
        "import sys; from aggregator.config.model import load_config; "
        f"c = load_config({str(path)!r}); "
        "print(c.feeds[0].url, sorted(m for m in sys.modules "
        "if m.startswith(('ruamel.yaml', 'pydantic'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=os.environ
    ).stdout
    assert out.strip() == "https://example.org/feed.xml []"


def test_an_edited_file_is_read_afresh_and_replaces_its_entry(
    tmp_path: Path, cache_home: Path
) -> None:
    path = write(tmp_path / "feeds.yaml", FEEDS)
    load_config(path)
    write(path, FEEDS.replace("name: Example", "name: Renamed"))
    assert load_config(path).feeds[0].name == "Renamed"
    assert len(entries(cache_home)) == 1  # one entry per feeds.yaml path
    # and back: the cache never answers for other bytes than its own
    write(path, FEEDS)
    assert load_config(path).feeds[0].name == "Example"


def test_the_same_text_elsewhere_anchors_storage_on_its_own_directory(
    tmp_path: Path, cache_home: Path
) -> None:
    one = load_config(write(tmp_path / "a" / "feeds.yaml", FEEDS))
    two = load_config(write(tmp_path / "b" / "feeds.yaml", FEEDS))
    assert one.settings.storage == tmp_path / "a" / "data"
    assert two.settings.storage == tmp_path / "b" / "data"
    assert len(entries(cache_home)) == 2


def test_a_broken_entry_is_ignored_and_rewritten(tmp_path: Path, cache_home: Path) -> None:
    path = write(tmp_path / "feeds.yaml", FEEDS)
    expected = load_config(path)
    (entry,) = entries(cache_home)
    entry.write_bytes(b"\x80\x05 not a pickle")
    assert load_config(path) == expected
    assert cache.get(cache.key(path, path.read_bytes())) == expected


def test_an_entry_others_may_write_is_not_trusted(tmp_path: Path, cache_home: Path) -> None:
    path = write(tmp_path / "feeds.yaml", FEEDS)
    load_config(path)
    (entry,) = entries(cache_home)
    key = cache.key(path, path.read_bytes())
    assert cache.get(key) is not None
    entry.chmod(0o666)
    assert cache.get(key) is None
    entry.chmod(0o600)
    cache_home.chmod(0o777)
    assert cache.get(key) is None
    cache_home.chmod(0o700)
    assert cache.get(key) is not None


def test_a_file_with_errors_is_never_cached(tmp_path: Path, cache_home: Path) -> None:
    path = write(tmp_path / "feeds.yaml", FEEDS.replace("interval: 20m", "interval: soon"))
    for _ in range(2):
        with pytest.raises(ConfigError, match=r"feeds\[0\]\.interval"):
            load_config(path)
    assert entries(cache_home) == []


def test_no_writable_cache_directory_costs_nothing_but_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = write(tmp_path / "not-a-directory", "")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    path = write(tmp_path / "feeds.yaml", FEEDS)
    assert load_config(path).feeds[0].name == "Example"
    assert load_config(path).feeds[0].name == "Example"


def test_entries_of_other_code_are_stale(
    tmp_path: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = write(tmp_path / "code" / "validate.py", "RULES = 1\n")
    monkeypatch.setattr(cache, "_CODE", [module])
    path = write(tmp_path / "feeds.yaml", FEEDS)
    load_config(path)
    before = cache.key(path, path.read_bytes())
    assert cache.get(before) is not None
    write(module, "RULES = 22\n")  # an upgrade changed how feeds.yaml reads
    after = cache.key(path, path.read_bytes())
    assert after != before and cache.get(after) is None


def test_entries_made_under_other_libraries_are_stale(
    tmp_path: Path, cache_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = write(tmp_path / "site" / "pydantic" / "__init__.py", "VERSION = '2.1'\n")
    monkeypatch.setattr(cache, "_library_files", lambda: [library])
    path = write(tmp_path / "feeds.yaml", FEEDS)
    before = cache.key(path, path.read_bytes())
    write(library, "VERSION = '2.12'\n")  # pip installed another release
    assert cache.key(path, path.read_bytes()) != before
