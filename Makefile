# Fidelis: `make run` starts a demo, `make test` runs the whole suite, `make bench` measures.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test fuzz bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Tools the tests drive as real peers (socat pty pairs for the serial devices, libfaketime
# for an edge whose clock moves while central is down, Debian's chromium for the web UI's
# browser tests: Playwright drives it, no browser is ever downloaded).
system-deps:
	@command -v socat >/dev/null || { \
	  echo "installing socat (serial port pairs for the device tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq socat >/dev/null; }
	@ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1 || { \
	  echo "installing faketime (moves one edge's clock in the multi-node tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; }
	@command -v chromium >/dev/null || { \
	  echo "installing chromium (the head-office UI's browser tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

test: $(STAMP) system-deps
	$(BIN)/pytest -n 2 -q

# A long schemathesis pass over both APIs (the suite runs a short one): many more examples per
# operation, all checks, the stateful phase. FIDELIS_FUZZ_SEED picks the seed (default: a new one).
FUZZ_EXAMPLES ?= 400
fuzz: $(STAMP)
	FIDELIS_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FIDELIS_FUZZ_SEED=$${FIDELIS_FUZZ_SEED:-$$RANDOM$$RANDOM} \
	  $(BIN)/pytest -q -s -p no:cacheprovider tests/test_fuzz_api.py

run: $(STAMP)
	$(BIN)/python -m demo

bench: $(STAMP)
	$(BIN)/python bench/edge_sale.py
	FIDELIS_TEST_PG_URL=$${FIDELIS_TEST_PG_URL:-$(PG_URL)} $(BIN)/python bench/central_ingest.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis
