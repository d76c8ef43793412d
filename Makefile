# Two entry points for a fresh machine: `make demo` and `make test`.
# Everything installs into a local virtual environment (.venv).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.alignsts-installed
# the base install (`pip install alignsts`, no extras) in a venv of its own: `make test` checks it too
BASE_VENV  ?= .venv-base
BASE_STAMP := $(BASE_VENV)/.alignsts-installed

# Debian tools the tests and asset scripts use (CI runs as root on a fresh machine).
APT_PACKAGES := espeak-ng festival sox chromium chromium-driver fluidsynth fluid-soundfont-gm
APT_TOOLS    := espeak-ng text2wave sox chromium chromedriver fluidsynth
APT_FILES    := /usr/share/sounds/sf2/FluidR3_GM.sf2   # fluid-soundfont-gm ships no tool: its sound font

.PHONY: setup sysdeps demo test check bench clean

setup: sysdeps $(STAMP)

# Installs the Debian packages only when one of their tools is missing; needs root (as CI is).
sysdeps:
	@missing=""; for t in $(APT_TOOLS); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	for f in $(APT_FILES); do [ -e $$f ] || missing="$$missing $$f"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages (missing:$$missing)"; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_PACKAGES) >/dev/null; \
	  else echo "run as root, or: sudo apt-get install -y $(APT_PACKAGES)"; fi; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install -q torch==2.13.0   # the CPU build; the neural tests need torch
	$(PY) -m pip install -q -e ".[dev,neural,train,lyrics,batch,ui,separate]"
	$(PY) scripts/warm_caches.py   # numba loops compiled once here, not in the first conversion
	touch $(STAMP)

demo: setup
	$(VENV)/bin/alignsts demo -o demo_out

test: setup $(BASE_STAMP)
	$(PY) -m pytest -q
	$(BASE_VENV)/bin/python -m pytest -q -p no:cacheprovider tests_base

$(BASE_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BASE_VENV)
	$(BASE_VENV)/bin/python -m pip install -q --upgrade pip "setuptools<81" wheel
	$(BASE_VENV)/bin/python -m pip install -q -e . pytest
	touch $(BASE_STAMP)

# the developer loop: everything but the tests marked slow (CI runs them all with `make test`),
# one pytest-xdist worker per core
check: setup
	$(PY) -m pytest -q -m "not slow" -n auto

bench: setup
	$(PY) benchmarks/reference_pairs.py --cross-singer
	$(PY) benchmarks/cross_singer.py --api --no-embedding
	$(PY) benchmarks/key_generalise.py
	$(PY) benchmarks/reference_level.py
	$(PY) benchmarks/long_input.py
	$(PY) benchmarks/score_pairs.py
	$(PY) benchmarks/lyrics_align.py
	$(PY) benchmarks/neural_speed.py
	$(PY) benchmarks/train_speed.py
	$(PY) benchmarks/train_tiny.py
	$(PY) benchmarks/batch.py
	$(PY) benchmarks/ui_overhead.py
	$(PY) scripts/make_test_songs.py
	$(PY) benchmarks/cover.py --baseline --long-minutes 4
	$(PY) benchmarks/song_key_heldout.py --band-f0-multiple 20
	$(PY) benchmarks/naturalness.py
	$(PY) benchmarks/speed.py
	$(PY) benchmarks/bombs.py

clean:
	rm -rf $(VENV) $(BASE_VENV) demo_out .pytest_cache
