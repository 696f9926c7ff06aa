# Claims audit. `make help` lists the targets. The first target that needs Python creates the
# virtual environment from the pinned requirements.txt (Python 3.11).
PYTHON_BOOT ?= python3.11
VENV        ?= .venv
PY          := $(VENV)/bin/python
RAW         ?= data/raw
OUT         ?= data/processed
STAMP       := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv audit test eval report-check check bench

help: ## Show this help: one line per target.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

$(STAMP): requirements.txt
	@command -v $(PYTHON_BOOT) >/dev/null || { echo "error: $(PYTHON_BOOT) not found (Python 3.11 is required)"; exit 2; }
	test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

venv: $(STAMP) ## Create the virtual environment from requirements.txt (done by the other targets too).

audit: $(STAMP) ## Audit every article in RAW (data/raw) into OUT (data/processed): tables, validation, report, review workbook.
	$(PY) -m pipeline audit --raw "$(RAW)" --out "$(OUT)"

test: $(STAMP) ## Run the test suite.
	$(PY) -m pytest

CHROMIUM_FLAGS := --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --window-size=1400,3000

report-check: audit ## Render OUT/report.html in headless Chromium (apt-installed if missing) to OUT/report.png and check it shows the heatmap.
	@command -v chromium >/dev/null || { apt-get update && apt-get install -y chromium; }
	@profile=$$(mktemp -d); \
	chromium $(CHROMIUM_FLAGS) --user-data-dir="$$profile" --screenshot="$(abspath $(OUT))/report.png" \
	  "file://$(abspath $(OUT))/report.html" 2>/dev/null; status=$$?; rm -rf "$$profile"; exit $$status
	$(PY) -m pipeline.dev.screenshot_check "$(OUT)/report.png"

eval: $(STAMP) ## Score claims, labels, contradictions and compliance rules against the hand-labelled gold (tests/gold).
	$(PY) -m pipeline eval

FILE        ?=
CHECK_ARGS  ?=
check: $(STAMP) ## Check marketing copy for risky claims: make check FILE="draft.txt ..." [CHECK_ARGS="--format json --fail-on high"].
	@test -n "$(FILE)" || { echo 'usage: make check FILE=path/to/draft.txt (FILE=- reads standard input)'; exit 2; }
	$(PY) -m pipeline check $(FILE) $(CHECK_ARGS)

BENCH_ARGS  ?=
bench: $(STAMP) ## Benchmark synthetic (100-10,000 articles) and real text, check's start, the Dask engine; writes BENCHMARKS.md [BENCH_ARGS=--large].
	$(PY) -m pipeline bench $(BENCH_ARGS)
