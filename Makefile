# Set-up is part of every target: the first `make demo` or `make test` on a fresh clone
# creates .venv and installs coder with its test tools; later runs reinstall only when
# pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench bench-large clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/coder demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -n auto

bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# the usual sizes, then every phase again over 10,000 transcripts (about 1,000,000 codings)
# and a 100,000-row survey; 30 minutes or more on 2 cores
bench-large: $(STAMP)
	$(BIN)/python bench/run.py --large 10000 --survey-rows 100000 $(BENCH_ARGS)

clean:
	rm -rf $(VENV) coder.db coder.db-wal coder.db-shm exports/demo_quotes.* .pytest_cache .hypothesis
