# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
CORPUS ?= ../shared/corpus

.PHONY: install run once demo test test-deps serve lint format bench soak gates clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m compileall -q aggregator  # as a wheel install does: no start pays to compile
	touch $@

run: install  ## the daemon on ./feeds.yaml (real feeds), storing in ./storage
	$(BIN)/aggregator run

once: install  ## one pass over ./feeds.yaml, then exit
	$(BIN)/aggregator run --once

demo: install  ## the whole pipeline offline on bundled sample news
	$(BIN)/aggregator demo

test-deps:  ## Debian's Chromium (web page tests), PostgreSQL (store tests) and newsboat (Google Reader API client)
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	{ command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || missing="$$missing postgresql"; \
	command -v newsboat >/dev/null 2>&1 || missing="$$missing newsboat"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

test: install test-deps
	$(BIN)/pytest -q

serve: install  ## the readers' web page, JSON API and feeds on 127.0.0.1:8080
	$(BIN)/aggregator serve

lint: install
	$(BIN)/ruff check aggregator tests bench
	$(BIN)/ruff format --check aggregator tests bench
	$(BIN)/mypy aggregator
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format aggregator tests bench
	$(BIN)/ruff check --fix aggregator tests bench

gates: install  ## quality gates on the real-world corpus in $(CORPUS)
	$(PY) bench/run_gates.py --corpus $(CORPUS)

soak: install  ## hostile servers, address guard, crash, readers under load, fuzz, 2,000 feeds (~20 min); writes bench/SOAK.md
	$(PY) bench/soak.py

bench: install  ## speed and cost of every stage on generated feeds (~17 min); writes bench/RESULTS.md
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	$(PY) -m compileall -q aggregator  # timings of the code as installed, not of compiling it
	$(PY) bench/bench.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
