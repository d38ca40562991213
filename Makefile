# Two commands for a newcomer: `make demo` and `make test`. Everything else is a helper.
SHELL := /bin/bash
comma := ,
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

.PHONY: help browser install demo data build docs test lint bench bench-segmentation bench-forecasting bench-recommend clean register

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

# DBT_VARS: extra --vars for the build, e.g. make build DBT_VARS='{as_of_date: "2020-03-31"}'
DBT_VARS ?=
# DBT_THREADS: dbt's threads (empty: the profile's 1); 2 measured in docs/scaling.md §3
DBT_THREADS ?=
build: $(STAMP) ## dbt build (seeds, models, tests) into $(AMAZING_WAREHOUSE)
	@mkdir -p $(dir $(AMAZING_WAREHOUSE))
	$(BIN)/dbt build $(if $(DBT_VARS),--vars '$(DBT_VARS)') $(if $(DBT_THREADS),--threads $(DBT_THREADS))

docs: $(STAMP) ## dbt docs generate (target/index.html)
	$(BIN)/dbt docs generate

# The demo knows its true personas: segmentation_quality reports how well the segments find them.
# The demo reads its generator's ground truth (personas, for segmentation_quality) and the sends
# of the campaign the generator planted (issue 15, for campaign_results) when the file exists.
CAMPAIGN_SENDS ?= $(DEMO_DIR)/campaign_sends.csv
demo: DBT_VARS = {segmentation_ground_truth_path: $(DEMO_DIR)/ground_truth$(if $(wildcard $(CAMPAIGN_SENDS)),$(comma) campaign_sends_path: "$(CAMPAIGN_SENDS)")}
demo: install data build docs ## set up, generate the demo data, build the warehouse and its docs
	@$(BIN)/amazing summary --warehouse $(AMAZING_WAREHOUSE)

test: install ## every test: pytest (incl. the dbt end-to-end builds) and the dbt tests
	$(BIN)/pytest -q

# CI runs it before the tests (.ci/run). SQL: sqlfluff with the dbt templater, on an in-memory DuckDB (.sqlfluff).
lint: install ## ruff (src, tests, python_models, scripts) and sqlfluff (models, singular tests)
	$(BIN)/ruff check src tests/python python_models scripts
	$(BIN)/ruff format --check src tests/python python_models scripts
	$(BIN)/sqlfluff lint models tests/singular

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

.PHONY: demo-stats
demo-stats: data ## the demo data's statistics beside the published REES46 figures (docs/demo_data.md)
	$(BIN)/python scripts/demo_stats.py --dir $(DEMO_DIR)
# Recommendation API (issue 11): the bundle `make build` writes beside the warehouse.
.PHONY: serve bench-serve
SERVING_DIR ?= $(or $(AMAZING_SERVING_DIR),$(dir $(AMAZING_WAREHOUSE))serving)
HOST ?= 127.0.0.1
PORT ?= 8000
serve: install ## serve recommendations over HTTP from the serving bundle (OpenAPI at /docs)
	$(BIN)/amazing serve --bundle $(SERVING_DIR) --host $(HOST) --port $(PORT)

RATE ?= 1000
SECONDS_AT_RATE ?= 60
BENCH_PORT ?= 8150
BENCH_WORKERS ?= 2
bench-serve: install ## load-test the API: RATE req/s for SECONDS_AT_RATE s, then the knee (p99 < 10 ms); table in docs/benchmarks.md
	$(BIN)/python scripts/bench_serve.py --bundle $(SERVING_DIR) --events '$(DEMO_DIR)/*.csv.gz' --rate $(RATE) --seconds $(SECONDS_AT_RATE) --port $(BENCH_PORT) --workers $(BENCH_WORKERS) --docs docs/benchmarks.md
.PHONY: model-cards
model-cards: install ## write docs/model_cards/<model>.md from the built warehouse's evaluation marts
	$(BIN)/amazing model-cards --warehouse $(AMAZING_WAREHOUSE) --out docs/model_cards
register: install ## write docs/processing_register.md (GDPR art. 30) from the dbt manifest
	$(BIN)/dbt parse --quiet
	$(BIN)/amazing gdpr register --out docs/processing_register.md
DASHBOARD_PORT ?= 8501
.PHONY: dashboard
dashboard: $(STAMP) ## run the marketing dashboard on the last build's exports (PORT: DASHBOARD_PORT, HEADLESS=1 for no browser)
	$(BIN)/amazing dashboard --port $(DASHBOARD_PORT) $(if $(HEADLESS),--headless,)
# Issue 14 §3: the growth curve, stage by stage (a benchmark, not a test; docs/benchmarks.md).
# SCALE_VARS: the bounds of docs/scaling.md's scale profile (each measured there; SCALE_VARS=
# for none). make demo and a plain dbt build use the defaults: no bound (recommender_active_days 365).
SCALE_SIZES ?= 1000000 3000000
# SCALE_THREADS: dbt's threads for the builds (empty: the profile's 1; docs/scaling.md measures 2).
SCALE_THREADS ?=
SCALE_VARS ?= {recommender_train_window_days: 60, recommender_max_training_rows: 2000000, recommender_eval_sample_users: 20000, recommender_active_days: 60, propensity_max_training_rows: 200000, propensity_eval_sample_customers: 50000, propensity_active_days: 90, drift_sample_shoppers: 100000}
.PHONY: bench-scale
bench-scale: install ## time every build stage (wall, peak RSS) at SCALE_SIZES events, raw load beside staging, one new month (PNG in docs/)
	$(BIN)/python scripts/bench_scale.py --sizes $(SCALE_SIZES) --incremental-month $(if $(SCALE_VARS),--vars '$(SCALE_VARS)') $(if $(SCALE_THREADS),--threads $(SCALE_THREADS))

# Recommendation feedback loop (issue 15 §4): demo sessions replayed through the API (in
# process, on the sessions' own clock) with feedback, into the impression/feedback logs beside
# the warehouse; then the mart that reads them. REPLAY_SESSIONS sessions, seeded.
.PHONY: replay-feedback
REPLAY_SESSIONS ?= 2000
replay-feedback: install ## replay demo sessions through the API with feedback, then build recommendation_performance and its reconciliation
	$(BIN)/python scripts/replay_feedback.py --bundle $(SERVING_DIR) --events '$(DEMO_DIR)/*.csv.gz' --sessions $(REPLAY_SESSIONS)
	$(BIN)/dbt build --select stg_recommendation_impressions+ stg_recommendation_feedback+
