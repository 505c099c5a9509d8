# bulkapp: `make run` starts everything locally; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := wsgi

.PHONY: install migrate demo run test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)  ## Create .venv and install every dependency

migrate: install  ## Apply database migrations (development database unless DATABASE_URL is set)
	mkdir -p instance
	BULKAPP_ENV=$${BULKAPP_ENV:-development} $(BIN)/flask db upgrade

demo: migrate  ## Create the demo organisation and admin, and print how to sign in
	BULKAPP_ENV=$${BULKAPP_ENV:-development} $(BIN)/flask demo

run: demo  ## Start Redis (when REDIS_URL is unset), the web server, a worker and the scheduler
	export PATH="$(BIN):$$PATH" BULKAPP_ENV=$${BULKAPP_ENV:-development}; \
	if [ -z "$$REDIS_URL" ]; then \
	  export REDIS_URL="unix://$${INSTANCE_DIR:-$(CURDIR)/instance}/redis.sock"; \
	  processes="redis web worker scheduler"; \
	else processes="web worker scheduler"; fi; \
	exec honcho -f Procfile.dev start $$processes

test: install  ## Run the whole test suite
	$(BIN)/python -m pytest

lint: install  ## What CI checks besides the tests: ruff, the format, mypy, the layer contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: install  ## Pipeline vs raw floor, SQLite and PostgreSQL: make bench ROWS=1000000 REPEAT=1
	$(BIN)/python bench/run.py --rows $(or $(ROWS),1000000) --repeat $(or $(REPEAT),1)

clean:  ## Remove the virtualenv and local data
	rm -rf $(VENV) instance .pytest_cache
