# Zakaz: `make run` serves the OMS on a fresh machine; `make test` runs the whole suite.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)

.PHONY: run test lint typecheck pytest bench setup system-deps clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-*
	@touch $@

setup: $(STAMP)

system-deps:
	@bash scripts/system-deps.sh

run: setup
	$(BIN)/zakaz run

lint: setup
	$(BIN)/ruff check $(wildcard src tests bench)
	$(BIN)/ruff format --check $(wildcard src tests bench)

typecheck: setup
	$(BIN)/mypy

pytest: setup system-deps
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: setup
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache test-artifacts
