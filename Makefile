# txscreen — run `make help` for the verbs.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv demo test test-unit test-kafka lint bench kafka-up kafka-down clean

help: ## show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,faust,bench]'
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install txscreen with its dev extras

demo: $(STAMP) ## stream ~2,000 sample payments through the screener on the local broker; show what was blocked
	$(BIN)/python -m streams.demo

test: $(STAMP) ## run every test (unit, then Kafka on a broker the tests start and stop)
	$(BIN)/ruff check schemas matchers streams tests benchmarks
	$(BIN)/pytest

test-unit: $(STAMP) ## the fast tier only (no broker)
	$(BIN)/pytest tests/unit

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check schemas matchers streams tests benchmarks
	$(BIN)/mypy

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info

kafka-up: $(STAMP) ## start the local single-node Kafka broker (127.0.0.1:9092)
	$(BIN)/txscreen kafka up

kafka-down: $(STAMP) ## stop the local broker
	$(BIN)/txscreen kafka down
