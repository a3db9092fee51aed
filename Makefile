# apfctl: every target creates what it needs (a .venv with the package and its test tools).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_STATE ?= $(CURDIR)/.state/demo
DEMO   := APFCTL_CONFIG=embedded:demo APFCTL_STATE_DIR=$(DEMO_STATE) $(BIN)/apfctl

.PHONY: venv demo test system-tools bench lint completions slurm-up slurm-down dist

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## demo: a real factory cycle on the embedded demo (File WMS, Local pilots as real processes)
demo: venv
	@echo "== apfctl cycle --all: status, decide, submit (embedded demo; state in $(DEMO_STATE))"
	@$(DEMO) cycle --all --format table
	@sleep 2
	@echo; echo "== two seconds later (apfctl monitor --once --live): pilots created and running"
	@$(DEMO) monitor --once --live
	@sleep 6
	@echo; echo "== six seconds later, the next cycle: pilots done or failed, new ones submitted"
	@$(DEMO) cycle --all --format table
	@echo; echo "== why: apfctl history --since 1m | apfctl decide --explain"
	@$(DEMO) history --since 1m | $(DEMO) decide --explain | tail -n 12

## test: the whole suite (as root: the local Slurm and shellcheck are installed first)
test: venv
	@if [ "$$(id -u)" = 0 ]; then bash scripts/slurm-local.sh; $(MAKE) --no-print-directory system-tools; fi
	CONDOR_CONFIG=/dev/null $(BIN)/pytest -q

## system-tools: Debian tools the tests use besides Slurm (root): shellcheck, promtool (prometheus),
## a headless browser for the web page (chromium, chromium-driver), installed only when missing
SYSTEM_TOOLS := shellcheck:shellcheck promtool:prometheus chromium:chromium chromedriver:chromium-driver
system-tools:
	@missing=""; for pair in $(SYSTEM_TOOLS); do command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then echo "installing$$missing"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

## slurm-up / slurm-down: the project's single-node Slurm on localhost (root; docs/slurm.md)
slurm-up:
	bash scripts/slurm-local.sh

slurm-down:
	bash scripts/slurm-local-stop.sh

bench: venv
	@for b in benchmarks/bench_*.py; do CONDOR_CONFIG=/dev/null $(BIN)/python -m benchmarks.$$(basename $$b .py) || exit 1; done

lint: venv
	$(BIN)/ruff check apfctl plugins tests benchmarks
	@command -v shellcheck >/dev/null || { echo "shellcheck missing: apt-get install -y shellcheck"; exit 1; }
	shellcheck --shell=sh apfctl/wrapper/*.sh apfctl/demo/*.sh
	shellcheck scripts/*.sh

completions: venv
	$(BIN)/python -m apfctl.cli.completions completions

## dist: a wheel and an sdist in dist/ (what scripts/install-host.sh installs on a factory host)
dist: venv
	rm -rf dist
	$(BIN)/python -m build --outdir dist . >/dev/null
	@ls dist
