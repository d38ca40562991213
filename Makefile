# Two commands for a newcomer: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_EVENTS ?= 1500000
DEMO_SEED ?= 42
DEMO_DIR := data/demo
EVENTS ?= 10000000
export AMAZING_WAREHOUSE ?= warehouse/amazing.duckdb
export DBT_PROFILES_DIR := $(CURDIR)
export DBT_SEND_ANONYMOUS_USAGE_STATS := false

.PHONY: help browser install demo data build docs test lint bench bench-segmentation bench-forecasting bench-recommend clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@$(MAKE) --no-print-directory browser
	@touch $(STAMP)

# The dashboard's real-browser test drives Debian's Chromium (Playwright cannot download its own
# browser here). Installed when missing and we are root (CI is); otherwise say what to run.
browser: ## install Debian's chromium for the browser tests, if missing
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: run 'sudo apt-get install -y chromium' for the browser tests"; fi; }

install: $(STAMP) ## create .venv and install the pinned dependencies

$(DEMO_DIR)/2019-Oct.csv.gz: | $(STAMP)
	$(BIN)/amazing generate --events $(DEMO_EVENTS) --seed $(DEMO_SEED) --out $(DEMO_DIR)

data: $(DEMO_DIR)/2019-Oct.csv.gz ## generate the demo data if absent

build: $(STAMP) ## dbt build (seeds, models, tests) into $(AMAZING_WAREHOUSE)
	@mkdir -p $(dir $(AMAZING_WAREHOUSE))
	$(BIN)/dbt build

docs: $(STAMP) ## dbt docs generate (target/index.html)
	$(BIN)/dbt docs generate

demo: install data build docs ## set up, generate the demo data, build the warehouse and its docs
	@$(BIN)/amazing summary --warehouse $(AMAZING_WAREHOUSE)

test: install ## every test: pytest (incl. the dbt end-to-end builds) and the dbt tests
	$(BIN)/pytest -q

lint: install ## ruff
	$(BIN)/ruff check src tests/python
	$(BIN)/ruff format --check src tests/python

bench: install ## time raw DuckDB loading vs dbt build at EVENTS events (default 10M)
	$(BIN)/python scripts/bench.py --events $(EVENTS)

CUSTOMERS ?= 1000000
bench-segmentation: install ## time the segmentation steps on CUSTOMERS synthetic customers (default 1M)
	$(BIN)/python scripts/bench_segmentation.py --customers $(CUSTOMERS)

bench-forecasting: install ## time the whole forecasting backtest on 150 synthetic series x 210 days
	$(BIN)/python scripts/bench_forecasting.py --series 150 --days 210

USERS ?= 1000000
PRODUCTS ?= 100000
INTERACTIONS ?= 10000000
# LightFM training threads: the 2-minute target is for 2 cores; the dbt default
# (var recommender_threads) is 1 because LightFM's parallel SGD is not reproducible.
THREADS ?= 2
bench-recommend: install ## time recommender training and scoring at USERS x PRODUCTS, INTERACTIONS pairs (default 1M x 100k, 10M)
	$(BIN)/python scripts/bench_recommend.py --users $(USERS) --products $(PRODUCTS) --interactions $(INTERACTIONS) --threads $(THREADS)

clean: ## remove build outputs (not the venv, not the data)
	rm -rf target logs warehouse

DASHBOARD_PORT ?= 8501
.PHONY: dashboard
dashboard: $(STAMP) ## run the marketing dashboard on the last build's exports (PORT: DASHBOARD_PORT, HEADLESS=1 for no browser)
	$(BIN)/amazing dashboard --port $(DASHBOARD_PORT) $(if $(HEADLESS),--headless,)
