# Two commands do all the set-up on a fresh machine (see README):
#   make analysis   creates .venv, installs the package, runs the main analysis on the shipped data
#   make test       creates .venv if needed, runs lint and the test suite (what CI runs)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RESULTS ?= results

.PHONY: analysis reproduce-all beyond-sm comparison report-screenshot bench bench-quick test test-slow mutants lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test,pyhf]"
	touch $(STAMP)

analysis: $(STAMP)
	$(BIN)/cevns-bayes data check
	$(BIN)/cevns-bayes predict --out $(RESULTS)/predict.json
	$(BIN)/cevns-bayes plot prediction --out $(RESULTS)/plots
	$(BIN)/cevns-bayes reproduce xsec --results $(RESULTS)

reproduce-all: $(STAMP)
	$(BIN)/cevns-bayes reproduce --all --results $(RESULTS)

# the eleven new-physics analyses (sample, profile, compare; the exclusion scans of the
# mediator and sterile specs) and the report
beyond-sm: $(STAMP)
	$(BIN)/cevns-bayes reproduce --beyond-sm --no-budget --results $(RESULTS)

# every shipped analysis with its evidence (ln Z by nested sampling, SMC and the Laplace grid;
# Bayes factor vs the SM) and its prior sensitivity, and the report
comparison: $(STAMP)
	$(BIN)/cevns-bayes reproduce --all --beyond-sm --comparison --no-budget --results $(RESULTS)

# the top of the HTML report as headless Chromium shows it (Debian: apt-get install chromium)
report-screenshot: $(STAMP)
	$(BIN)/python scripts/report_screenshot.py $(RESULTS)/report.html --out $(RESULTS)/report_top.png

# the benchmark times both NUTS samplers (nutpie is a dependency; a missing one is skipped)
bench: $(STAMP)
	$(BIN)/python scripts/benchmark.py --out $(RESULTS)/bench.json

bench-quick: $(STAMP)
	$(BIN)/python scripts/benchmark.py --quick --out $(RESULTS)/bench.json

lint: $(STAMP)
	$(BIN)/ruff check cevns_bayes tests scripts
	$(BIN)/ruff format --check cevns_bayes tests scripts

# two pytest-xdist workers, a test file per worker at a time (its module fixtures compile once);
# PYTEST_ARGS="-n 0" runs one process
PYTEST_ARGS ?= -n 2 --dist loadfile

test: lint
	$(BIN)/pytest -m "not slow" -q $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/pytest -m slow -q

# curated physics mutants against the fast physics tests (scripts/mutants.py); each must be killed
mutants: $(STAMP)
	$(BIN)/python scripts/mutants.py --out $(RESULTS)/mutants.json

clean:
	rm -rf $(VENV) $(RESULTS) .pytest_cache .ruff_cache
