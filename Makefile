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

.PHONY: setup setup-test run test lint bench clean

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

setup: $(VENV)/.installed

setup-test: $(VENV)/.installed-test

run: setup
	$(BIN)/rerank-eval run suites/quick.toml --out reports/quick

test: setup-test
	$(BIN)/ruff check rerank_eval tests benchmarks
	$(BIN)/pytest -q

bench: setup-test
	$(BIN)/python benchmarks/local_throughput.py --max-queries 100
	$(BIN)/python benchmarks/remote_concurrency.py

clean:
	rm -rf $(VENV) reports/quick
