# The two commands: `make demo` and `make test`. Both set up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint typecheck unit bench clean

$(INSTALLED): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(INSTALLED)

demo: $(INSTALLED)
	$(BIN)/mlvigil demo

lint: $(INSTALLED)
	$(BIN)/ruff check src tests bench examples
	$(BIN)/ruff format --check src tests bench examples

typecheck: $(INSTALLED)
	$(BIN)/mypy --strict src

unit: $(INSTALLED)
	$(BIN)/pytest

test: lint typecheck unit

bench: $(INSTALLED)
	$(BIN)/python bench/drift.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
