# The two commands a new machine needs: `make demo` and `make test`.
# Both create .venv when it is missing and install the project into it; a second install is a no-op
# (the stamp file is newer than pyproject.toml).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench clean

install: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

demo: install
	$(BIN)/python -m bot demo

lint: install
	$(BIN)/ruff check --output-format concise .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/storage.py
	$(BIN)/python bench/extract.py
	$(BIN)/python bench/poll.py
	$(BIN)/python bench/briefing.py
	$(BIN)/python bench/alerts.py
	$(BIN)/python bench/commands.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
