# Two commands set everything up: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The demo site's page addresses (the demo data has no canonical URLs): see the README tour.
DEMO_URL_TEMPLATE ?= https://www.example.com/{section}/{yyyy}/{mm}/{slug}

.PHONY: install run migrate seed test lint openapi-lint openapi-snapshot format bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(BIN)/newsdesk migrate

seed: migrate
	$(BIN)/newsdesk seed

# The demo's article pages live at this address unless the environment names another
# (set here, not in the shell: the template's braces would end a ${VAR-default}).
ifndef NEWSDESK_ARTICLE_URL_TEMPLATE
run: export NEWSDESK_ARTICLE_URL_TEMPLATE := $(DEMO_URL_TEMPLATE)
endif

run: seed
	@echo "Newsdesk: API docs at http://$(HOST):$(PORT)/docs"
	$(BIN)/newsdesk serve --host $(HOST) --port $(PORT)

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Refresh the committed OpenAPI snapshot (tests/data/openapi.json) after a change to the API
# that is meant; review `git diff tests/data/openapi.json` and commit it with the change.
openapi-snapshot: install
	NEWSDESK_UPDATE_SNAPSHOTS=1 $(BIN)/python -m pytest -q tests/core/test_openapi_snapshot.py

lint: install openapi-lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app migrations
	$(BIN)/lint-imports
	$(BIN)/hadolint -t warning Dockerfile

# The OpenAPI document, written by `newsdesk openapi`, checked by Spectral and Redocly, and
# turned into TypeScript types that a strict compile of client-check.ts must accept. The
# node packages are pinned in tools/openapi/package-lock.json (npm registry only; their
# install scripts are not needed and not run).
OPENAPI_TOOLS := tools/openapi
NODE_STAMP := $(OPENAPI_TOOLS)/node_modules/.installed

$(NODE_STAMP): $(OPENAPI_TOOLS)/package.json $(OPENAPI_TOOLS)/package-lock.json
	cd $(OPENAPI_TOOLS) && npm ci --ignore-scripts --no-audit --no-fund
	touch $@

openapi-lint: install $(NODE_STAMP)
	mkdir -p $(OPENAPI_TOOLS)/build
	$(BIN)/newsdesk openapi --output $(OPENAPI_TOOLS)/build/openapi.json
	cd $(OPENAPI_TOOLS) && node_modules/.bin/spectral lint --ruleset .spectral.yaml \
		--fail-severity warn build/openapi.json
	cd $(OPENAPI_TOOLS) && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		node_modules/.bin/redocly lint --config redocly.yaml build/openapi.json
	cd $(OPENAPI_TOOLS) && node_modules/.bin/openapi-typescript build/openapi.json \
		--default-non-nullable false --output build/newsdesk-api.d.ts
	cd $(OPENAPI_TOOLS) && node_modules/.bin/tsc --project tsconfig.json --strict --noEmit

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The benchmark harness (bench/, README "Performance"): a fresh 10,000-story corpus in the
# PostgreSQL database newsdesk_bench, every scenario, one worker. BENCH_ARGS adds options,
# e.g. BENCH_ARGS="--workers 1,2" or BENCH_DATABASE_URL=sqlite:///bench/results/bench.db.
BENCH_DATABASE_URL ?= postgresql://postgres@127.0.0.1/newsdesk_bench
BENCH_ARTICLES ?= 10000
BENCH_ARGS ?=

bench: install
	@bash bench/ensure-wrk.sh
	$(BIN)/python -m bench.run --database-url $(BENCH_DATABASE_URL) \
		--articles $(BENCH_ARTICLES) --workers 1 $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(OPENAPI_TOOLS)/node_modules $(OPENAPI_TOOLS)/build build *.egg-info .pytest_cache .mypy_cache .ruff_cache .import_linter_cache newsdesk.db*
