# Claims audit. `make help` lists the targets. The first target that needs Python creates the
# virtual environment from the pinned requirements.txt (Python 3.11).
PYTHON_BOOT ?= python3.11
VENV        ?= .venv
PY          := $(VENV)/bin/python
RAW         ?= data/raw
OUT         ?= data/processed
STAMP       := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv audit test bench

help: ## Show this help: one line per target.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.txt
	@command -v $(PYTHON_BOOT) >/dev/null || { echo "error: $(PYTHON_BOOT) not found (Python 3.11 is required)"; exit 2; }
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP) ## Create the virtual environment from requirements.txt (done by the other targets too).

audit: $(STAMP) ## Audit every article in RAW (data/raw) into OUT (data/processed): tables, validation, report.
	$(PY) -m pipeline audit --raw "$(RAW)" --out "$(OUT)"

test: $(STAMP) ## Run the test suite.
	$(PY) -m pytest

bench: $(STAMP) ## Benchmark 100/1,000/10,000 synthetic articles; prints the table, writes BENCHMARKS.md.
	$(PY) -m pipeline bench
