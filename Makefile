# apfctl: every target creates what it needs (a .venv with the package and its test tools).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_STATE ?= $(CURDIR)/.state/demo

.PHONY: venv demo test test-fast bench lint completions clean-demo slurm-up slurm-down

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## demo: a real factory cycle on the embedded demo (File WMS, Local pilots as real processes)
demo: venv
	@echo "== apfctl cycle --all (embedded demo; state in $(DEMO_STATE))"
	APFCTL_CONFIG= APFCTL_STATE_DIR=$(DEMO_STATE) $(BIN)/apfctl cycle --all --config embedded:demo --format table
	@sleep 6
	@echo "== six seconds later: pilots moved on"
	APFCTL_CONFIG= APFCTL_STATE_DIR=$(DEMO_STATE) $(BIN)/apfctl cycle --all --config embedded:demo --format table

## test: the whole suite (as root, the local Slurm is installed and started first)
test: venv
	@if [ "$$(id -u)" = 0 ]; then bash scripts/slurm-local.sh; fi
	CONDOR_CONFIG=/dev/null $(BIN)/pytest -q

## slurm-up / slurm-down: the project's single-node Slurm on localhost (root; docs/slurm.md)
slurm-up:
	bash scripts/slurm-local.sh

slurm-down:
	bash scripts/slurm-local-stop.sh

bench: venv
	@for b in benchmarks/bench_*.py; do CONDOR_CONFIG=/dev/null $(BIN)/python $$b || exit 1; done

lint: venv
	$(BIN)/ruff check apfctl plugins tests benchmarks
	@command -v shellcheck >/dev/null || { echo "shellcheck missing: apt-get install -y shellcheck"; exit 1; }
	shellcheck --shell=sh apfctl/wrapper/*.sh

completions: venv
	$(BIN)/python -m apfctl.completions completions
