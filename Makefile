# Development tasks; everything runs from the project's own virtualenv (.venv).
#   make run    PostgreSQL + Redis (embedded, data in .data/), migrations, demo data, api, hub, workers
#   make test   ruff, mypy, then every test (they start their own throwaway servers)
#   make loadtest  a headless lunch rush against a fresh system (docs/benchmarks.md)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOAD_STAMP := $(VENV)/.installed-load

.PHONY: venv run migrate test lint clean clean-data loadtest

venv: $(STAMP)

# reinstalls only when pyproject.toml changed since the last install
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[embedded,test]'
	touch $@

run: venv
	$(BIN)/python -m kitchen run

migrate: venv
	$(BIN)/python -m kitchen migrate

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

# the load generator's own parts (Locust's HTTP client, the screens' WebSocket) are tested too
test: lint $(LOAD_STAMP)
	$(BIN)/python -m pytest -q

clean:
	rm -rf .mypy_cache .ruff_cache .pytest_cache artifacts build dist *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

# the local PostgreSQL and Redis data of make run (refused while it runs)
clean-data: venv
	$(BIN)/python -m kitchen clean-data

# SIGKILL api, hub, worker and Redis in turn under load (twice each), then check that nothing
# acknowledged was lost or doubled; prints the counts. `make test` runs it at a short scale.
.PHONY: faults
faults: venv
	FAULTS_SCALE=long $(BIN)/python -m pytest -q -s -p no:cacheprovider tests/faults

# Locust against a fresh system (its own PostgreSQL, Redis, api, hub, workers on free ports);
# report.html, stats_*.csv and summary.json land in artifacts/loadtest/<profile>-<time>/.
#   make loadtest                        full profile, Locust master + 2 workers
#   make loadtest PROFILE=smoke WORKERS=0   the CI smoke run (< 2 minutes)
PROFILE ?= full
WORKERS ?= 2

$(LOAD_STAMP): pyproject.toml $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[embedded,test,load]'
	touch $@

loadtest: $(LOAD_STAMP)
	$(BIN)/python -m loadtests.run --profile $(PROFILE) --workers $(WORKERS)
