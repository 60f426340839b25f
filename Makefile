# txscreen — run `make help` for the verbs.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The quixstreams peer of the benchmarks has its own virtualenv (its confluent-kafka pin clashes with ours);
# under .venv so that git ignores it and `make clean` removes it.
PEER_VENV := $(VENV)/peers/quix
PEER_STAMP := $(PEER_VENV)/.installed
BENCH_FLAGS := $(if $(filter-out 0,$(BENCH_QUICK)),--quick) $(BENCH_ARGS)

# The native fast path is built with cargo, if present (optional: without it txscreen screens on pure Python).
# rustup installs cargo in $(CARGO_HOME)/bin, ~/.cargo/bin by default, which a non-login shell may miss.
CARGO_HOME ?= $(HOME)/.cargo
export PATH := $(CARGO_HOME)/bin:$(PATH)
CARGO := $(shell PATH='$(PATH)' command -v cargo 2>/dev/null)
NO_CARGO := txscreen: no cargo on PATH (the native fast path is optional; https://rustup.rs):
# A virtualenv built without cargo is rebuilt once cargo is there, to build the fast path.
REBUILD := $(if $(and $(CARGO),$(wildcard $(VENV)/.pure)),FORCE)

.DEFAULT_GOAL := help
.PHONY: help venv constraints demo test test-unit test-pure test-kafka lint check-deploy browser-deps bench bench-peers kafka-up kafka-down clean FORCE

help: ## show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt native/Cargo.toml native/src/*.rs $(REBUILD)
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[dev,faust,bench]'
	@if $(BIN)/python -c 'import matchers._native' 2>/dev/null; then rm -f $(VENV)/.pure; else touch $(VENV)/.pure; fi
	@$(BIN)/txscreen --version
	@touch $(STAMP)

venv: $(STAMP) ## create .venv and install txscreen with its dev extras (and the native fast path if cargo is there)

constraints: $(STAMP) ## pin constraints.txt to what .venv holds now (after a green make test), so CI installs the same
	@{ sed -n '1,2p' constraints.txt; $(BIN)/pip freeze --exclude-editable; } > constraints.txt.new
	@mv constraints.txt.new constraints.txt
	@echo "constraints.txt: $$(grep -c '==' constraints.txt) pins"
	@touch $(STAMP)

demo: $(STAMP) ## stream ~2,000 sample payments through the screener on the local broker; show what was blocked
	$(BIN)/txscreen demo

test: lint browser-deps ## lint, then every test: Rust, Python unit, Kafka, browser and bench guards, and the unit tier on pure Python
ifneq ($(CARGO),)
	PYO3_PYTHON=$(abspath $(BIN)/python) cargo test -q --release --manifest-path native/Cargo.toml
else
	@echo "$(NO_CARGO) cargo test skipped"
endif
	$(BIN)/pytest
	$(MAKE) --no-print-directory test-pure

test-pure: $(STAMP) ## the unit tier on the pure-Python path (TXSCREEN_PURE_PYTHON=1), as without cargo
	TXSCREEN_PURE_PYTHON=1 $(BIN)/pytest tests/unit -q

test-unit: $(STAMP) ## the fast tier only (no broker)
	$(BIN)/pytest tests/unit

test-kafka: $(STAMP) browser-deps ## the Kafka tier only (starts and stops its own broker; with the browser tests)
	$(BIN)/pytest tests/kafka

lint: $(STAMP) check-deploy ## ruff, ruff format --check, mypy, rustfmt, clippy, and promtool on deploy/
	$(BIN)/ruff check schemas matchers streams tests benchmarks
	$(BIN)/ruff format --check schemas matchers streams tests benchmarks
	$(BIN)/mypy
ifneq ($(CARGO),)
	cargo fmt --check --manifest-path native/Cargo.toml
	PYO3_PYTHON=$(abspath $(BIN)/python) cargo clippy -q --release --all-targets --manifest-path native/Cargo.toml -- -D warnings
else
	@echo "$(NO_CARGO) cargo fmt and clippy skipped"
endif

# The console's browser tests drive Debian's chromium through Playwright (its own browser download does not work
# everywhere); installed when missing (as root, as in CI). Playwright itself comes with the dev extra.
browser-deps: $(STAMP) ## Debian's chromium for the console's browser tests (apt-get install when missing)
	@command -v chromium >/dev/null || { echo "chromium missing: installing Debian's chromium package"; \
		apt-get install -y -q --no-install-recommends chromium >/dev/null \
		|| { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null; }; }

# promtool comes in Debian's prometheus package; installed when missing (as root, as in CI).
check-deploy: ## promtool: check deploy/'s Prometheus config and alert rules, and run the rules' unit tests
	@command -v promtool >/dev/null || { echo "promtool missing: installing Debian's prometheus package"; \
		apt-get install -y -q --no-install-recommends prometheus >/dev/null \
		|| { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends prometheus >/dev/null; }; }
	promtool check config deploy/prometheus/prometheus.yml
	promtool check rules deploy/prometheus/alerts.yml
	promtool test rules deploy/prometheus/alerts_test.yml

$(PEER_STAMP): benchmarks/peer-quix.txt
	$(PY) -m venv $(PEER_VENV)
	$(PEER_VENV)/bin/pip install -q --upgrade pip
	$(PEER_VENV)/bin/pip install -q -r benchmarks/peer-quix.txt
	@touch $(PEER_STAMP)

bench-peers: $(PEER_STAMP) ## build the quixstreams peer's own virtualenv (.venv/peers/quix)

bench: $(STAMP) $(PEER_STAMP) ## benchmark suite on a local broker (~10 min; BENCH_QUICK=1: ~4); results in benchmarks/
	$(BIN)/python -m benchmarks.suite $(BENCH_FLAGS)

clean: ## remove the virtual environment, caches and native build output
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info native/target matchers/_native*.so

kafka-up: $(STAMP) ## start the local single-node Kafka broker (127.0.0.1:9092)
	$(BIN)/txscreen kafka up

kafka-down: $(STAMP) ## stop the local broker
	$(BIN)/txscreen kafka down
