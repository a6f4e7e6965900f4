# fraudnet — the two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip
DEMO   ?= demo
PATIENTS ?= 20000
SEED   ?= 7
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: install install-test spark-deps demo scan-demo test test-fast bench clean neo4j-test-server browser-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade "pip>=24"

# The exact versions in constraints.txt, so an install next month behaves the same.
$(BIN)/fraudnet: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) install --quiet -c constraints.txt -e .
	@touch $@

install: $(BIN)/fraudnet

$(VENV)/.test-deps: $(BIN)/fraudnet
	$(PIP) install --quiet -c constraints.txt -e '.[test]'
	@touch $@

install-test: $(VENV)/.test-deps

# pyspark for the Spark engine and the `spark` test tier (Java 17 or later must be on the PATH).
$(VENV)/.spark-deps: $(VENV)/.test-deps
	@command -v java >/dev/null || { $(APT) update -qq && $(APT) install -y -qq openjdk-17-jre-headless; }
	$(PIP) install --quiet -c constraints.txt -e '.[test,spark]'
	@touch $@

spark-deps: $(VENV)/.spark-deps

# Generate a region, scan it, print the top alerts, then serve the API (Ctrl-C stops it).
scan-demo: install
	$(BIN)/fraudnet generate $(DEMO)/data --patients $(PATIENTS) --seed $(SEED)
	$(BIN)/fraudnet scan $(DEMO)/data --store $(DEMO)/store --export $(DEMO)/export
	$(BIN)/fraudnet alerts --store $(DEMO)/store --limit 15

demo: scan-demo
	@if [ -z "$$FRAUDNET_API_KEYS" ]; then \
	  key=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(24))'); \
	  echo "No FRAUDNET_API_KEYS set: demo admin key for this session: $$key"; \
	  echo "Try: curl -H 'X-API-Key: $$key' http://$(HOST):$(PORT)/api/v1/alerts?limit=5"; \
	  export FRAUDNET_API_KEYS="demo:admin:$$key"; \
	  exec $(BIN)/fraudnet serve --store $(DEMO)/store --host $(HOST) --port $(PORT); \
	else \
	  exec $(BIN)/fraudnet serve --store $(DEMO)/store --host $(HOST) --port $(PORT); \
	fi

# Every tier (what CI runs: .ci/run), with the servers they need.
test: install-test spark-deps neo4j-test-server browser-deps
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The everyday tier: no server, no large region, property tests on a tenth of their examples
# (tests/conftest.py), on both cores (pytest-xdist; a test file stays on one worker, so its
# module fixtures are built once). Under 2 minutes on 2 cores: see README, Tests.
FAST_TIERS ?= not neo4j and not browser and not spark and not slow
WORKERS ?= 2
test-fast: install-test
	FRAUDNET_TEST_TIER=fast $(BIN)/python -m pytest -n $(WORKERS) --dist loadfile -m "$(FAST_TIERS)" $(PYTEST_ARGS)

# Debian packages the test servers need, installed only when missing (as root, or through sudo).
APT := $(if $(filter 0,$(shell id -u)),,sudo) apt-get

# A real Neo4j 5.26 Community (+ Browser, + OpenGDS) for the `neo4j` and `browser` tests: Maven
# resolves it from Maven Central into ~/.cache/fraudnet/neo4j (never into the repository); the
# tests start and stop it themselves (tests/neo4j_server.py).
neo4j-test-server: $(VENV)/.test-deps
	@command -v mvn >/dev/null && command -v java >/dev/null || \
	  { $(APT) update -qq && $(APT) install -y -qq maven openjdk-17-jre-headless; }
	$(BIN)/python -m tests.neo4j_server prepare

# Debian's Chromium, which Playwright drives for the `browser` tests (its own download cannot be used).
browser-deps:
	@command -v chromium >/dev/null || { $(APT) update -qq && $(APT) install -y -qq chromium; }

bench: install
	$(BIN)/python benchmarks/load_build.py --full

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .hypothesis *.egg-info
