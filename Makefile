# paywitness: two commands on a fresh machine.
#   make demo  - set up on first use, then run the suite against the built-in demo shop
#   make test  - set up on first use, then lint, type-check and run every test
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.paywitness-installed
PYTEST_ARGS ?=
# Two xdist workers keep 2 cores busy (PYTEST_WORKERS=0 runs serially). Tests that read the same
# module fixture share an xdist_group (one worker); the rest go to whichever worker is free.
PYTEST_WORKERS ?= 2
# Bytecode caching makes every later start faster; some environments switch it off.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup demo allure-report test lint typecheck unit bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "paywitness needs Python 3.11 or newer (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)
	@$(BIN)/python -m paywitness.browser
	@# The Node packages of the HTML report (Allure 3); their tests run only where these are.
	@if command -v npm >/dev/null; then test -x node_modules/.bin/allure || npm ci --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the Allure report and its tests need Node 20"; fi

demo: setup
	@$(BIN)/paywitness demo; rc=$$?; $(MAKE) --no-print-directory allure-report; exit $$rc

# Allure 3 (Node) report of reports/latest: one file, analytics off, opens from disk.
# Allure 3 has no --clean: the output folder is emptied first so reports never nest.
allure-report:
	@if ! command -v npm >/dev/null; then echo "npm not found: Allure report skipped (install Node 20)"; exit 0; fi; \
	test -x node_modules/.bin/allure || npm ci --no-audit --no-fund --loglevel=error; \
	test -d reports/latest/allure-results || { echo "no reports/latest/allure-results: run make demo"; exit 0; }; \
	rm -rf reports/allure-report; \
	ALLURE_NO_ANALYTICS=true node_modules/.bin/allure generate reports/latest/allure-results --config allurerc.mjs >/dev/null && \
	echo "allure report: $$(pwd)/reports/allure-report/index.html"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

unit: setup
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup --durations=25 $(PYTEST_ARGS)

test: lint typecheck unit

bench: setup
	$(BIN)/python -m benchmarks.run_all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache *.egg-info
