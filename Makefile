# Fidelis: `make run` starts a demo, `make test` runs the whole suite, `make bench` measures.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test

.PHONY: run test fuzz bench bench-figures bench-scale chaos system-deps clean screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# Tools the tests drive as real peers (socat pty pairs for the serial devices, libfaketime
# for an edge whose clock moves while central is down, dig and avahi as mDNS peers that share
# no code with python-zeroconf (avahi-daemon runs only inside network namespaces), systemd's
# tools to check the units and to install a box into a scratch root, Debian's chromium for
# the web UI's browser tests: Playwright drives it, no browser is ever downloaded).
system-deps:
	@command -v socat >/dev/null || { \
	  echo "installing socat (serial port pairs for the device tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq socat >/dev/null; }
	@ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1 || { \
	  echo "installing faketime (moves one edge's clock in the multi-node tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; }
	@command -v dig >/dev/null || { \
	  echo "installing bind9-dnsutils (dig reads the edge's zeroconf records in the discovery tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bind9-dnsutils >/dev/null; }
	@command -v avahi-browse >/dev/null || { \
	  echo "installing avahi-daemon and avahi-utils (discovery tested next to avahi, inside a network namespace)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq avahi-daemon avahi-utils >/dev/null; }
	@command -v systemd-analyze >/dev/null && command -v systemd-sysusers >/dev/null || { \
	  echo "installing systemd (systemd-analyze verify/security and systemd-sysusers for the unit tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null; }
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

# One table: the sale path, the edge → central backlog and central's ingest, each beside the
# raw durable signed commit measured in the same run (docs/performance.md).
bench: $(STAMP)
	FIDELIS_TEST_PG_URL=$${FIDELIS_TEST_PG_URL:-$(PG_URL)} $(BIN)/python bench/run.py

# Head office's pages over a brand of 100,000 customers (issue 9's figures; several minutes).
bench-figures: $(STAMP)
	FIDELIS_TEST_PG_URL=$${FIDELIS_TEST_PG_URL:-$(PG_URL)} $(BIN)/python bench/central_figures.py

# Brand scale on PostgreSQL (minutes, not seconds, so not in `make bench`): 1,000 shops syncing
# at once against two central processes, then 1,000,000 customers and 10,000,000 movements
# (FIDELIS_BENCH_CUSTOMERS / FIDELIS_BENCH_MOVEMENTS / FIDELIS_BENCH_EDGES for a quick check).
bench-scale: $(STAMP)
	FIDELIS_TEST_PG_URL=$${FIDELIS_TEST_PG_URL:-$(PG_URL)} $(BIN)/python bench/thousand_edges.py
	FIDELIS_TEST_PG_URL=$${FIDELIS_TEST_PG_URL:-$(PG_URL)} $(BIN)/python bench/brand_scale.py

# Central (two processes on PostgreSQL) and four edges under random kills, network cuts,
# central restarts and clock skew, then the invariants (docs/operations.md). FIDELIS_CHAOS_SEED
# picks the faults (default: a new seed, printed), CHAOS_SECONDS how long they last (180).
chaos: $(STAMP)
	@ls /usr/lib/*/faketime/libfaketimeMT.so.1 >/dev/null 2>&1 || { \
	  echo "installing faketime (one edge's clock jumps during the run)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null; }
	FIDELIS_TEST_PG_URL=$${FIDELIS_TEST_PG_URL:-$(PG_URL)} $(BIN)/python bench/chaos.py

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

# Retake the README's screenshots (docs/screenshots/) with the browser tests.
screenshots: $(STAMP) system-deps
	FIDELIS_SCREENSHOTS=1 $(BIN)/pytest -q -p no:cacheprovider tests/central -k browser
