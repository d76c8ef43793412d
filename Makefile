# Two entry points for a fresh machine: `make demo` and `make test`.
# Everything installs into a local virtual environment (.venv).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.alignsts-installed

.PHONY: setup demo test bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install -q torch==2.13.0   # the CPU build; the neural tests need torch
	$(PY) -m pip install -q -e ".[dev,neural,train]"
	touch $(STAMP)

demo: setup
	$(VENV)/bin/alignsts demo -o demo_out

test: setup
	$(PY) -m pytest -q

bench: setup
	$(PY) benchmarks/reference_pairs.py
	$(PY) benchmarks/long_input.py
	$(PY) benchmarks/score_pairs.py
	$(PY) benchmarks/neural_speed.py
	$(PY) benchmarks/train_speed.py
	$(PY) benchmarks/train_tiny.py

clean:
	rm -rf $(VENV) demo_out .pytest_cache
