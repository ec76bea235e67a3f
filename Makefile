# Two commands do everything: `make demo` and `make test`. Both create .venv when missing.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test test-explore lint browser bench mutants clean

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

# The report's render test needs headless Chromium. Installed here when it can be (root with
# apt-get, e.g. CI's container); never inside a test. Failing to install is not an error:
# the render test is then skipped, and the skip's reason is listed in the test summary
# (set OPTIHEDGE_REQUIRE_CHROMIUM=1 to make it fail instead).
browser:
	@if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 \
		|| command -v chromium-browser >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "make browser: installing Debian's chromium for the report's render test"; \
		( export DEBIAN_FRONTEND=noninteractive; apt-get install -y chromium \
			|| { apt-get update && apt-get install -y chromium; } ) >/dev/null 2>&1 \
		|| echo "make browser: WARNING: could not install chromium; the report's render test will be SKIPPED"; \
	else \
		echo "make browser: NOTE: no chromium and not root with apt-get; the report's render test will be SKIPPED"; \
	fi

# the same hypothesis draws every run (profile optihedge-ci in tests/conftest.py)
test: lint browser
	OPTIHEDGE_HYPOTHESIS_PROFILE=optihedge-ci $(BIN)/python -m pytest -n 2 -q

# the suite with fresh random hypothesis draws (run it often; keep what it finds as a case)
test-explore: lint
	OPTIHEDGE_HYPOTHESIS_PROFILE=optihedge $(BIN)/python -m pytest -n 2 -q

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

# mutation testing of the modules that compute numbers (see [tool.mutmut] in pyproject.toml);
# slow (hours on two cores), not part of `make test`; resumes where it stopped, also on
# another machine: verdicts are carried in scripts/mutants-ledger.json (scripts/mutants_ledger.py);
# `make mutants RESTORE=--keep-survivors` keeps survivors found under older tests (an upper bound)
mutants: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[dev,mutation]"
	$(BIN)/python scripts/mutants_ledger.py restore $(RESTORE)
	OPTIHEDGE_HYPOTHESIS_PROFILE=optihedge-mutants $(BIN)/mutmut run --max-children 2 || true
	$(BIN)/python scripts/mutants_ledger.py save
	$(BIN)/python scripts/mutants_report.py --out mutants-report.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info mutants mutants-report.md
