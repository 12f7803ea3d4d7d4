# rerank-eval: `make run` (set up + built-in suite, offline) and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
# CPU installs pin torch to the 2.13.0 CPU wheel; an unpinned torch pulls GBs of CUDA.
# On a GPU machine: make setup TORCH_SPEC='torch' (or install your CUDA torch first).
TORCH_SPEC ?= torch==2.13.0
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export RERANK_EVAL_DATASETS ?= $(abspath ../shared/datasets)

.PHONY: setup setup-test setup-ray run test test-ray browser bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e ".[test]"
	touch $@

# --executor ray (optional): Ray into the same venv
$(VENV)/.installed-ray: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e ".[ray]"
	touch $@

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test

setup-ray: $(VENV)/.installed-ray

run: setup
	$(BIN)/rerank-eval run suites/quick.toml --out reports/quick

test: setup-test browser
	$(BIN)/ruff check rerank_eval tests benchmarks examples
	$(BIN)/pytest -q

# The --executor ray tests (skipped by `make test` when Ray is not installed): one local
# Ray for the session, real actors, a killed run resumed; about 2 minutes on 2 cores.
test-ray: setup-test setup-ray
	$(BIN)/pytest -q -m ray -rs

# Under CI, install Debian's Chromium (if apt is there) so the report-rendering test runs;
# best effort: without it that one test skips and says why.
browser:
	@if [ -n "$$CI" ] && ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed; the HTML rendering test will skip"; \
	fi

bench: setup-test
	$(BIN)/python benchmarks/local_throughput.py --max-queries 100
	$(BIN)/python benchmarks/remote_concurrency.py
	$(BIN)/python benchmarks/serving_latency.py

clean:
	rm -rf $(VENV) reports/quick
