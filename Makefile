# citypulse developer commands. `make help` lists them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PKGDIRS := citypulse schemas producers streams dashboards tests benchmarks scenarios tools

.DEFAULT_GOAL := help
.PHONY: help install install-dev demo lint typecheck test bench bench-worker bench-recording bench-recovery chaos scenarios ci clean

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python  ## create .venv and install citypulse
	$(BIN)/pip install --quiet -e .

install-dev: $(BIN)/python  ## create .venv and install citypulse with the test tools
	$(BIN)/pip install --quiet -e '.[dev]'

demo: install  ## install, then run the demo
	$(BIN)/citypulse demo

# mypy cannot follow setuptools' editable finder for package-dir mappings, so it
# checks a symlink view of the package as it is installed.
.typecheck: $(wildcard citypulse/*)
	rm -rf .typecheck && mkdir -p .typecheck/citypulse
	for f in citypulse/*; do ln -s "$$PWD/$$f" .typecheck/citypulse/; done
	for d in schemas producers streams dashboards; do ln -s "$$PWD/$$d" .typecheck/citypulse/$$d; done
	ln -s "$$PWD/tests" .typecheck/tests

typecheck: .typecheck  ## mypy (strict) on the package and its tests
	MYPYPATH=.typecheck $(BIN)/mypy -p citypulse -p tests
	MYPYPATH=.typecheck $(BIN)/mypy benchmarks scenarios

lint:  ## ruff (lint + format check) and mypy
	$(BIN)/ruff check $(PKGDIRS)
	$(BIN)/ruff format --check $(PKGDIRS)
	$(MAKE) --no-print-directory typecheck

test: install-dev  ## install with test tools, lint, run the whole suite
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest

bench: install  ## run the benchmarks (figures printed, nothing asserted)
	$(BIN)/python benchmarks/bench_core.py

bench-worker: install  ## the worker on the embedded broker vs bare Faust and raw aiokafka; latency
	$(BIN)/python benchmarks/bench_worker.py

bench-recording: install  ## record and replay of 100k events vs raw kafka-python consumer/producer
	$(BIN)/python benchmarks/bench_recording.py

bench-recovery: install  ## a restarted worker's recovery time against 100k, 500k and 1M events of history
	$(BIN)/python benchmarks/bench_recovery.py

WORKERS ?= 2
SEED ?= 1
RUNS ?= 1
chaos: install-dev  ## kill/freeze/stop workers while 100k events flow; KPIs must equal the oracle (WORKERS=2 SEED=1 RUNS=1)
	$(BIN)/python tools/chaos.py --workers $(WORKERS) --seed $(SEED) --runs $(RUNS)

scenarios: install  ## regenerate the scenario recordings (scenarios/*.jsonl.gz)
	$(BIN)/python scenarios/generate.py

ci:  ## what CI runs on a clean clone
	bash .ci/run

clean:  ## remove the venv and caches
	rm -rf $(VENV) .typecheck .pytest_cache .mypy_cache .ruff_cache .hypothesis
