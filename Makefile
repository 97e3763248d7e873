# Fresh-machine entry points.  Each target creates its own virtual environment.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test bench venv clean

$(BIN)/mesonportal: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/python -m compileall -q src >/dev/null  # bytecode for the editable install (fresh-process start-up)
	touch $(BIN)/mesonportal

venv: $(BIN)/mesonportal

## Main job: the MiniBooNE analysis on the shipped defaults, results in results/
run: venv
	$(BIN)/mesonportal reproduce --out results

## Test suite
test: venv
	$(BIN)/python -m pytest -q -n 2

## Speed benchmarks (JSON on stdout)
bench: venv
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) results .pytest_cache
