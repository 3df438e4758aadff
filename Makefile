# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
# Both create .venv and install zeroskip (editable) with its PyPI dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test test-slow bench bench-synth clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/zeroskip demo

test: $(BIN)/.installed
	$(BIN)/python -m pytest -n auto

test-slow: $(BIN)/.installed
	$(BIN)/python -m pytest -m slow

$(BIN)/.bench-installed: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

bench: $(BIN)/.bench-installed
	$(BIN)/python benchmarks/spine.py
	$(BIN)/python benchmarks/gating.py
	$(BIN)/python benchmarks/formats.py
	$(BIN)/python benchmarks/decoding.py
	$(BIN)/python benchmarks/sparsity.py

# Synthesis of the example grid on iCE40, ECP5 and xc7 with place and route: hours on 2 cores
# the first time; cached, so a re-run only synthesises what changed.
bench-synth: $(BIN)/.installed
	$(BIN)/zeroskip sweep benchmarks/grids/int8.toml -o benchmarks/results/sweep-int8

clean:
	rm -rf $(VENV) demo demo-out build dist *.egg-info
