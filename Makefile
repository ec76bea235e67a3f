# Two commands do everything: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint bench mutants clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m optihedge demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

# mutation testing of the modules that compute numbers (see [tool.mutmut] in pyproject.toml);
# slow (an hour or more on two cores), not part of `make test`; resumes where it stopped
mutants: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,mutation]"
	$(BIN)/mutmut run || true
	$(BIN)/python scripts/mutants_report.py --out mutants-report.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info mutants mutants-report.md
