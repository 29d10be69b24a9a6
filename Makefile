# `make run` and `make test` do all the set-up on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast check clean lock

# The first run installs everything (a minute or two): pip shows each package as it comes.
$(BIN)/python:
	@echo "==> creating $(VENV) with $(PYTHON) (first run only)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Dependencies come from the lock files, every version pinned and every file's hash checked; the
# project itself is then installed without dependencies. `make lock` regenerates the locks from
# pyproject.toml.
PIP := $(BIN)/python -m pip install --disable-pip-version-check --progress-bar off

$(VENV)/.run-installed: pyproject.toml requirements-run.lock | $(BIN)/python
	@echo "==> installing the service's dependencies (requirements-run.lock) into $(VENV)"
	$(PIP) --require-hashes -r requirements-run.lock
	$(PIP) --quiet --no-deps -e .
	@echo "==> installed"
	touch $@

$(VENV)/.test-installed: pyproject.toml requirements-dev.lock | $(BIN)/python
	@echo "==> installing the service's dependencies and test tools (requirements-dev.lock) into $(VENV)"
	$(PIP) --require-hashes -r requirements-dev.lock
	$(PIP) --quiet --no-deps -e .
	@echo "==> installed"
	touch $@ $(VENV)/.run-installed

LOCK := $(BIN)/uv pip compile pyproject.toml --generate-hashes --python-version 3.11 --universal --quiet
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(LOCK) -o requirements.lock
	$(LOCK) --extra embedded -o requirements-run.lock
	$(LOCK) --extra test --extra embedded -o requirements-dev.lock

run: $(VENV)/.run-installed
	$(BIN)/aggregator up

check: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(VENV)/.test-installed check
	$(BIN)/pytest -q

# The quick tier while working: everything but the end-to-end tests marked slow (real workers, a
# browser, a Redis Cluster, RabbitMQ). `make test` runs them all.
test-fast: $(VENV)/.test-installed
	$(BIN)/pytest -q -m "not slow"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
