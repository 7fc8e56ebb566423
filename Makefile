# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
CORPUS ?= ../shared/corpus

.PHONY: install run once demo test lint format bench gates clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: install  ## the daemon on ./feeds.yaml (real feeds), storing in ./storage
	$(BIN)/aggregator run

once: install  ## one pass over ./feeds.yaml, then exit
	$(BIN)/aggregator run --once

demo: install  ## the whole pipeline offline on bundled sample news
	$(BIN)/aggregator demo

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check aggregator tests bench
	$(BIN)/ruff format --check aggregator tests bench
	$(BIN)/mypy aggregator

format: install
	$(BIN)/ruff format aggregator tests bench
	$(BIN)/ruff check --fix aggregator tests bench

gates: install  ## quality gates on the real-world corpus in $(CORPUS)
	$(PY) bench/run_gates.py --corpus $(CORPUS)

bench: install
	$(PY) bench/run_gates.py --corpus $(CORPUS) --report

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
