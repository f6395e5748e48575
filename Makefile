# One entry point for people and CI alike (.ci/run calls `make test`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CONTRACT_CHECK := ../shared/tools/check-contract
# The producer library (its own distribution, `tallyboard-client`): the server depends on
# it, so it is installed first, editable, with the extras its own checks need.
CLIENT := clients/python

.PHONY: install demo serve migrate test lint typecheck contract schema unit screenshots clean \
	bench bench-quick client-test example

$(STAMP): pyproject.toml $(CLIENT)/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '$(CLIENT)[dev]'
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## First run: a fresh SQLite database with demo tenants and usage, served on :8000.
demo: install
	$(BIN)/tallyboard demo

## The metered example API (examples/metered-graphql-api) on :8080, metered into the
## Tallyboard at TALLYBOARD_URL (default http://127.0.0.1:8000, where `make demo` serves).
example: install
	@test -n "$(TALLYBOARD_INGEST_KEY)" || { \
		echo "Set TALLYBOARD_INGEST_KEY: make example TALLYBOARD_INGEST_KEY=tb_ing_... (make demo prints it)"; \
		exit 2; }
	cd examples/metered-graphql-api && \
		TALLYBOARD_URL="$${TALLYBOARD_URL:-http://127.0.0.1:8000}" \
		TALLYBOARD_INGEST_KEY="$(TALLYBOARD_INGEST_KEY)" \
		../../$(BIN)/uvicorn app:app --host 127.0.0.1 --port $${EXAMPLE_PORT:-8080}

serve: install
	$(BIN)/tallyboard migrate
	$(BIN)/tallyboard serve

migrate: install
	$(BIN)/tallyboard migrate

## The whole suite: lint, types, the GraphQL contract, every pytest test, and the
## producer library's own checks (its ruff, mypy --strict and tests).
test: install lint typecheck contract client-test
	$(BIN)/pytest

## The producer library's own checks, run from its directory with its own configuration.
client-test: install
	cd $(CLIENT) && ../../$(BIN)/ruff check . && ../../$(BIN)/ruff format --check .
	cd $(CLIENT) && ../../$(BIN)/mypy
	cd $(CLIENT) && ../../$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy src tests bench
	$(BIN)/mypy --strict examples/metered-graphql-api

contract: install
	@if [ -x $(CONTRACT_CHECK) ] || [ -f $(CONTRACT_CHECK) ]; then \
		$(BIN)/python $(CONTRACT_CHECK) --wave2 schema.graphql; \
	else \
		echo "contract: $(CONTRACT_CHECK) not found; tests/api/test_schema_export.py still checks schema.graphql is current"; \
	fi

## Regenerate schema.graphql from the schema the server actually serves.
schema: install
	$(BIN)/tallyboard schema > schema.graphql

unit: install
	$(BIN)/pytest tests/unit -q

## Benchmarks (docs/benchmarks.md + bench/results/latest.json); run alone on a quiet machine.
bench: install
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python -m bench

## Smoke run of every benchmark section at toy sizes, into a temp dir (asserts no timings).
bench-quick: install
	$(BIN)/python -m bench --quick

## Screenshots of each dashboard tab (laptop and phone width) from the demo data.
## Needs Chromium at /usr/bin/chromium (apt-get install -y chromium).
screenshots: install
	$(BIN)/python -m tests.support.screenshots docs/screenshots

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache build src/*.egg-info
