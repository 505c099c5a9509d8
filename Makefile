# bulkapp: `make run` starts everything locally; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
# `make run` installs what running needs; `make test` and `make lint` add the tools.
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
# The installer: uv (from PATH, or put into .venv by Python's own pip) is many times faster
# than pip; the venv gets a pip of its own (ensurepip) only if uv cannot be had, and pip
# takes over.
UV_SPEC := uv>=0.13,<0.14
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
export FLASK_APP := wsgi

.PHONY: install install-run migrate demo run test test-fast test-in-process test-processes lint \
	bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv --without-pip $(VENV)
	@# A uv already on PATH saves fetching one: with empty caches that 17.7 MB download
	@# through pip is the longest wait of a first install.
	if command -v uv > /dev/null; then ln -s "$$(command -v uv)" $(BIN)/uv; \
	else $(PYTHON) -m pip --quiet --disable-pip-version-check --python $(BIN)/python \
	  install "$(UV_SPEC)" || echo "uv is unavailable; installing with pip"; fi

$(RUN_STAMP): requirements.txt requirements-run.txt | $(VENV)/bin/python
	$(call install_from,requirements-run.txt)
	@# Compiled once here (test suites left out: half the files), the modules are not
	@# compiled again by each of the four processes `make run` starts at once.
	$(BIN)/python -m compileall -q -j 0 -x '/tests?/' $(VENV)/lib > /dev/null
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP) requirements-dev.txt
	$(call install_from,requirements-dev.txt)
	touch $(STAMP)

# Install the requirements file $(1) into .venv, with uv when it is there, else with pip.
install_from = if [ -x $(BIN)/uv ]; then \
	  $(BIN)/uv pip install --quiet --python $(BIN)/python -r $(1); \
	else $(PIP) --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip --default-pip; \
	  $(PIP) install -r $(1); fi

install-run: $(RUN_STAMP)  ## Create .venv with what `make run` needs

install: $(STAMP)  ## Create .venv and install every dependency, test and lint tools included

migrate: install-run  ## Apply database migrations (development database unless DATABASE_URL is set)
	@mkdir -p instance
	@BULKAPP_ENV=$${BULKAPP_ENV:-development} $(BIN)/flask db upgrade

demo: migrate  ## Create the demo organisation and admin, and print how to sign in
	@BULKAPP_ENV=$${BULKAPP_ENV:-development} $(BIN)/flask demo

run: demo  ## Start Redis (when REDIS_URL is unset), the web server, a worker and the scheduler
	@export PATH="$(BIN):$$PATH" BULKAPP_ENV=$${BULKAPP_ENV:-development}; \
	exec $(BIN)/python -m bulkapp.devtools run Procfile.dev

# The tests run on TEST_DATABASE_URL's PostgreSQL (a database per worker named after it) or,
# without it, on SQLite. In-process tests run in parallel, TEST_WORKERS at once; real-process
# tests (marked e2e: workers, cron, gunicorn, Redis kills, Chromium) one at a time after them.
# With JUNIT_DIR set, each run writes its JUnit XML there (TEST_RUN names the file).
TEST_WORKERS ?= 3
TEST_RUN ?= $(if $(TEST_DATABASE_URL),postgresql,sqlite)
PYTEST = $(BIN)/python -m pytest $(if $(JUNIT_DIR),--junitxml=$(JUNIT_DIR)/$(TEST_RUN)-$(1).xml)
IN_PROCESS_TESTS = $(call PYTEST,in-process) -m "not e2e" -n $(TEST_WORKERS)
PROCESS_TESTS = $(call PYTEST,processes) -m e2e -p no:xdist

test: install  ## Run the whole suite: in-process tests in parallel, then the real-process ones
	$(IN_PROCESS_TESTS)
	$(PROCESS_TESTS)

test-fast: TEST_RUN = sqlite
test-fast: install  ## The inner loop: every in-process test, on SQLite, in parallel (no e2e)
	env -u TEST_DATABASE_URL $(IN_PROCESS_TESTS)

test-in-process: install  ## The in-process tests only, on TEST_DATABASE_URL or SQLite
	$(IN_PROCESS_TESTS)

test-processes: install  ## The real-process tests only (marked e2e), one at a time
	$(PROCESS_TESTS)

lint: install  ## What CI checks besides the tests: ruff, the format, mypy, the layer contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install  ## Pipeline vs raw floor, SQLite and PostgreSQL: make bench ROWS=1000000 REPEAT=1
	$(BIN)/python bench/run.py --rows $(or $(ROWS),1000000) --repeat $(or $(REPEAT),1)

clean:  ## Remove the virtualenv and local data
	rm -rf $(VENV) instance .pytest_cache
