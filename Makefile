# Two commands: `make demo` (set up the core, fit on a built-in dataset, predict) and
# `make test` (set up everything, lint, test; what .ci/run calls).
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORE_STAMP := $(VENV)/.installed-core
DEMO := assay-runs/demo
CHROMIUM := /usr/bin/chromium
# pyproject.toml declares ranges; constraints.txt holds the exact versions CI uses, applied
# in the same pip call (it also pins torch to the CPU build: no CUDA download).
PIP_INSTALL := $(BIN)/python -m pip install --quiet -c constraints.txt

.PHONY: setup setup-core demo test lint format bench reliability-doc clean

# Everything: every extra the tests use (lint and test need this one).
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP_INSTALL) -e '.[dev,nn,text,media,explain,dask,postgres,serve,onnx,mlflow]'
	touch $(STAMP) $(CORE_STAMP)

# The core only, what `make demo` needs: no extras, no torch, no browser, no database.
$(CORE_STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP_INSTALL) -e .
	touch $(CORE_STAMP)

setup-core: $(CORE_STAMP)

# The report test opens pages in a real Chromium (driven by playwright from the dev extra).
# The store tests start a real PostgreSQL server from Debian's postgresql package.
setup: $(STAMP)
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	      || echo "setup: could not install chromium; the browser test will skip (fail under CI)"; \
	  else \
	    echo "setup: no $(CHROMIUM); install it (sudo apt-get install chromium) or the browser test skips"; \
	  fi; \
	}
	@command -v pg_ctl >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql \
	      || echo "setup: could not install postgresql; the PostgreSQL store tests will skip (fail under CI)"; \
	  else \
	    echo "setup: no PostgreSQL (pg_ctl); install it (sudo apt-get install postgresql) or the PostgreSQL store tests skip"; \
	  fi; \
	}

demo: setup-core
	$(BIN)/assay fit builtin:breast_cancer --target target --time 30 --out $(DEMO)/predictor
	$(BIN)/assay predict $(DEMO)/predictor builtin:breast_cancer --out $(DEMO)/predictions.csv
	head -5 $(DEMO)/predictions.csv

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/python scripts/check_layers.py
	$(BIN)/mypy
	$(BIN)/python scripts/architecture_layout.py --check

format: setup
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

# Every test runs, the ones marked slow (kills, a two-worker cluster) included: no marker is
# deselected here, and CI (.ci/run) runs exactly this. One worker per usable core, each on
# a core of its own (tests/conftest.py), a test file's tests on one worker (its module
# fixtures built once): on 2 cores the suite took 1,176 s against 2,106 s in one process.
test: lint
	$(BIN)/python -m pytest -n auto --dist loadfile

# docs/reliability.md is written by the reliability suites from what they saw.
reliability-doc: setup
	ASSAY_RELIABILITY_DOC=1 $(BIN)/python -m pytest tests/reliability

bench: setup
	$(BIN)/python benchmarks/run.py --time 60

clean:
	rm -rf $(VENV) assay-runs .pytest_cache .ruff_cache
