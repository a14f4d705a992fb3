# Two entry points for a fresh machine with Python ≥ 3.10, bash and make:
#   make run   — create .venv, install planner, solve the shipped PCT instance
#   make test  — create or reuse .venv, install the test dependencies, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# PYTHONWARNINGS=ignore hides setuptools' notes on editable installs (the build backend runs in
# pip's subprocess and inherits it); errors still show.
$(VENV)/.installed: $(BIN)/python pyproject.toml
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

run: $(VENV)/.installed
	$(BIN)/planner solve instances/pct --out out/pct
	@echo
	@echo "Open out/pct/report.html in a browser for the board's report (out/pct/summary.md and"
	@echo "out/pct/plan.xlsx hold the same plan). Next:"
	@echo "  $(BIN)/planner explain instances/pct --service SERVICE --level LEVEL   why this and not that"
	@echo "  $(BIN)/planner compare out/pct --status-quo instances/pct               what changes against today"
	@echo "  $(BIN)/planner new my-area                                            a template for your own data"

test: $(VENV)/.installed-test
	bash scripts/ensure_chromium.sh
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check planner formulations scripts tests
	$(BIN)/lint-imports

clean:
	rm -rf out .pytest_cache
