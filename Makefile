# apfctl: every target creates what it needs (a .venv with the package and its test tools).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
DEMO_STATE ?= $(CURDIR)/.state/demo
DEMO   := APFCTL_CONFIG=embedded:demo APFCTL_STATE_DIR=$(DEMO_STATE) $(BIN)/apfctl

.PHONY: venv demo test system-tools bench lint completions slurm-up slurm-down dist condor-up condor-down

# a stock Debian's python3 has no venv module: as root it is installed (python3-venv), else named
NEED_VENV = $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then echo "installing python3-venv"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	  python3-venv >/dev/null; else echo "$(PYTHON) has no venv module: apt-get install python3-venv (as root)"; \
	  exit 1; fi

$(STAMP): pyproject.toml
	@$(NEED_VENV)
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

## test: the whole suite (as root: the local Slurm and shellcheck are installed first); the two
## HTCondor pools are started for the session and stopped after it, pass or fail (docs/htcondor.md)
test: venv
	@if [ "$$(id -u)" = 0 ]; then bash scripts/slurm-local.sh; $(MAKE) --no-print-directory system-tools; fi
	@$(CONDOR_UP) || [ "$$CI" != true ] || { echo "CI needs HTCondor (docs/htcondor.md)"; exit 1; }; \
	CONDOR_CONFIG=/dev/null APFCTL_CONDOR_POOLS=$$([ -f $(CONDOR_DIR)/pools.env ] && echo $(CONDOR_DIR)/pools.env) \
	  $(BIN)/pytest -q; status=$$?; $(CONDOR_DOWN); exit $$status

## system-tools: Debian tools the tests use besides Slurm (root): shellcheck, promtool (prometheus),
## a headless browser for the web page (chromium, chromium-driver), systemd-analyze for the
## installed units (systemd), the VOMS tools for the proxy tests (voms-clients), installed only when missing
SYSTEM_TOOLS := shellcheck:shellcheck promtool:prometheus chromium:chromium chromedriver:chromium-driver \
	systemd-analyze:systemd voms-proxy-info:voms-clients
system-tools:
	@missing=""; for pair in $(SYSTEM_TOOLS); do command -v $${pair%%:*} >/dev/null || missing="$$missing $${pair#*:}"; done; \
	if [ -n "$$missing" ]; then echo "installing$$missing"; apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

## slurm-up / slurm-down: the project's single-node Slurm on localhost (root; docs/slurm.md)
slurm-up:
	bash scripts/slurm-local.sh

slurm-down:
	bash scripts/slurm-local-stop.sh

## condor-up / condor-down: a factory pool and a CE pool on free ports (scripts/condor-pools.sh)
CONDOR_DIR  ?= /tmp/apfctl-condor-$(shell id -u)
# make bench starts fresh pools of its own (an empty history, nothing of the tests' left)
BENCH_CONDOR_DIR ?= /tmp/apfctl-condor-bench-$(shell id -u)
CONDOR_UP   := APFCTL_CONDOR_DIR=$(CONDOR_DIR) bash scripts/condor-pools.sh up
CONDOR_DOWN := APFCTL_CONDOR_DIR=$(CONDOR_DIR) bash scripts/condor-pools.sh down
condor-up:
	$(CONDOR_UP)

condor-down:
	$(CONDOR_DOWN)

bench: venv
	@for b in benchmarks/bench_*.py; do CONDOR_CONFIG=/dev/null $(BIN)/python -m benchmarks.$$(basename $$b .py) || exit 1; done
	@if APFCTL_CONDOR_DIR=$(BENCH_CONDOR_DIR) bash scripts/condor-pools.sh up >/dev/null; then \
	  CONDOR_CONFIG=/dev/null APFCTL_CONDOR_POOLS=$(BENCH_CONDOR_DIR)/pools.env $(BIN)/python -m benchmarks.real_condor_status; \
	  status=$$?; APFCTL_CONDOR_DIR=$(BENCH_CONDOR_DIR) bash scripts/condor-pools.sh down >/dev/null; exit $$status; \
	else echo "condor.real_status: SKIPPED (no HTCondor pools; docs/htcondor.md)"; fi

lint: venv
	$(BIN)/ruff check apfctl plugins tests benchmarks
	@command -v shellcheck >/dev/null || { echo "shellcheck missing: apt-get install -y shellcheck"; exit 1; }
	shellcheck --shell=sh apfctl/wrapper/*.sh apfctl/demo/*.sh
	shellcheck scripts/*.sh

completions: venv
	$(BIN)/python -m apfctl.cli.completions completions

## dist: a wheel and an sdist in dist/ (what scripts/install-host.sh installs on a factory host),
## built in a small environment of their own (only build), not the tests' .venv
BUILD_VENV := .venv-build
dist:
	@$(NEED_VENV)
	@[ -x $(BUILD_VENV)/bin/python ] || { $(PYTHON) -m venv $(BUILD_VENV) && $(BUILD_VENV)/bin/pip install -q build; }
	rm -rf dist
	$(BUILD_VENV)/bin/python -m build --outdir dist . >/dev/null
	@ls dist
