# Tokenpulse developer entry points. Each works on a fresh machine: it creates .venv and
# installs the project into it (again only when pyproject.toml changes).
#
#   make demo    the whole stack on an embedded local database: http://127.0.0.1:8000/graphql
#   make test    lint, then the whole test suite (what CI runs, through .ci/run)
#   make anvil   install anvil from npm into .tools/anvil for tests/anvil (make test does it)
#   make lint    ruff check + ruff format --check + mypy (strict) + import-linter contracts
#   make bench   the benchmark harness (transfers and analytics APIs on 1 M rows); rewrites
#                docs/performance.md
#   make bench-full  the same with the transfers API on 10 M rows (about 20 minutes)
#   make bench-analytics  the analytics section alone (ROWS=1000000 by default, every schema
#                mode here; ROWS=10000000 MODES=timescale: the 10 M run, about 45 minutes)
#   make soak    the whole stack for 25 min covering 48 h of chain time (MINUTES=, docs/reliability.md)
#   make chaos   kill the worker, restart PostgreSQL, cut upstreams, feed garbage; nothing lost
#   make load    the API under concurrent clients while ingesting: p50/p95/p99 per route
#   make format  apply ruff's fixes and formatting
#   make freeze  list new migration files in sql/frozen.sha256 (never rewrites a listed one)
#   make clean   remove caches and build output; `make distclean` also .venv, .tokenpulse, .tools

SHELL := /bin/bash
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-pyproject
PORT ?= 8000
PYTEST_ARGS ?=
LINT_PATHS := app schedulers tests bench reliability

.PHONY: help venv install postgres anvil lint format test demo bench bench-full bench-analytics freeze clean distclean soak chaos load

help:
	@sed -n 's/^#   make /make /p' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The stamp is newer than pyproject.toml once its dependencies are installed.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

venv install: $(STAMP)

# PostgreSQL server binaries: on PATH, or where Debian puts them. As root, the server runs as
# the `postgres` account, which Debian's package creates.
postgres:
	@if ! { command -v pg_ctl && command -v initdb; } >/dev/null 2>&1 \
	    && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then \
	  echo "PostgreSQL server binaries (pg_ctl, initdb) not found: install them with 'apt-get install postgresql'" >&2; \
	  exit 1; \
	fi
	@if [ "$$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then \
	  echo "Running as root needs the 'postgres' account to run PostgreSQL: install it with 'apt-get install postgresql'" >&2; \
	  exit 1; \
	fi

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy
	$(BIN)/mypy --strict bench
	$(BIN)/mypy --strict reliability
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

# Foundry's anvil node, from the npm registry, for the tests against a real client (tests/anvil).
anvil:
	@bash tests/anvil/install.sh

# Debian's chromium for the status page's headless browser test (tests/web); the test skips,
# saying why, only if it cannot be installed.
chromium:
	@command -v chromium >/dev/null 2>&1 \
	    || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium </dev/null \
	    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium </dev/null; } \
	    || echo "chromium could not be installed: the browser test of tests/web will skip" >&2

# pytest's temporary root is private to this run. Every pytest session on the machine makes
# /tmp/pytest-of-<user> private again (go-rwx), which cuts the `postgres` account off from a
# running test server's data directory beneath it: the server PANICs mid-run.
test: lint postgres anvil chromium
	@root=$$(mktemp -d "$${TMPDIR:-/tmp}/tokenpulse-pytest-XXXXXX") && chmod 711 "$$root"; \
	echo "PYTEST_DEBUG_TEMPROOT=$$root $(BIN)/pytest $(PYTEST_ARGS)"; \
	PYTEST_DEBUG_TEMPROOT="$$root" $(BIN)/pytest $(PYTEST_ARGS); status=$$?; \
	rm -rf "$$root"; exit $$status

demo: $(STAMP) postgres
	$(BIN)/tokenpulse demo --port $(PORT)

bench: $(STAMP) postgres
	$(BIN)/python -m bench.run --analytics --out docs/performance.md

# The transfers API section at the milestone's size: 10 M transfers over 10 chains. The 1 M
# section of `make bench` is kept beside it in docs/performance.md.
bench-full: $(STAMP) postgres
	$(BIN)/python -m bench.run --api-rows 10000000 --out docs/performance.md

# The analytics API section (issue 7) at one table size; the other sizes' sections are kept.
ROWS ?= 1000000
MODES ?=
bench-analytics: $(STAMP) postgres
	$(BIN)/python -m bench.run --analytics-only --api-rows $(ROWS) $(if $(MODES),--modes $(MODES)) --out docs/performance.md

# Reliability suites (reliability/): JSON results under reliability/results/.
MINUTES ?= 25
soak: $(STAMP) postgres
	$(BIN)/python -m reliability.soak --minutes $(MINUTES)

chaos: $(STAMP) postgres
	$(BIN)/python -m reliability.chaos

load: $(STAMP) postgres
	$(BIN)/python -m reliability.load

freeze: $(STAMP)
	$(BIN)/python -m app.store.freeze

clean:
	rm -rf .mypy_cache .ruff_cache .pytest_cache .import_linter_cache build dist *.egg-info bench/results reliability/results
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) .tokenpulse .tools
